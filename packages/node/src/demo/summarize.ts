import type { Value } from '@meshwork/core';

/**
 * Demo join step (module executor): folds the `wc -w` results of the fan-out step into
 * totals. Input: the for-each step's results, one `{ stdout: "  123 /path/file" }` per file.
 */
export default function summarize(input: Value): Value {
  const results = Array.isArray(input) ? (input as readonly Value[]) : [];
  const files: { file: string; words: number }[] = [];
  for (const r of results) {
    const stdout =
      typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as { stdout?: Value }).stdout : null;
    const match = typeof stdout === 'string' ? /^\s*(\d+)\s+(.*)$/.exec(stdout.trim()) : null;
    if (match) files.push({ file: match[2]!.split('/').at(-1)!, words: Number(match[1]) });
  }
  files.sort((a, b) => b.words - a.words);
  return {
    files: files.length,
    words: files.reduce((n, f) => n + f.words, 0),
    largest: files[0]?.file ?? null,
    perFile: files,
  };
}
