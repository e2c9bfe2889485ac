import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import { DotFun, DotMap, type DotStore } from './dot-store.ts';
import { DotSet } from './dot-set.ts';

/** Encodes the values of a {@link DotFun}. */
export interface ValueCodec<V> {
  write(w: Writer, v: V): void;
  read(r: Reader): V;
}

/** The shape of a dot store, needed to create, decode and join nested stores. */
export type StoreKind =
  | { readonly store: 'set' }
  | { readonly store: 'fun'; readonly value: ValueCodec<unknown> }
  | { readonly store: 'map'; readonly value: StoreKind; readonly checkKey?: (key: string) => void };

export const setKind: StoreKind = Object.freeze({ store: 'set' });

export function funKind<V>(value: ValueCodec<V>): StoreKind {
  return { store: 'fun', value: value };
}

/** `checkKey` validates decoded keys (throwing DecodeError), for keys that encode data. */
export function mapKind(value: StoreKind, checkKey?: (key: string) => void): StoreKind {
  return checkKey === undefined ? { store: 'map', value } : { store: 'map', value, checkKey };
}

export function emptyStore(kind: StoreKind, partial = false): DotStore {
  switch (kind.store) {
    case 'set':
      return new DotSet();
    case 'fun':
      return new DotFun();
    case 'map':
      return new DotMap(partial);
  }
}
