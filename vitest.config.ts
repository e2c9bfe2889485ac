import { defineConfig } from 'vitest/config';
import { isClosedStreamWrite } from './packages/node/src/closed-stream-writes.ts';

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    pool: 'forks',
    // Two cores: integration suites spawn real libp2p nodes and child processes.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // libp2p's yamux can throw from a queued task when a connection closes under it, where no
    // caller can catch it; `meshwork start` tolerates exactly this error, and so do the tests.
    onUnhandledError: (err) => !isClosedStreamWrite(err),
  },
});
