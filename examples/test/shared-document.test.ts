import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../shared-document.ts', import.meta.url));

/** Runs the example as its own process; resolves with its output lines once it exits 0. */
function run(args: string[], onLine: (line: string) => void = () => {}): Promise<string[]> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine(line);
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`exit ${code}`)))),
  );
}

describe('examples/shared-document', () => {
  it('two processes share a Document through the multiaddr one prints', async () => {
    let guest: Promise<string[]> | undefined;
    const host = run([], (line) => {
      if (line.startsWith('multiaddr ')) guest = run([line.slice('multiaddr '.length)]);
    });
    const hostLines = await host;
    expect(guest).toBeDefined();
    const guestLines = await guest!;
    expect(hostLines[0]).toMatch(/^multiaddr \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+$/);
    expect(hostLines.at(-1)).toBe('present guest,host');
    expect(guestLines).toEqual(['present guest,host']);
  });
});
