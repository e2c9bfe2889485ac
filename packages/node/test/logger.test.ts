import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/processes.ts';

const LOGGER = fileURLToPath(new URL('../src/logger.ts', import.meta.url));

describe('the log file', () => {
  it('holds what was logged by a process that exits at once, and the exit reports nothing else', () => {
    const dir = tempDir('logger');
    const script = join(dir, 'exit-at-once.ts');
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(LOGGER)};\n` +
        `createLogger({ level: 'info', name: 'n', file: process.argv[2] }).info('starting');\n` +
        'process.exit(3);\n',
    );
    const file = join(dir, 'logs', 'daemon.log');
    const run = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(3);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      level: 'info',
      msg: 'starting',
      node: 'n',
    });
  });

  it('names the file it cannot open as a config error', () => {
    const dir = tempDir('logger');
    writeFileSync(join(dir, 'not-a-dir'), '');
    const script = join(dir, 'bad-file.ts');
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(LOGGER)};\n` +
        `try { createLogger({ level: 'info', name: 'n', file: process.argv[2] }); }\n` +
        'catch (err) { console.log(err.name, err.message); }\n',
    );
    const run = spawnSync(process.execPath, [script, join(dir, 'not-a-dir', 'daemon.log')], {
      encoding: 'utf8',
    });
    expect(run.stdout.trim()).toMatch(
      /^ConfigError invalid config: logFile: cannot open .*not-a-dir\/daemon\.log \(EEXIST\)$/,
    );
  });
});
