/**
 * The demo workflow: count the words of each input file in parallel (shell `wc -w`, fan-out),
 * join the counts (JS module), then either publish the summary to an HTTP endpoint or, when
 * the total is small, note it with a shell command (conditional: exactly one of the two runs).
 */
export const textStatsTemplate = {
  name: 'text-stats',
  params: ['files', 'threshold', 'sink'],
  steps: [
    {
      id: 'count',
      type: 'executor:shell',
      forEach: 'params.files',
      after: [],
      input: { executor: '"shell"', argv: '("wc", "-w", item)' },
    },
    {
      id: 'summarize',
      type: 'executor:module',
      after: ['count'],
      input: { executor: '"module"', handler: '"summarize"', input: 'steps.count.results' },
    },
    {
      id: 'publish',
      type: 'executor:http',
      after: ['summarize'],
      when: 'steps.summarize.result.words > params.threshold',
      input: { executor: '"http"', method: '"POST"', url: 'params.sink', body: 'steps.summarize.result' },
    },
    {
      id: 'note',
      type: 'executor:shell',
      after: ['summarize'],
      when: 'steps.summarize.result.words <= params.threshold',
      input: { executor: '"shell"', argv: '("echo", "total below threshold")' },
    },
  ],
};
