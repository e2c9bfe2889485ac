import * as Y from 'yjs';
import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import type { Writer } from '../codec/writer.ts';
import type { CrdtType } from '../crdt-type.ts';
import type { MutationSink } from './mutation-sink.ts';
import { checkYjsUpdate } from './yjs-update.ts';

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
  /**
   * A copy of the live document that remote updates are applied to first (`check`): Yjs can
   * throw half-way through integrating a corrupted update, so the live document only gets
   * updates that already applied to an equal state. Kept in step with local edits; dropped
   * (and rebuilt on the next check) whenever it might differ from the live document.
   */
  shadow: Y.Doc | undefined;
  /** Updates applied to the shadow and not yet joined into the live document. */
  readonly checked = new Set<Uint8Array>();

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

  /** Forgets the shadow and what was checked on it. */
  dropShadow(): void {
    this.shadow = undefined;
    this.checked.clear();
  }
}

function updateOf(delta: YDocState): Uint8Array | undefined {
  return delta.doc !== undefined ? Y.encodeStateAsUpdate(delta.doc) : delta.pending;
}

export const ydocType: CrdtType<YDocState> = {
  name: 'ydoc',
  empty: () => new YDocState(),
  check(state, delta) {
    const update = updateOf(delta);
    if (update === undefined) return;
    if (state.shadow === undefined) {
      const shadow = new Y.Doc();
      Y.applyUpdate(shadow, state.toUpdate());
      state.shadow = shadow;
    }
    try {
      Y.applyUpdate(state.shadow, update);
    } catch {
      state.dropShadow();
      throw new DecodeError('invalid', 'ydoc: the Yjs update does not apply to this document');
    }
    state.checked.add(update);
  },
  release(state) {
    state.dropShadow();
  },
  join(state, delta) {
    const update = updateOf(delta);
    if (update === undefined) return false;
    // An update the shadow has not seen puts it out of step: drop it.
    if (!state.checked.delete(update)) state.dropShadow();
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
    // Structure only: whether it applies depends on the state it meets (see `check`).
    checkYjsUpdate(update, r.limits);
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
      if (origin === MERGE_ORIGIN) return;
      // A local edit made by Yjs itself applies to the shadow as it did to the live document,
      // so the sink's join (a no-op on the live document) keeps the shadow.
      if (state.shadow !== undefined) {
        Y.applyUpdate(state.shadow, update);
        state.checked.add(update);
      }
      try {
        sink.emit(new YDocState(update));
      } finally {
        state.checked.delete(update);
      }
    };
    state.unbind?.();
    doc.on('update', onUpdate);
    state.unbind = () => doc.off('update', onUpdate);
  }

  get doc(): Y.Doc {
    return this.state.materialize();
  }
}
