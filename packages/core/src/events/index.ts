export { Emitter, type EmitterOptions, type EventMap, type Observable } from './emitter.ts';
