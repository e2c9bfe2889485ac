import { formatFailure, replayInput, runFuzz, targetNames, type TargetName } from './fuzz.ts';

/**
 * `pnpm fuzz [--seed N] [--frames N] [--seconds S] [--target NAME]...` fuzzes every target (or
 * the named ones) with inputs from the seed, at most N per target, in S seconds split across the
 * targets. `pnpm fuzz --target NAME --hex HEX` replays one input. Exit code 1 on any failure.
 */
const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const number = (name: string, fallback: number): number => {
  const v = value(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`${name} needs a non-negative number`);
    process.exit(2);
  }
  return n;
};
const targets = args.flatMap((a, i) => (args[i - 1] === '--target' ? [a] : []));
for (const t of targets) {
  if (!(targetNames as readonly string[]).includes(t)) {
    console.error(`--target is one of ${targetNames.join(', ')}`);
    process.exit(2);
  }
}
const chosen = targets.length > 0 ? (targets as TargetName[]) : undefined;

const hex = value('--hex');
if (hex !== undefined) {
  if (chosen?.length !== 1) {
    console.error('--hex replays one input of one --target');
    process.exit(2);
  }
  const failure = await replayInput(chosen[0]!, hex);
  console.log(failure === undefined ? 'ok: every check holds for this input' : formatFailure(failure));
  process.exit(failure === undefined ? 0 : 1);
}

const seed = number('--seed', Date.now() % 2 ** 31);
const frames = number('--frames', 100_000);
const seconds = number('--seconds', 60);
console.log(`seed=${seed} frames=${frames} seconds=${seconds}`);
const report = await runFuzz({
  seed,
  frames,
  seconds,
  ...(chosen !== undefined ? { targets: chosen } : {}),
  log: (line) => console.log(line),
});
console.log(`${report.failures.length} failure(s); seed=${seed}`);
process.exit(report.failures.length > 0 ? 1 : 0);
