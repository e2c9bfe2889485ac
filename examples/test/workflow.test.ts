import { describe, expect, it } from 'vitest';
import { workflow } from '../workflow.ts';

describe('examples/workflow', () => {
  it('fans out one task per source on one node and merges them on the other', async () => {
    const lines: string[] = [];
    const view = await workflow((l) => lines.push(l));
    expect(view.status).toBe('succeeded');
    expect(view.tasks).toHaveLength(4);
    expect(lines.at(-1)).toBe('crawl succeeded: {"bytes":5400,"sources":3}');
  });
});
