import * as Y from 'yjs';
import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { MutationSink } from './mutation-sink.ts';

/** Transaction origin of merges, so they are not mistaken for local edits. */
const MERGE_ORIGIN = Symbol('meshwork merge');

/**
 * A Yjs document as a CRDT state. A delta is a Yjs update, held as bytes
 * (decoded or emitted deltas never build a document); joining applies it to
 * the state's live `Y.Doc` with `Y.applyUpdate`, which, like every join here,
 * tolerates any order and repetition.
 */
export class YDocState {
  /** The live document, once materialized. */
  doc: Y.Doc | undefined;
  /** Updates not yet applied to a live document. */
  pending: Uint8Array | undefined;
  /** Detaches the current handle's update listener. */
  unbind: (() => void) | undefined;

  constructor(pending?: Uint8Array) {
    this.pending = pending;
  }

  /** The live Y.Doc, created on first use with everything received so far. */
  materialize(): Y.Doc {
    if (this.doc === undefined) {
      this.doc = new Y.Doc();
      if (this.pending !== undefined) Y.applyUpdate(this.doc, this.pending, MERGE_ORIGIN);
      this.pending = undefined;
    }
    return this.doc;
  }

  /** The whole state as one Yjs update. */
  toUpdate(): Uint8Array {
    if (this.doc !== undefined) return Y.encodeStateAsUpdate(this.doc);
    const scratch = new Y.Doc();
    if (this.pending !== undefined) Y.applyUpdate(scratch, this.pending);
    return Y.encodeStateAsUpdate(scratch);
  }
}

export const ydocType: CrdtType<YDocState> = {
  name: 'ydoc',
  empty: () => new YDocState(),
  join(state, delta) {
    const update = delta.doc !== undefined ? Y.encodeStateAsUpdate(delta.doc) : delta.pending;
    if (update === undefined) return false;
    // Applying to the live document tells exactly whether anything was new.
    const doc = state.materialize();
    let changed = false;
    const seen = (): void => {
      changed = true;
    };
    doc.on('update', seen);
    try {
      Y.applyUpdate(doc, update, MERGE_ORIGIN);
    } finally {
      doc.off('update', seen);
    }
    return changed;
  },
  encode(w: Writer, state) {
    w.bytes(state.toUpdate());
  },
  decode(r: Reader) {
    const update = r.bytes('ydoc update');
    // Yjs throws assorted errors on malformed updates: try it on a scratch document first.
    try {
      Y.applyUpdate(new Y.Doc(), update);
    } catch {
      throw new DecodeError('invalid', 'ydoc: malformed Yjs update');
    }
    return new YDocState(update);
  },
};

/**
 * A Yjs document as a document member. Edit `doc` with the Yjs API; each
 * local Yjs transaction becomes one delta (its Yjs update) through the sink.
 */
export class YDoc {
  private readonly state: YDocState;

  constructor(state: YDocState, sink: MutationSink<YDocState>) {
    this.state = state;
    const doc = state.materialize();
    const onUpdate = (update: Uint8Array, origin: unknown): void => {
      if (origin !== MERGE_ORIGIN) sink.emit(new YDocState(update));
    };
    state.unbind?.();
    doc.on('update', onUpdate);
    state.unbind = () => doc.off('update', onUpdate);
  }

  get doc(): Y.Doc {
    return this.state.materialize();
  }
}
