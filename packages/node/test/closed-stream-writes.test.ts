import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const guard = fileURLToPath(new URL('../src/closed-stream-writes.ts', import.meta.url));

/** Runs a module that installs the guard, then throws `error` from a microtask, as yamux does. */
function run(error: string): { status: number | null; stdout: string; stderr: string } {
  const source = `
    import { tolerateClosedStreamWrites } from ${JSON.stringify(guard)};
    tolerateClosedStreamWrites((err) => console.log('reported: ' + err.message));
    queueMicrotask(() => { ${error} });
    setTimeout(() => console.log('still running'), 50);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tolerateClosedStreamWrites', () => {
  it('keeps the process running through a write on a closed stream thrown where nothing catches it', () => {
    const r = run(
      "const e = new Error('Cannot write to a stream that is closed'); e.name = 'StreamStateError'; throw e;",
    );
    expect(r.stdout).toContain('reported: Cannot write to a stream that is closed');
    expect(r.stdout).toContain('still running');
    expect(r.status).toBe(0);
  });

  it('still ends the process on any other uncaught exception, printing its stack', () => {
    const r = run("throw new TypeError('something else');");
    expect(r.stdout).not.toContain('still running');
    expect(r.stderr).toContain('TypeError: something else');
    expect(r.status).toBe(1);
  });
});
