import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino) to stdout or, when `file` is set, appended to that file. Each line
 * carries pino's `pid` and `hostname` plus the node's name, and its level as a label
 * (`"level":"info"`), which log shippers read without pino's number table.
 */
export function createLogger(options: { level: string; name: string; file?: string }): Logger {
  const destination =
    options.file !== undefined
      ? pino.destination({ dest: options.file, mkdir: true, sync: false })
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
