/**
 * libp2p's yamux muxer (@chainsafe/libp2p-yamux 8.0.1) opens an outbound stream by sending its
 * first frame from a queued microtask. When the connection closes in between (a peer pruned or
 * gone while a protocol stream opens, frequent in a busy mesh) that send throws StreamStateError
 * where no caller can catch it, and Node ends the process. The connection is already closed and
 * the stream never opened, so nothing else is affected: the daemon reports it and carries on.
 * Takes any error-like value, as the test runner hands over errors it serialized.
 */
export function isClosedStreamWrite(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  return (
    name === 'StreamStateError' &&
    typeof message === 'string' &&
    /Cannot write to a stream that is (closed|closing)/.test(message)
  );
}

/**
 * Keeps the process alive through {@link isClosedStreamWrite} errors, reported by `report`; any
 * other uncaught exception still ends it with exit code 1 after printing its stack, as Node does.
 * Returns a function that removes the handler.
 */
export function tolerateClosedStreamWrites(report: (err: Error) => void): () => void {
  const handler = (err: unknown): void => {
    if (isClosedStreamWrite(err)) {
      report(err as Error);
      return;
    }
    process.stderr.write(`${err instanceof Error ? (err.stack ?? String(err)) : String(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', handler);
  return () => void process.off('uncaughtException', handler);
}
