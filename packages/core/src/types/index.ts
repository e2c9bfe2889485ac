export type { MutationSink } from './mutation-sink.ts';
