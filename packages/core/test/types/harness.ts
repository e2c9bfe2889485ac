import fc from 'fast-check';
import { expect } from 'vitest';
import {
  createHandle,
  DecodeError,
  HLC,
  typeFromSpec,
  type CrdtType,
  type MutationSink,
  type TypeSpec,
} from '../../src/index.ts';
import { Reader, Writer } from '../../src/internal.ts';

/** How a CRDT type is exercised: random operations, what a user observes, and its sequential specification. */
export interface Model<H, Op, M> {
  readonly spec: TypeSpec;
  readonly op: fc.Arbitrary<Op>;
  /** Runs one operation; may throw an error that `allowed` accepts (a refused precondition). */
  run(h: H, op: Op): void;
  allowed?(e: unknown): boolean;
  view(h: H): unknown;
  /** Sequential specification on one replica: throws (an allowed error) when the op is refused. */
  readonly seq: { init(): M; step(m: M, op: Op): void; view(m: M): unknown };
  /** Canonical form of a state for equality (default: its encoding). */
  canonical?(state: unknown): string;
}

export const REPLICAS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'] as const;

export function encode(type: CrdtType<unknown>, state: unknown): Uint8Array {
  const w = new Writer();
  type.encode(w, state);
  return w.finish();
}

export function decode(type: CrdtType<unknown>, bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const s = type.decode(r);
  r.end();
  return s;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function canonicalOf<H, Op, M>(
  model: Model<H, Op, M>,
  type: CrdtType<unknown>,
  state: unknown,
): string {
  return model.canonical ? model.canonical(state) : hex(encode(type, state));
}

export function clone(type: CrdtType<unknown>, state: unknown): unknown {
  return decode(type, encode(type, state));
}

interface Replica<H> {
  readonly id: string;
  readonly state: unknown;
  readonly handle: H;
  /** Deltas emitted by the operation in progress, encoded. */
  readonly emitted: Uint8Array[];
}

export type Action<Op> =
  | { readonly kind: 'op'; readonly replica: number; readonly op: Op; readonly tick: number }
  | { readonly kind: 'deliver'; readonly message: number; readonly to: number };

export function actions<Op>(op: fc.Arbitrary<Op>, replicas: number): fc.Arbitrary<Action<Op>[]> {
  const action: fc.Arbitrary<Action<Op>> = fc.oneof(
    fc.record({
      kind: fc.constant('op' as const),
      replica: fc.nat(replicas - 1),
      op,
      tick: fc.nat(3),
    }),
    fc.record({ kind: fc.constant('deliver' as const), message: fc.nat(), to: fc.nat(replicas - 1) }),
  );
  return fc.array(action, { maxLength: 40 });
}

/** Runs a schedule on `n` replicas: deltas travel as bytes, delivered at random (dropped, duplicated, reordered). */
export function simulate<H, Op, M>(
  model: Model<H, Op, M>,
  n: number,
  schedule: readonly Action<Op>[],
  opts: { checkDelta?: boolean } = {},
): { replicas: Replica<H>[]; messages: Uint8Array[]; type: CrdtType<unknown> } {
  const type = typeFromSpec(model.spec);
  let time = 1_000;
  const replicas: Replica<H>[] = [];
  for (let i = 0; i < n; i++) {
    const id = REPLICAS[i] as string;
    const state = type.empty();
    const emitted: Uint8Array[] = [];
    // Skewed virtual clocks, so HLC order and physical order disagree.
    const hlc = new HLC(id, { clock: () => time + i * 7 });
    const emit = (d: unknown): void => {
      // Encoded at once, as the Document does: the join may share parts of the delta with the state.
      emitted.push(encode(type, d));
      type.join(state, d);
    };
    const sink: MutationSink<unknown> = { replica: id, hlc, emit };
    replicas.push({ id, state, handle: createHandle(model.spec, state, sink), emitted });
  }
  const messages: Uint8Array[] = [];
  for (const a of schedule) {
    if (a.kind === 'op') {
      time += a.tick;
      const r = replicas[a.replica] as Replica<H>;
      const before = opts.checkDelta ? clone(type, r.state) : undefined;
      try {
        model.run(r.handle, a.op);
      } catch (e) {
        if (!model.allowed?.(e)) throw e;
      }
      for (const bytes of r.emitted) {
        messages.push(bytes);
        if (before !== undefined) type.join(before, decode(type, bytes));
      }
      r.emitted.length = 0;
      if (before !== undefined) {
        expect(canonicalOf(model, type, before)).toBe(canonicalOf(model, type, r.state));
      }
    } else if (messages.length > 0) {
      const bytes = messages[a.message % messages.length] as Uint8Array;
      type.join((replicas[a.to] as Replica<H>).state, decode(type, bytes));
    }
  }
  return { replicas, messages, type };
}

/** Anti-entropy by full-state exchange through the codec: everyone into r0, then r0 into everyone. */
export function antiEntropy<H>(type: CrdtType<unknown>, replicas: readonly Replica<H>[]): void {
  const first = replicas[0] as Replica<H>;
  for (const r of replicas.slice(1)) type.join(first.state, decode(type, encode(type, r.state)));
  for (const r of replicas.slice(1)) type.join(r.state, decode(type, encode(type, first.state)));
}

const runs = { numRuns: 60 };

/** Every property the design asks of a CRDT type. */
export function checkCrdtLaws<H, Op, M>(model: Model<H, Op, M>): void {
  // Convergence of 2–6 replicas, plus delta-of-mutation ⊔ old state = new state on every op.
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 6 }).chain((n) => fc.tuple(fc.constant(n), actions(model.op, n))),
      ([n, schedule]) => {
        const { replicas, type } = simulate(model, n, schedule, { checkDelta: true });
        antiEntropy(type, replicas);
        const want = canonicalOf(model, type, (replicas[0] as Replica<H>).state);
        const view = JSON.stringify(model.view((replicas[0] as Replica<H>).handle), replacer);
        for (const r of replicas) {
          expect(canonicalOf(model, type, r.state)).toBe(want);
          expect(JSON.stringify(model.view(r.handle), replacer)).toBe(view);
        }
      },
    ),
    runs,
  );

  // Join is commutative, associative and idempotent, on states and deltas alike.
  fc.assert(
    fc.property(actions(model.op, 3), fc.nat(), fc.nat(), fc.nat(), (schedule, i, j, k) => {
      const { replicas, messages, type } = simulate(model, 3, schedule);
      const pool: Uint8Array[] = [...replicas.map((r) => encode(type, r.state)), ...messages];
      const pick = (x: number): unknown => decode(type, pool[x % pool.length] as Uint8Array);
      const join = (a: unknown, b: unknown): unknown => {
        type.join(a, b);
        return a;
      };
      const c = (s: unknown): string => canonicalOf(model, type, s);
      expect(c(join(pick(i), pick(j)))).toBe(c(join(pick(j), pick(i))));
      expect(c(join(join(pick(i), pick(j)), pick(k)))).toBe(c(join(pick(i), join(pick(j), pick(k)))));
      expect(c(join(pick(i), pick(i)))).toBe(c(pick(i)));
      // A join that reports no change left the state as it was.
      const a = pick(i);
      const before = c(a);
      if (!type.join(a, pick(j))) expect(c(a)).toBe(before);
    }),
    runs,
  );

  // One replica agrees with the sequential specification after every operation.
  fc.assert(
    fc.property(fc.array(model.op, { maxLength: 30 }), (ops) => {
      const type = typeFromSpec(model.spec);
      const state = type.empty();
      let time = 1_000;
      const hlc = new HLC('solo', { clock: () => time++ });
      const emit = (d: unknown): boolean => type.join(state, d);
      const h = createHandle(model.spec, state, { replica: 'solo', hlc, emit }) as H;
      const m = model.seq.init();
      for (const op of ops) {
        let implError: unknown;
        let specError: unknown;
        try {
          model.run(h, op);
        } catch (e) {
          implError = e;
        }
        try {
          model.seq.step(m, op);
        } catch (e) {
          specError = e;
        }
        if (implError !== undefined && !model.allowed?.(implError)) throw implError as Error;
        expect(implError === undefined).toBe(specError === undefined);
        expect(JSON.stringify(model.view(h), replacer)).toBe(JSON.stringify(model.seq.view(m), replacer));
      }
    }),
    runs,
  );

  // Codec: round trip, and random or mutated bytes raise only DecodeError.
  fc.assert(
    fc.property(
      actions(model.op, 2),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
      (schedule, edits) => {
        const { replicas, messages, type } = simulate(model, 2, schedule);
        for (const bytes of [encode(type, (replicas[0] as Replica<H>).state), ...messages.slice(0, 3)]) {
          if (model.canonical) {
            expect(model.canonical(decode(type, encode(type, decode(type, bytes))))).toBe(
              model.canonical(decode(type, bytes)),
            );
          } else {
            expect(hex(encode(type, decode(type, bytes)))).toBe(hex(bytes));
          }
          const mutated = Uint8Array.from(bytes);
          for (const [at, value] of edits) if (mutated.length > 0) mutated[at % mutated.length] = value;
          const decoded = expectOnlyDecodeError(type, mutated);
          if (decoded !== undefined) {
            // Whatever decodes can be read through a handle without surprises.
            const emit = (d: unknown): boolean => type.join(decoded, d);
            const sink: MutationSink<unknown> = { replica: 'reader', hlc: new HLC('reader'), emit };
            model.view(createHandle(model.spec, decoded, sink));
          }
          expectOnlyDecodeError(type, bytes.subarray(0, bytes.length - 1));
          expectOnlyDecodeError(type, Uint8Array.from([...bytes, 0]));
        }
      },
    ),
    runs,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      expectOnlyDecodeError(typeFromSpec(model.spec), bytes);
    }),
    { numRuns: 300 },
  );
}

/** Decoding either succeeds (and the state joins and re-encodes) or throws DecodeError. Returns the joined state. */
export function expectOnlyDecodeError(type: CrdtType<unknown>, bytes: Uint8Array): unknown {
  let state: unknown;
  try {
    state = decode(type, bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return undefined;
  }
  const copy = type.empty();
  type.join(copy, state);
  encode(type, copy);
  return copy;
}

/** JSON for views: byte arrays as hex. */
export function replacer(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? `bytes:${hex(v)}` : v;
}
