import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('the library quick start runs a task across two real mesh nodes', async () => {
  const script = fileURLToPath(new URL('../library-quick-start.ts', import.meta.url));
  const { stdout } = await run(process.execPath, [script], { timeout: 60_000 });
  const match = /task (\S+) succeeded on alice's replica with (.*)$/m.exec(stdout);
  expect(match?.[1]).toMatch(/^t-/);
  expect(JSON.parse(match?.[2] ?? 'null')).toEqual({ summary: 'Meshwork coo…', epoch: 1 });
});
