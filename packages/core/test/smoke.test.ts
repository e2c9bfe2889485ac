import { expect, test } from 'vitest';
import { VERSION } from '../src/index.ts';
test('version', () => {
  expect(VERSION).toBe(1);
});
