/**
 * `pnpm bench [suite...]`: runs each suite of `bench/suites/<name>.ts`, prints
 * its table and writes `bench/results/<name>.json`. With no argument it runs
 * every suite present. Re-runs itself with --expose-gc so suites can measure heap.
 *
 * `pnpm bench report`: runs nothing; rewrites the tables of `bench/RESULTS.md`
 * from `bench/results/*.json`, keeping the page's other text.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createProgress,
  formatResultsSection,
  formatTable,
  replaceGenerated,
  writeResult,
  type Suite,
  type SuiteResult,
} from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function loadSuite(name: string): Promise<Suite | undefined> {
  const module = (await import(pathToFileURL(join(here, 'suites', `${name}.ts`)).href)) as { suite?: Suite };
  return module.suite;
}

/** Writes bench/RESULTS.md from the results present, formatted as `pnpm lint` expects. */
async function writeResultsPage(): Promise<void> {
  const dir = join(here, 'results');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const order = ['core', 'mesh', 'coordinator'];
  const names = files
    .map((f) => f.slice(0, -5))
    .sort((a, b) => {
      const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
      return rank(a) - rank(b) || a.localeCompare(b);
    });
  const entries = [];
  for (const name of names) {
    const result = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as SuiteResult;
    const suite = existsSync(join(here, 'suites', `${name}.ts`)) ? await loadSuite(name) : undefined;
    const systems = suite?.systems ?? [...new Set(result.rows.flatMap((r) => Object.keys(r.values)))];
    entries.push({
      suite: { name: result.suite, systems, baseline: suite?.baseline ?? systems[0]! },
      result,
    });
  }
  const path = join(here, 'RESULTS.md');
  const page = replaceGenerated(
    existsSync(path) ? readFileSync(path, 'utf8') : null,
    formatResultsSection(entries),
  );
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(page, { ...options, filepath: path }));
  console.log(`wrote ${path} from ${names.length} result file(s): ${names.join(', ')}`);
}

if (process.argv[2] === 'report') {
  if (process.argv.length > 3) {
    console.error('usage: pnpm bench report   (takes no arguments)');
    process.exit(2);
  }
  await writeResultsPage();
  process.exit(0);
}

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
  console.log('       pnpm bench report      rewrite bench/RESULTS.md from bench/results/*.json');
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
  const suite = await loadSuite(name);
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
