import { CausalContext } from '../causal/causal-context.ts';
import { defaultDecodeLimits, type DecodeLimits } from '../codec/limits.ts';
import { Reader } from '../codec/reader.ts';
import { Writer } from '../codec/writer.ts';
import { MessageKind, readHeader, writeHeader } from './messages.ts';

/** What a replica has: the causal context of the events it merged. */
export type Digest = CausalContext;

export function encodeDigest(digest: Digest): Uint8Array {
  const w = new Writer();
  writeHeader(w, MessageKind.Digest);
  digest.encode(w);
  return w.finish();
}

/** Decodes a digest message; throws only DecodeError. */
export function decodeDigest(bytes: Uint8Array, limits: DecodeLimits = defaultDecodeLimits): Digest {
  const r = new Reader(bytes, limits);
  readHeader(r, MessageKind.Digest);
  const digest = CausalContext.decode(r);
  r.end('digest');
  return digest;
}
