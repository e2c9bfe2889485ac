import { DecodeError } from '../codec/decode-error.ts';
import { Reader } from '../codec/reader.ts';
import { readValue, writeValue, type Value } from '../codec/value.ts';
import { Writer } from '../codec/writer.ts';

/**
 * Set elements are keyed by a string. A string element is its own key (no
 * allocation on the hot path); any other value, or a string starting with the
 * marker, is the marker followed by its canonical binary encoding, one byte
 * per char, so equal values share a key and the key decodes back.
 */
const MARKER = 1;

export function elementKey(v: Value): string {
  if (typeof v === 'string' && v.charCodeAt(0) !== MARKER) return v;
  const w = new Writer();
  writeValue(w, v);
  const bytes = w.finish();
  let key = String.fromCharCode(MARKER);
  for (const b of bytes) key += String.fromCharCode(b);
  return key;
}

export function elementValue(key: string): Value {
  if (key.charCodeAt(0) !== MARKER) return key;
  const bytes = new Uint8Array(key.length - 1);
  for (let i = 1; i < key.length; i++) bytes[i - 1] = key.charCodeAt(i) & 0xff;
  return readValue(new Reader(bytes));
}

/** Throws DecodeError unless `key` is the canonical key of some value (keys arrive from the wire). */
export function checkElementKey(key: string): void {
  if (key.charCodeAt(0) !== MARKER) return;
  for (let i = 1; i < key.length; i++) {
    if (key.charCodeAt(i) > 0xff) throw new DecodeError('invalid', 'element key: not a byte string');
  }
  const bytes = new Uint8Array(key.length - 1);
  for (let i = 1; i < key.length; i++) bytes[i - 1] = key.charCodeAt(i);
  const r = new Reader(bytes);
  const value = readValue(r);
  r.end('element key');
  if (elementKey(value) !== key) throw new DecodeError('invalid', 'element key: not canonical');
}
