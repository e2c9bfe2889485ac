import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAEMON_SEMI_SPACE_MB, daemonRelaunchArgs } from '../src/cli/daemon-heap.ts';
import { startDaemonProcess, tempDir } from './support/processes.ts';

const flag = `--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`;
const base = { execArgv: [], nodeOptions: undefined, canRelaunch: true };

describe('the daemon’s young generation', () => {
  it('relaunches `meshwork start` alone, with the flag first, unless it is already set', () => {
    expect(daemonRelaunchArgs({ ...base, argv: ['node', 'cli.js', 'start', '--config', 'c.json'] })).toEqual([
      'node',
      flag,
      'cli.js',
      'start',
      '--config',
      'c.json',
    ]);
    expect(
      daemonRelaunchArgs({ ...base, execArgv: ['--enable-source-maps'], argv: ['node', 'cli.js', 'start'] }),
    ).toEqual(['node', flag, '--enable-source-maps', 'cli.js', 'start']);
    expect(daemonRelaunchArgs({ ...base, argv: ['node', 'cli.js', 'task', 'list'] })).toBeUndefined();
    expect(daemonRelaunchArgs({ ...base, argv: ['node', 'cli.js'] })).toBeUndefined();
    expect(
      daemonRelaunchArgs({
        ...base,
        execArgv: ['--max-semi-space-size=2'],
        argv: ['node', 'cli.js', 'start'],
      }),
    ).toBeUndefined();
    expect(
      daemonRelaunchArgs({
        ...base,
        nodeOptions: '--trace-gc --max-semi-space-size=64',
        argv: ['node', 'cli.js', 'start'],
      }),
    ).toBeUndefined();
    expect(
      daemonRelaunchArgs({ ...base, canRelaunch: false, argv: ['node', 'cli.js', 'start'] }),
    ).toBeUndefined();
  });

  it('runs a started daemon with it, in the process it was started as, and leaves a size set in NODE_OPTIONS', async () => {
    const config = { name: 'heap', listen: ['/ip4/127.0.0.1/tcp/0'] };
    const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const daemon = await startDaemonProcess(tempDir('heap'), config);
    const own = await startDaemonProcess(tempDir('heap-own'), config, {
      env: { NODE_OPTIONS: '--max-semi-space-size=2' },
    });
    try {
      // The pid the daemon reports is the one spawned: the relaunch replaced the program in place.
      expect(cmdline(daemon.child.pid!)).toContain(flag);
      expect(cmdline(own.child.pid!).some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
    } finally {
      daemon.child.kill('SIGKILL');
      own.child.kill('SIGKILL');
    }
  });
});
