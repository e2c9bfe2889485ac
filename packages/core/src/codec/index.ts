export { DecodeError, EquivocationError, type DecodeErrorCode } from './decode-error.ts';
export { defaultDecodeLimits, type DecodeLimits } from './limits.ts';
export { Reader } from './reader.ts';
export { Writer } from './writer.ts';
export { readValue, writeValue, type Value } from './value.ts';
export { isValue, validateString, validateValue } from './value-validation.ts';
