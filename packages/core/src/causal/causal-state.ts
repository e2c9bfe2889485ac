import type { CrdtType } from '../crdt-type.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import { CausalContext } from './causal-context.ts';
import { joinStore } from './causal-join.ts';
import {
  checkDotsIn,
  collectDots,
  collectStoredDots,
  countDots,
  DotMap,
  type DotStore,
  type Stored,
} from './dot-store.ts';
import { decodeStore, encodeStore } from './store-codec.ts';
import { emptyStore, type StoreKind } from './store-kind.ts';

/** A causal CRDT state: a dot store and the context of every dot it has seen. */
export interface Causal<S extends DotStore = DotStore> {
  readonly store: S;
  readonly ctx: CausalContext;
}

/**
 * The CRDT type of a causal state over a store of shape `kind`. Every causal
 * type (ORSet, MVRegister, ORMap, Graph) is this with a different kind; the
 * join is the one generic causal join.
 */
export function causalType<S extends DotStore>(name: string, kind: StoreKind): CrdtType<Causal<S>> {
  return {
    name,
    empty: () => ({ store: emptyStore(kind) as S, ctx: new CausalContext() }),
    join(state, delta) {
      // The store join needs the context from before the join.
      const changed = joinStore(kind, state.store, state.ctx, delta.store, delta.ctx);
      return state.ctx.join(delta.ctx) || changed;
    },
    encode(w: Writer, state) {
      // A context made mostly of the store's own dots (a typical delta) is
      // written without them: the decoder adds them back from the store.
      const own = countDots(state.store);
      const rest = state.ctx.size - own;
      if (rest === 0) {
        // The context is exactly the store's dots (every store dot is in its context):
        // write an empty context with the compact flag (see CausalContext.encode).
        w.uint(1);
      } else if (own === 0 && rest <= SMALL_REST) {
        state.ctx.encode(w, true);
      } else if (rest <= SMALL_REST) {
        const live = new CausalContext();
        collectDots(state.store, live);
        const others = new CausalContext();
        for (const dot of state.ctx.dots()) {
          if (!live.has(dot.replica, dot.seq)) others.add(dot.replica, dot.seq);
        }
        others.encode(w, true);
      } else {
        state.ctx.encode(w);
      }
      encodeStore(kind, w, state.store);
    },
    decode(r: Reader) {
      const { ctx, flag: compact } = CausalContext.decodeFlagged(r);
      const store = decodeStore(kind, r) as S;
      if (compact) collectDots(store, ctx);
      else checkDotsIn(store, ctx);
      return { store, ctx };
    },
  };
}

/**
 * The delta removing `keys` from a causal map state (ORSet elements, ORMap keys), leaving the state as it is.
 * The delta lists each present key with an empty store of `valueKind` and holds the
 * dots observed beneath them in its context, so a concurrent update (an unobserved
 * dot) survives. Undefined when no key is present.
 */
export function removeKeys<S extends DotStore>(
  state: Causal<DotMap<S>>,
  keys: Iterable<string>,
  valueKind: StoreKind,
): Causal<DotMap<S>> | undefined {
  const store = new DotMap<S>(true);
  const ctx = new CausalContext();
  for (const key of keys) {
    const child = state.store.entries.get(key);
    if (child === undefined) continue;
    collectStoredDots(child, ctx);
    store.entries.set(key, emptyStore(valueKind) as Stored<S>);
  }
  return store.entries.size === 0 ? undefined : { store, ctx };
}

/** Most context dots outside the store for which the compact form is used. */
const SMALL_REST = 8;
