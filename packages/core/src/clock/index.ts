export { ClockDriftError, HLC, type HLCOptions } from './hlc.ts';
export {
  compareTimestamps,
  MAX_LOGICAL,
  readTimestamp,
  writeTimestamp,
  type Timestamp,
} from './timestamp.ts';
