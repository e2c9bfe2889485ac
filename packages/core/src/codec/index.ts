export { DecodeError, EquivocationError, type DecodeErrorCode } from './decode-error.ts';
export { defaultDecodeLimits, type DecodeLimits } from './limits.ts';
export { Reader } from './reader.ts';
export { Writer } from './writer.ts';
export { isValue, readValue, validateString, validateValue, writeValue, type Value } from './value.ts';
