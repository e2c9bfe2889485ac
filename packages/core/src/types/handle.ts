import type { MutationSink } from './mutation-sink.ts';

/**
 * What every type handle holds: the state it reads and changes in place, and
 * the sink its mutators hand their deltas to.
 */
export abstract class Handle<S> {
  protected readonly state: S;
  protected readonly sink: MutationSink<S>;

  constructor(state: S, sink: MutationSink<S>) {
    this.state = state;
    this.sink = sink;
  }
}
