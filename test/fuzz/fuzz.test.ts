import { expect, it } from 'vitest';
import { formatFailure, formatReport, runFuzz, targetNames } from './fuzz.ts';

/** The CI slice: a fixed seed, about a minute split across every target (`pnpm fuzz` runs longer). */
it('hostile inputs meet only typed errors, leave state alone and stay within time and memory', async () => {
  const report = await runFuzz({ seed: 20_240_601, frames: 1_000_000, seconds: 60 });
  console.log(report.targets.map(formatReport).join('\n'));
  expect(report.targets.map((t) => t.target)).toEqual([...targetNames]);
  for (const t of report.targets) expect(t.inputs, t.target).toBeGreaterThan(100);
  expect(report.failures.map(formatFailure).join('\n\n')).toBe('');
}, 240_000);
