import * as decoding from 'lib0/decoding';
import { DecodeError } from '../codec/decode-error.ts';
import { valueDepthOf, type DecodeLimits } from '../codec/limits.ts';

/** What a structural check of a Yjs update examined. */
export interface YjsUpdateShape {
  /** Structs (items, GC and skip ranges) read. */
  readonly structs: number;
  /** Delete-set ranges read. */
  readonly deleteRanges: number;
}

/** Clocks are safe integers in Yjs; a range past that would wrap its arithmetic. */
const MAX_CLOCK = Number.MAX_SAFE_INTEGER;
/** Yjs content refs (the low 5 bits of an item's info byte) and type refs it knows. */
const CONTENT_REFS = 9;
const TYPE_REFS = 6;
const YXML_ELEMENT = 3;
const YXML_HOOK = 5;

/**
 * Parses a Yjs (v1) update the way Yjs would, without building anything: every struct, its
 * content and the delete set, with each count checked against the bytes left before the loop
 * it drives, lengths and clocks bounded, `any` values walked iteratively within the value
 * depth budget, and nothing allowed after the end. Yjs only sees updates that pass, so a
 * small frame cannot make it allocate or loop in proportion to a number it declares.
 * Throws DecodeError.
 */
export function checkYjsUpdate(update: Uint8Array, limits: DecodeLimits): YjsUpdateShape {
  const d = decoding.createDecoder(update);
  const left = (): number => update.byteLength - d.pos;
  const uint = (what: string): number => {
    if (left() < 1) throw new DecodeError('truncated', `ydoc: ${what} missing`);
    try {
      return decoding.readVarUint(d);
    } catch {
      throw new DecodeError('truncated', `ydoc: ${what} unterminated`);
    }
  };
  /** A count of things of at least `minBytes` each, bounded by what remains. */
  const count = (what: string, minBytes: number): number => {
    const n = uint(what);
    if (n > limits.maxEntries || n * minBytes > left()) {
      throw new DecodeError('too_large', `ydoc: ${what} of ${n} does not fit ${left()} bytes`);
    }
    return n;
  };
  /** Steps over a length-prefixed byte string, returning where it starts. */
  const skipBytes = (what: string): number => {
    const n = uint(what);
    if (n > limits.maxStringBytes) throw new DecodeError('too_large', `ydoc: ${what} of ${n} bytes`);
    if (n > left()) throw new DecodeError('truncated', `ydoc: ${what} needs ${n} bytes`);
    const start = d.pos;
    d.pos += n;
    return start;
  };
  const string = (what: string): string => {
    const start = skipBytes(what);
    try {
      return utf8.decode(update.subarray(start, d.pos));
    } catch {
      throw new DecodeError('invalid', `ydoc: ${what} not UTF-8`);
    }
  };
  const json = (what: string): void => {
    const s = string(what);
    if (s === 'undefined') return;
    try {
      JSON.parse(s);
    } catch {
      throw new DecodeError('invalid', `ydoc: ${what} not JSON`);
    }
  };
  const length = (what: string, clock: number): number => {
    const n = uint(what);
    if (n === 0 || clock + n > MAX_CLOCK) throw new DecodeError('invalid', `ydoc: ${what} ${n}`);
    return n;
  };
  /**
   * A reference from a struct of `client` at `clock`. One to the same client must point below
   * `clock`: Yjs writes only to structs that existed when the item was made, and integrating a
   * reference to the item itself or a later one throws inside Yjs.
   */
  const id = (what: string, client: number, clock: number): void => {
    const refClient = uint(`${what} client`);
    const refClock = uint(`${what} clock`);
    if (refClock > MAX_CLOCK) throw new DecodeError('invalid', `ydoc: ${what} clock`);
    if (refClient === client && refClock >= clock) {
      throw new DecodeError('invalid', `ydoc: ${what} ${refClock} is not before its item ${clock}`);
    }
  };
  const maxDepth = valueDepthOf(limits);
  /** lib0 `any` values, walked with a counter of open containers instead of recursion. */
  const any = (): void => {
    // Entries still to read in each open container; objects read a key before each entry.
    const open: { left: number; object: boolean }[] = [];
    for (;;) {
      const top = open[open.length - 1];
      if (top !== undefined) {
        if (top.left === 0) {
          open.pop();
          if (open.length === 0) return;
          continue;
        }
        top.left--;
        if (top.object) string('any key');
      }
      if (left() < 1) throw new DecodeError('truncated', 'ydoc: any value missing');
      const tag = decoding.readUint8(d);
      switch (tag) {
        case 127: // undefined
        case 126: // null
        case 121: // false
        case 120: // true
          break;
        case 125: // varint
          if (left() < 1) throw new DecodeError('truncated', 'ydoc: any int missing');
          try {
            decoding.readVarInt(d);
          } catch {
            throw new DecodeError('truncated', 'ydoc: any int unterminated');
          }
          break;
        case 124: // float32
        case 123: // float64
        case 122: {
          // bigint64
          const n = tag === 124 ? 4 : 8;
          if (left() < n) throw new DecodeError('truncated', 'ydoc: any number missing');
          d.pos += n;
          break;
        }
        case 119:
          string('any string');
          break;
        case 118: // object
        case 117: {
          // array
          if (open.length >= maxDepth)
            throw new DecodeError('too_deep', `ydoc: any nests deeper than ${maxDepth}`);
          const object = tag === 118;
          open.push({ left: count('any entries', object ? 2 : 1), object });
          continue;
        }
        case 116:
          skipBytes('any bytes');
          break;
        default:
          throw new DecodeError('invalid', `ydoc: any tag ${tag}`);
      }
      if (open.length === 0) return;
    }
  };
  const content = (ref: number, clock: number): number => {
    switch (ref) {
      case 1: // deleted
        return length('deleted length', clock);
      case 2: {
        // JSON
        const n = count('json entries', 1);
        if (n === 0) throw new DecodeError('invalid', 'ydoc: empty json content');
        for (let i = 0; i < n; i++) json('json entry');
        return n;
      }
      case 3: // binary
        skipBytes('binary content');
        return 1;
      case 4: {
        const s = string('string content');
        if (s.length === 0) throw new DecodeError('invalid', 'ydoc: empty string content');
        return s.length;
      }
      case 5: // embed
        json('embed');
        return 1;
      case 6: // format
        string('format key');
        json('format value');
        return 1;
      case 7: {
        // type
        const type = uint('type ref');
        if (type > TYPE_REFS) throw new DecodeError('invalid', `ydoc: type ref ${type}`);
        if (type === YXML_ELEMENT || type === YXML_HOOK) string('type name');
        return 1;
      }
      case 8: {
        // any
        const n = count('any entries', 1);
        if (n === 0) throw new DecodeError('invalid', 'ydoc: empty any content');
        for (let i = 0; i < n; i++) any();
        return n;
      }
      case 9: // subdocument
        string('subdocument guid');
        any();
        return 1;
      default:
        throw new DecodeError('invalid', `ydoc: content ref ${ref}`);
    }
  };

  let structs = 0;
  const clients = count('client count', 3);
  for (let c = 0; c < clients; c++) {
    const n = count('struct count', 2);
    const client = uint('client');
    let clock = uint('clock');
    if (clock > MAX_CLOCK) throw new DecodeError('invalid', 'ydoc: clock');
    for (let i = 0; i < n; i++) {
      structs++;
      if (left() < 1) throw new DecodeError('truncated', 'ydoc: struct missing');
      const info = decoding.readUint8(d);
      const ref = info & 0b11111;
      if (ref === 0 || ref === 10) {
        clock += length('gc length', clock);
        continue;
      }
      if (ref > CONTENT_REFS) throw new DecodeError('invalid', `ydoc: content ref ${ref}`);
      if (info & 0b1000_0000) id('origin', client, clock);
      if (info & 0b0100_0000) id('right origin', client, clock);
      if ((info & 0b1100_0000) === 0) {
        if (uint('parent info') === 1) string('parent key');
        else id('parent', client, clock);
        if (info & 0b0010_0000) string('parent sub');
      }
      clock += content(ref, clock);
      if (clock > MAX_CLOCK) throw new DecodeError('invalid', 'ydoc: clock');
    }
  }
  let deleteRanges = 0;
  const deleted = count('delete set clients', 2);
  for (let c = 0; c < deleted; c++) {
    uint('delete set client');
    const n = count('delete ranges', 2);
    for (let i = 0; i < n; i++) {
      deleteRanges++;
      const clock = uint('delete clock');
      if (clock > MAX_CLOCK) throw new DecodeError('invalid', 'ydoc: delete clock');
      length('delete length', clock);
    }
  }
  if (left() !== 0) throw new DecodeError('trailing_bytes', `ydoc: ${left()} bytes after the update`);
  return { structs, deleteRanges };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
