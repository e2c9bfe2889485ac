import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (pino) to stdout or, when `file` is set, appended to that file. */
export function createLogger(options: { level: string; name: string; file?: string }): Logger {
  const destination =
    options.file !== undefined
      ? pino.destination({ dest: options.file, mkdir: true, sync: false })
      : pino.destination(1);
  return pino(
    { level: options.level, base: { node: options.name }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
}
