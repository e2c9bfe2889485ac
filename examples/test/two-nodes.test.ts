import { describe, expect, it } from 'vitest';
import { twoNodes } from '../two-nodes.ts';

describe('examples/two-nodes', () => {
  it('runs a task submitted on one node on the other node', async () => {
    const lines: string[] = [];
    const task = await twoNodes((l) => lines.push(l));
    expect(task).toMatchObject({ status: 'succeeded', agent: 'unix-worker', result: { exitCode: 0 } });
    expect(task.result!.stdout.trim()).toBe(
      process.platform === 'linux' ? 'Linux' : task.result!.stdout.trim(),
    );
    expect(lines.at(-1)).toContain('which-os succeeded on unix-worker');
  });
});
