import { mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { ConfigError } from './config-error.ts';

export type { Logger };

/**
 * Structured JSON logs (pino) to stdout or, when `file` is set, appended to that file. Each line
 * carries pino's `pid` and `hostname` plus the node's name, and its level as a label
 * (`"level":"info"`), which log shippers read without pino's number table.
 */
export function createLogger(options: { level: string; name: string; file?: string }): Logger {
  // The file is opened here, not by pino in the background: a daemon that fails right after
  // start (a port in use) exits before a background open ends, and pino's flush at exit would
  // throw over the error it was reporting.
  const destination =
    options.file !== undefined
      ? pino.destination({ fd: openLogFile(options.file), sync: false })
      : pino.destination(1);
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, hostname: hostname(), node: options.name },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

function openLogFile(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a');
  } catch (err) {
    throw new ConfigError([
      `logFile: cannot open ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
}
