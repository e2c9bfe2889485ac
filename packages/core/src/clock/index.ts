export { ClockDriftError, HLC, type HLCOptions } from './hlc.ts';
export { compareTimestamps, readTimestamp, writeTimestamp, type Timestamp } from './timestamp.ts';
