#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { daemonRelaunchArgs } from './cli/daemon-heap.ts';

const relaunch = daemonRelaunchArgs({
  argv: process.argv,
  execArgv: process.execArgv,
  nodeOptions: process.env['NODE_OPTIONS'],
  // Windows has the function, which throws there (as on IBM i, left to the catch below).
  canRelaunch: process.execve !== undefined && process.platform !== 'win32',
});
try {
  if (relaunch !== undefined) process.execve?.(process.execPath, relaunch);
} catch {
  // The relaunch failed and this process goes on as it was: Node's default young generation.
}

// Every command is a fresh process that compiles the same modules (the mesh alone is over a
// second of it on a small machine); Node's on-disk compile cache makes later starts reuse that
// work. It honours NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE. Enabled before the
// program is imported, since only modules loaded afterwards are cached.
enableCompileCache();
await import('./cli-program.ts');
