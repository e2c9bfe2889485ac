#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { daemonRelaunchArgs } from './cli/daemon-heap.ts';

const relaunch = daemonRelaunchArgs({
  argv: process.argv,
  execArgv: process.execArgv,
  nodeOptions: process.env['NODE_OPTIONS'],
  canRelaunch: process.execve !== undefined,
});
if (relaunch !== undefined) process.execve?.(process.execPath, relaunch);

// Every command is a fresh process that compiles the same modules (the mesh alone is over a
// second of it on a small machine); Node's on-disk compile cache makes later starts reuse that
// work. It honours NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE. Enabled before the
// program is imported, since only modules loaded afterwards are cached.
enableCompileCache();
await import('./cli-program.ts');
