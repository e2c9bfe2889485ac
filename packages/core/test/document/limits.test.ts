import { describe, expect, it } from 'vitest';
import {
  createDocument,
  DecodeError,
  defaultDecodeLimits,
  InvalidArgumentError,
  LimitExceededError,
  lww,
  MAX_SEQ,
  MAX_SPEC_DEPTH,
  orset,
  ormap,
  TypeSpecError,
  validateValue,
  type DecodeLimits,
  type Document,
  type Spec,
  type TypeSpec,
  type Value,
} from '../../src/index.ts';
import { MessageKind, readSpec, Reader, Writer } from '../../src/internal.ts';
import { writeHeader } from '../../src/document/messages.ts';
import { endEvent, writeEventStart } from '../../src/document/update.ts';
import { fingerprint, restore } from './fingerprint.ts';

const make = (replica: string, limits?: DecodeLimits): Document =>
  createDocument({ replica, name: 'limits', ...(limits !== undefined && { limits }) });

/** A list nested `depth` deep around `leaf`. */
function nested(depth: number, leaf: Value = 'x'): Value {
  let v: Value = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** The deepest member a program can build: MAX_SPEC_DEPTH ORMaps around `leaf`. */
function deepSpec(leaf: TypeSpec): Spec<unknown> {
  let spec = leaf as Spec<unknown>;
  for (let i = 0; i < MAX_SPEC_DEPTH; i++) spec = ormap(spec);
  return spec;
}

describe('one set of limits: what a write accepts, every peer and a restore accept', () => {
  it('a value at the value depth limit inside the deepest spec reaches peers and survives restore', () => {
    const a = make('a');
    const b = make('b');
    let handle = a.member('deep', deepSpec(lww())) as unknown;
    for (let i = 0; i < MAX_SPEC_DEPTH; i++) handle = (handle as { get(k: string): unknown }).get(`k${i}`);
    const updates: Uint8Array[] = [];
    a.on('change', (e) => updates.push(e.update));
    const value = nested(defaultDecodeLimits.maxValueDepth);
    (handle as { set(v: Value): void }).set(value);
    // Deeper than the 29 levels peers refused in the field, inside a map of maps.
    a.ormap('tasks', ormap(lww())).get('t').get('input').set(nested(40));
    for (const u of updates) b.apply(u);
    expect(b.digest().size).toBe(2);
    const restored = restore(a, () => make('a'));
    expect(restored.digest().size).toBe(2);
    expect(restored.ormap('tasks', ormap(lww())).get('t').get('input').get()).toEqual(nested(40));
  });

  it('refuses a value deeper than maxValueDepth with a typed error, changing nothing', () => {
    const a = make('a');
    a.lww('x').set(1);
    const check = fingerprint(a);
    const tooDeep = nested(defaultDecodeLimits.maxValueDepth + 1);
    const error = (() => {
      try {
        a.transact(() => a.lww('x').set(tooDeep));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(LimitExceededError);
    expect((error as LimitExceededError).limit).toBe('maxValueDepth');
    expect((error as Error).message).toMatch(/^LWWRegister\.set: .*maxValueDepth \(64\)/);
    check();
  });

  it('refuses values thousands of levels deep without overflowing the stack', () => {
    const a = make('a');
    const set = a.orset('s');
    const check = fingerprint(a);
    for (const depth of [1_000, 5_000, 200_000]) {
      expect(() => set.add(nested(depth))).toThrow(LimitExceededError);
      expect(() => validateValue(nested(depth))).toThrow(LimitExceededError);
    }
    check();
  });

  it('refuses strings, byte arrays and collections past the limits the peers decode with', () => {
    const limits: DecodeLimits = { ...defaultDecodeLimits, maxStringBytes: 1000, maxEntries: 100 };
    const a = make('a', limits);
    const [x, m, set] = [a.lww('x'), a.ormap('m', lww()), a.orset('s')];
    const check = fingerprint(a);
    const refused = (fn: () => void, limit: string): void => {
      expect(fn).toThrow(LimitExceededError);
      try {
        fn();
      } catch (e) {
        expect((e as LimitExceededError).limit).toBe(limit);
      }
    };
    refused(() => x.set('é'.repeat(501)), 'maxStringBytes'); // 1,002 bytes as UTF-8
    refused(() => x.set(new Uint8Array(1001)), 'maxStringBytes');
    refused(() => x.set({ ['k'.repeat(1001)]: 1 }), 'maxStringBytes');
    refused(() => x.set(Array.from({ length: 101 }, () => 0)), 'maxEntries');
    refused(() => m.get('k'.repeat(1001)).set(1), 'maxStringBytes');
    // An ORSet element of 600 bytes travels as a key of up to twice that.
    refused(() => set.add([new Uint8Array(600).fill(0xff)]), 'maxStringBytes');
    check();
    // Just inside the limits: accepted here and by a peer with the same limits.
    const b = make('b', limits);
    a.on('change', (e) => b.apply(e.update));
    a.lww('x').set('é'.repeat(500));
    a.lww('y').set(Array.from({ length: 100 }, () => 0));
    expect(b.lww('x').get()).toBe('é'.repeat(500));
  });

  it('refuses a value whose encoding exceeds maxMessageBytes', () => {
    const limits: DecodeLimits = { ...defaultDecodeLimits, maxMessageBytes: 10_000 };
    const a = make('a', limits);
    const x = a.lww('x');
    const check = fingerprint(a);
    const big = Array.from({ length: 20 }, () => 'x'.repeat(600));
    expect(() => x.set(big)).toThrow(LimitExceededError);
    check();
  });

  it('refuses strings with lone surrogates, which UTF-8 would turn into another string on peers', () => {
    const a = make('a');
    const [x, m] = [a.lww('x'), a.ormap('m', lww())];
    const check = fingerprint(a);
    expect(() => x.set('a\ud800b')).toThrow(InvalidArgumentError);
    expect(() => m.get('\udc00')).toThrow(InvalidArgumentError);
    check();
    a.lww('x').set('pair \ud83d\ude00 ok');
    expect(a.lww('x').get()).toBe('pair \ud83d\ude00 ok');
  });

  it('refuses non-values with InvalidArgumentError: holes, cycles, class instances', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const holes: unknown[] = [];
    holes[2] = 1;
    for (const v of [undefined, NaN, cyclic, holes, new Date(), () => 1, 1n]) {
      expect(() => validateValue(v)).toThrow(InvalidArgumentError);
    }
    expect(validateValue({ a: [1, 'é', null, new Uint8Array(2)] })).toBeGreaterThan(0);
  });

  it('makes specs deeper than the decoders allow impossible to build or decode', () => {
    expect(() => ormap(deepSpec(lww()))).toThrow(TypeSpecError);
    const deeper = { kind: 'ormap', value: deepSpec(lww()) } as TypeSpec;
    const a = make('a');
    expect(() => a.member('deep', deeper)).toThrow();
    expect(a.memberNames()).toEqual([]);
    const w = new Writer();
    for (let i = 0; i <= MAX_SPEC_DEPTH; i++) w.uint(6); // ormap
    w.uint(1); // lww
    expect(() => readSpec(new Reader(w.finish()))).toThrow(DecodeError);
    expect(() =>
      createDocument({ replica: 'a', name: 'n', limits: { ...defaultDecodeLimits, maxDepth: 8 } }),
    ).toThrow(/maxDepth/);
    expect(orset()).toEqual({ kind: 'orset' });
  });
});

describe('sequence numbers', () => {
  /** An update holding one empty event of `replica` at `seq`. */
  function eventAt(replica: string, seq: number): Uint8Array {
    const w = new Writer();
    writeHeader(w, MessageKind.Update);
    w.uint(1);
    writeEventStart(w, replica, seq, 1, 0);
    endEvent(w);
    return w.finish();
  }

  it('refuses an event past MAX_SEQ, changing nothing', () => {
    const a = make('a');
    a.lww('x').set(1);
    const check = fingerprint(a);
    expect(() => a.apply(eventAt('m', MAX_SEQ + 1))).toThrow(DecodeError);
    check();
    a.apply(eventAt('m', MAX_SEQ));
    expect(a.digest().has('m', MAX_SEQ)).toBe(true);
    // The digest and snapshot still decode everywhere.
    expect(
      restore(a, () => make('c'))
        .digest()
        .has('m', MAX_SEQ),
    ).toBe(true);
  });

  it('never makes a local seq past MAX_SEQ', () => {
    const a = make('a');
    a.apply(eventAt('a', MAX_SEQ));
    const x = a.lww('x');
    const digest = a.digest();
    const published: unknown[] = [];
    a.on('change', (e) => published.push(e));
    expect(() => x.set(1)).toThrow(LimitExceededError);
    expect(a.digest().equals(digest)).toBe(true);
    expect(published).toEqual([]);
  });
});
