import type { Rng } from '../sim/prng.ts';

/** The ways an input is damaged; each fuzz input applies one to four of them to a valid input. */
export const mutations = [
  'bit-flip',
  'byte-insert',
  'byte-delete',
  'truncate',
  'splice',
  'varint-inflate',
  'length-inflate',
  'repeat-section',
] as const;
export type Mutation = (typeof mutations)[number];

/** Values that stress decoders: around 2^7·k boundaries, 2^31, 2^32, 2^48, 2^53 and the 10-byte varint limit. */
const bigValues: readonly bigint[] = [
  0x7fn,
  0x80n,
  0x3fffn,
  0x7fffffffn,
  0xffffffffn,
  0x100000000n,
  2n ** 48n,
  2n ** 48n + 1n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** LEB128, as lib0's writeVarUint writes it (also beyond 2^53, which its reader must refuse). */
export function encodeVarint(value: bigint, minBytes = 1): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n || out.length + 1 < minBytes) b |= 0x80;
    out.push(b);
  } while (v > 0n || out.length < minBytes);
  return Uint8Array.from(out);
}

/** The varint starting at `at`: its value and byte length, or undefined if it runs off the end or past 10 bytes. */
function readVarint(bytes: Uint8Array, at: number): { value: bigint; length: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10 && at + i < bytes.length; i++) {
    const b = bytes[at + i]!;
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * Varints whose value is the number of bytes that follow them, up to the end or close to it:
 * the length prefixes of strings and byte arrays (positions of candidates).
 */
function lengthFields(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let at = 0; at < bytes.length; at++) {
    const v = readVarint(bytes, at);
    if (v === undefined || v.value === 0n) continue;
    if (BigInt(at + v.length) + v.value <= BigInt(bytes.length)) found.push(at);
  }
  return found;
}

function mutateOnce(rng: Rng, input: Uint8Array, kind: Mutation, other: Uint8Array): Uint8Array {
  const n = input.length;
  const pos = (extra = 0): number => rng.int(0, Math.max(0, n - 1 + extra));
  switch (kind) {
    case 'bit-flip': {
      if (n === 0) return input;
      // A copy: on a Buffer, slice() would be a view, and the flips would damage the corpus.
      const out = Uint8Array.from(input);
      const flips = rng.int(1, 4);
      for (let i = 0; i < flips; i++) out[pos()]! ^= 1 << rng.int(0, 7);
      return out;
    }
    case 'byte-insert': {
      const at = pos(1);
      const add = Uint8Array.from({ length: rng.int(1, 8) }, () =>
        rng.chance(0.5) ? rng.pick([0x00, 0x7f, 0x80, 0xff]) : rng.int(0, 255),
      );
      return concat(input.subarray(0, at), add, input.subarray(at));
    }
    case 'byte-delete': {
      if (n === 0) return input;
      const at = pos();
      return concat(input.subarray(0, at), input.subarray(Math.min(n, at + rng.int(1, 8))));
    }
    case 'truncate':
      return input.subarray(0, rng.int(0, Math.max(0, n - 1)));
    case 'splice': {
      // The head of one valid input on the tail of another: well-formed pieces in the wrong places.
      return concat(input.subarray(0, pos(1)), other.subarray(rng.int(0, other.length)));
    }
    case 'varint-inflate': {
      // A varint re-encoded as a huge value, or its own value in a longer (non-minimal) form.
      if (n === 0) return input;
      const at = pos();
      const v = readVarint(input, at);
      if (v === undefined) return input;
      const replacement = rng.chance(0.5)
        ? encodeVarint(rng.pick(bigValues))
        : encodeVarint(v.value, Math.min(10, v.length + rng.int(1, 5)));
      return concat(input.subarray(0, at), replacement, input.subarray(at + v.length));
    }
    case 'length-inflate': {
      // A length prefix that claims more (or far more) bytes than there are.
      const fields = lengthFields(input);
      if (fields.length === 0) return input;
      const at = rng.pick(fields);
      const v = readVarint(input, at)!;
      const claimed = rng.chance(0.5) ? v.value + BigInt(rng.int(1, 64)) : rng.pick(bigValues);
      return concat(input.subarray(0, at), encodeVarint(claimed), input.subarray(at + v.length));
    }
    case 'repeat-section': {
      if (n === 0) return input;
      const from = pos();
      const section = input.subarray(from, Math.min(n, from + rng.int(1, 32)));
      const times = rng.chance(0.1) ? rng.int(100, 2000) : rng.int(2, 8);
      return concat(
        input.subarray(0, from),
        ...Array.from({ length: times }, () => section),
        input.subarray(from),
      );
    }
  }
}

/**
 * A damaged copy of `input`: one to four mutations in a row. `others` are valid inputs of the
 * same target, for splicing.
 */
export function mutate(
  rng: Rng,
  input: Uint8Array,
  others: readonly Uint8Array[],
): { bytes: Uint8Array; applied: Mutation[] } {
  let bytes = input;
  const applied: Mutation[] = [];
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(mutations);
    bytes = mutateOnce(rng, bytes, kind, rng.pick(others));
    applied.push(kind);
  }
  return { bytes, applied };
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
