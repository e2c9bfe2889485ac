import { DecodeError, decodeDigest, encodeDigest, type Document } from '@meshwork/core';
import { documentTopic } from '@meshwork/transport';
import {
  createGossipEnvelope,
  decodeSyncFrame,
  encodeSyncFrame,
  GossipEnvelopeError,
} from '@meshwork/transport/internal';
import { buildCorpus, DOC_NAME, identity, newDocument, type Corpus } from './corpus.ts';
import { encodeVarint } from './mutate.ts';

/** An invariant an input broke; `check` names it. */
export class FuzzViolation extends Error {
  readonly check: string;
  readonly detail: string;

  constructor(check: string, detail: string, options?: ErrorOptions) {
    super(`${check}: ${detail}`, options);
    this.name = 'FuzzViolation';
    this.check = check;
    this.detail = detail;
  }
}

export type Outcome = 'accepted' | 'rejected';

/** Something that reads bytes from a peer, with valid inputs to damage. */
export interface ByteTarget {
  readonly name: ByteTargetName;
  readonly corpus: readonly Uint8Array[];
  /** Feeds one input; throws FuzzViolation when an invariant does not hold. */
  run(input: Uint8Array): Outcome;
}

export const byteTargetNames = [
  'document-update',
  'snapshot-chunks',
  'sync-frame',
  'gossip-envelope',
] as const;
export type ByteTargetName = (typeof byteTargetNames)[number];

type ErrorClass = abstract new (...args: never[]) => Error;

/** Rethrows anything but the typed errors `allowed` as a violation. */
function expectTyped(err: unknown, allowed: readonly ErrorClass[], what: string): void {
  if (allowed.some((c) => err instanceof c)) return;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  throw new FuzzViolation('untyped-error', `${what} threw ${detail}`, { cause: err });
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** What a Document holds that a rejected input must leave alone: its digest and full snapshot. */
function stateOf(doc: Document): Uint8Array {
  return concat([encodeDigest(doc.digest()), ...doc.snapshot()]);
}

/**
 * The Document inputs are applied to. Every input meets the same state: after an input that was
 * accepted (and so may have changed it), the state is built afresh.
 */
class Harness {
  private doc: Document;
  private state: Uint8Array;

  private readonly build: () => Document;

  constructor(build: () => Document) {
    this.build = build;
    this.doc = build();
    this.state = stateOf(this.doc);
  }

  get document(): Document {
    return this.doc;
  }

  /** Applies one message: a typed error and no change, or a change that survives a snapshot. */
  apply(bytes: Uint8Array, onlyFrom?: string): { outcome: Outcome; complete: boolean } {
    let complete = false;
    try {
      const r = this.doc.apply(bytes, 'fuzz', onlyFrom !== undefined ? { onlyFrom } : undefined);
      complete = r.snapshotComplete === true;
    } catch (err) {
      expectTyped(err, [DecodeError], 'Document.apply');
      this.unchanged('a rejected message');
      return { outcome: 'rejected', complete };
    }
    this.state = this.checkedState();
    return { outcome: 'accepted', complete };
  }

  /** Throws unless the state is as before. */
  unchanged(after: string): void {
    if (!Buffer.from(stateOf(this.doc)).equals(this.state))
      throw new FuzzViolation('state-changed', `${after} changed the Document's digest or snapshot`);
  }

  /** The state after an accepted message; it must snapshot, and the snapshot must restore it. */
  private checkedState(): Uint8Array {
    let chunks: Uint8Array[];
    try {
      chunks = this.doc.snapshot({ maxChunkBytes: 4096 });
      const copy = newDocument('fuzz-restore');
      for (const c of chunks) copy.apply(c);
      if (!Buffer.from(encodeDigest(copy.digest())).equals(encodeDigest(this.doc.digest())))
        throw new FuzzViolation('restore', 'the snapshot of the new state restores another digest');
    } catch (err) {
      if (err instanceof FuzzViolation) throw err;
      throw new FuzzViolation(
        'accepted-state',
        `an accepted message left a state that does not snapshot and restore: ${String(err)}`,
        { cause: err },
      );
    }
    return stateOf(this.doc);
  }

  reset(): void {
    this.doc = this.build();
    this.state = stateOf(this.doc);
  }
}

/** Runs `fn` on the harness, and rebuilds the state afterwards if anything was accepted. */
function fresh(h: Harness, fn: () => Outcome): Outcome {
  let clean = false;
  try {
    const outcome = fn();
    clean = outcome === 'rejected';
    return outcome;
  } finally {
    // Also after a violation: the next input must not meet a state this one broke.
    if (!clean) h.reset();
  }
}

/** Several chunks as one input: each a varint length and its bytes. */
export function frameChunks(chunks: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(concat(chunks.flatMap((c) => [encodeVarint(BigInt(c.length)), c])));
}

/** Splits an input back into chunks; a damaged length takes the rest as one chunk. */
function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[at++] ?? 0;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80 && shift < 56 && at < bytes.length);
    const end = len > bytes.length - at ? bytes.length : at + len;
    chunks.push(bytes.subarray(at, end));
    at = end;
  }
  return chunks;
}

function documentUpdate(c: Corpus): ByteTarget {
  const h = new Harness(c.buildTarget);
  return {
    name: 'document-update',
    corpus: c.updates,
    run: (input) => fresh(h, () => h.apply(input).outcome),
  };
}

function snapshotChunks(c: Corpus): ByteTarget {
  const h = new Harness(c.buildTarget);
  return {
    name: 'snapshot-chunks',
    corpus: c.snapshots.map(frameChunks),
    // The chunks in order, as a peer sends them; the first rejected one ends the input.
    run: (input) =>
      fresh(h, () => {
        let outcome: Outcome = 'rejected';
        for (const chunk of splitChunks(input)) {
          if (h.apply(chunk).outcome === 'rejected') return outcome;
          outcome = 'accepted';
        }
        return outcome;
      }),
  };
}

function syncFrame(c: Corpus): ByteTarget {
  const h = new Harness(c.buildTarget);
  const frames = [
    ...c.digests.map((digest) => encodeSyncFrame({ kind: 'digest', document: DOC_NAME, digest })),
    ...c.updates.map((update) => encodeSyncFrame({ kind: 'update', document: DOC_NAME, update })),
    ...c.snapshots
      .flat()
      .map((chunk) => encodeSyncFrame({ kind: 'snapshot-chunk', document: DOC_NAME, chunk })),
    encodeSyncFrame({ kind: 'end' }),
  ];
  return {
    name: 'sync-frame',
    corpus: frames,
    run: (input) =>
      fresh(h, () => {
        let frame;
        try {
          frame = decodeSyncFrame(input);
        } catch (err) {
          expectTyped(err, [DecodeError], 'decodeSyncFrame');
          return 'rejected';
        }
        switch (frame.kind) {
          case 'end':
            return 'accepted';
          case 'digest': {
            let digest;
            try {
              digest = decodeDigest(frame.digest);
            } catch (err) {
              expectTyped(err, [DecodeError], 'decodeDigest');
              return 'rejected';
            }
            // What a responder does with a peer's digest; reading changes nothing.
            h.document.changesSince(digest);
            h.unchanged('answering a digest');
            return 'accepted';
          }
          case 'update':
            return h.apply(frame.update).outcome;
          case 'snapshot-chunk':
            return h.apply(frame.chunk).outcome;
        }
      }),
  };
}

async function gossipEnvelope(c: Corpus): Promise<ByteTarget> {
  const topic = documentTopic(DOC_NAME);
  const sender = createGossipEnvelope(c.author.peerId, c.author.key);
  const receiverId = await identity(9);
  const receiver = createGossipEnvelope(receiverId.peerId, receiverId.key);
  const h = new Harness(c.buildTarget);
  return {
    name: 'gossip-envelope',
    corpus: c.updates.flatMap((u) => [sender.seal(topic, u), sender.seal(topic, u, false)]),
    // The receive path: open the envelope, then apply its data only as events of its author.
    run: (input) =>
      fresh(h, () => {
        let opened;
        try {
          opened = receiver.open(topic, input);
        } catch (err) {
          expectTyped(err, [GossipEnvelopeError], 'GossipEnvelope.open');
          return 'rejected';
        }
        return h.apply(opened.data, opened.author).outcome;
      }),
  };
}

/** The byte targets, each with its corpus, checked to be accepted as it is. */
export async function byteTargets(names: readonly ByteTargetName[]): Promise<ByteTarget[]> {
  const c = await buildCorpus();
  const all: Record<ByteTargetName, () => Promise<ByteTarget>> = {
    'document-update': () => Promise.resolve(documentUpdate(c)),
    'snapshot-chunks': () => Promise.resolve(snapshotChunks(c)),
    'sync-frame': () => Promise.resolve(syncFrame(c)),
    'gossip-envelope': () => gossipEnvelope(c),
  };
  return Promise.all(names.map((n) => all[n]()));
}
