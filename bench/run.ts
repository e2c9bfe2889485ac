/**
 * `pnpm bench [suite...]`: runs each suite of `bench/suites/<name>.ts`, prints
 * its table and writes `bench/results/<name>.json`. With no argument it runs
 * every suite present. Re-runs itself with --expose-gc so suites can measure heap.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createProgress, formatTable, writeResult, type Suite } from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const available = readdirSync(join(here, 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: pnpm bench [suite...]   suites: ${available.join(', ')} (default: all)`);
  process.exit(0);
}
const unknownFlag = args.find((a) => a.startsWith('-'));
if (unknownFlag !== undefined) {
  console.error(`unknown option ${unknownFlag}; usage: pnpm bench [suite...]`);
  process.exit(2);
}
const names = args.length > 0 ? args : available;

for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown bench suite "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}

for (const name of names) {
  const module = (await import(pathToFileURL(join(here, 'suites', `${name}.ts`)).href)) as { suite?: Suite };
  const suite = module.suite;
  if (suite === undefined) {
    console.error(`bench/suites/${name}.ts does not export a suite`);
    process.exit(2);
  }
  const progress = createProgress(suite.name);
  const rows = await suite.run(progress);
  progress.done();
  const path = join(here, 'results', `${suite.name}.json`);
  writeResult(path, { suite: suite.name, node: process.version, rows });
  console.log(`\n${suite.name} (node ${process.version}; ratios to ${suite.baseline} in parentheses)\n`);
  console.log(formatTable(suite, rows));
  console.log(`\nwrote ${path}`);
}
