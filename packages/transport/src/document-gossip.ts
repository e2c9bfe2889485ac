import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { openReceived, type GossipEnvelope } from './gossip-envelope.ts';
import type { MeshMetricsRecorder, RejectReason } from './metrics.ts';
import type { ApplyResult, DocumentChange, DocumentRuntime, SyncedDocument } from './synced-document.ts';

// The version changes with every wire-incompatible change (docs/design/transport-gossip.md). 2: the
// envelope's signature is length-prefixed (and may be empty); Document updates are of version 2.
export const documentTopic = (name: string): string => `meshwork/doc/3/${name}`;

/** A Document refusing an update for holding events of another replica than the signer. */
const isForeignOrigin = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'origin';

export interface DocumentGossipOptions {
  readonly pubsub: GossipSub;
  /** Signs what this node publishes and checks the author of what it receives. */
  readonly envelope: GossipEnvelope;
  readonly runtime: DocumentRuntime;
  readonly metrics: MeshMetricsRecorder;
  /** Largest gossip message published or accepted, in bytes. */
  readonly maxMessageBytes: number;
  /**
   * Least time between two gossip messages of this Document. The first local
   * event after a quiet spell goes out at once (with the events of the same
   * tick); events during a busy spell wait and go out together.
   */
  readonly batchMs: number;
  /** A batch is published as soon as it holds this many bytes. */
  readonly batchMaxBytes: number;
  /** A batch too large for gossip was left to anti-entropy. */
  readonly onDeferred: (document: string) => void;
  /** Whether every node is connected to every other (see mesh-shape.ts). */
  readonly fullMesh: () => boolean;
}

export interface DocumentGossip {
  readonly topic: string;
  /** Publishes what is batched now. */
  flush(): void;
  /** Flushes, then stops publishing and accepting messages for this Document. */
  close(): void;
}

/**
 * Eager push of one Document: local events are batched (Nagle-like: at once
 * when quiet, every `batchMs` when busy; bounded in bytes), merged into one
 * update and published, signed, on the
 * Document's topic. Received messages are validated — signed, within the size
 * cap, decodable, every event's origin the signer — applied, and only then
 * forwarded by gossipsub.
 */
export function startDocumentGossip(doc: SyncedDocument, o: DocumentGossipOptions): DocumentGossip {
  const topic = documentTopic(doc.name);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let lastFlush = -Infinity;

  const reject = (peer: PeerId, reason: RejectReason, detail: string): TopicValidatorResult => {
    o.metrics.record({ type: 'rejected', protocol: 'gossip', reason, peer: peer.toString(), detail });
    return TopicValidatorResult.Reject;
  };

  const validate = (from: PeerId, msg: Message): TopicValidatorResult => {
    const bytes = msg.data.byteLength;
    const peer = from.toString();
    o.metrics.record({ type: 'message', direction: 'in', protocol: 'gossip', bytes, peer });
    const opened = openReceived(o.envelope, topic, msg.data, o.maxMessageBytes, peer);
    if ('reason' in opened) return reject(from, opened.reason, `${topic}: ${opened.detail}`);
    const { author: signer, data } = opened;
    let result: ApplyResult;
    try {
      result = doc.apply(data, { via: 'gossip', peer: signer }, { onlyFrom: signer });
    } catch (err) {
      return isForeignOrigin(err)
        ? reject(from, 'forged-origin', `${topic}: ${String(err)} signed by ${signer}`)
        : reject(from, 'malformed', `${topic}: ${String(err)}`);
    }
    if (result.events > 0 || result.duplicates > 0) {
      o.metrics.record({
        type: 'applied',
        document: doc.name,
        via: 'gossip',
        peer: signer,
        events: result.events,
        duplicates: result.duplicates,
      });
    }
    // Unsigned (see flush): nobody but its author can vouch for it, so it goes no further. Signed,
    // straight from its author in a full mesh: every other node had it from the author too, so
    // forwarding would only send each of them a duplicate. Ignore is gossipsub's "valid, but do
    // not forward" (no penalty for the sender); the message is already applied.
    if (!opened.signed || (peer === signer && o.fullMesh())) {
      o.metrics.record({ type: 'unforwarded', document: doc.name, signed: opened.signed });
      return TopicValidatorResult.Ignore;
    }
    return TopicValidatorResult.Accept;
  };

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    scheduled = false;
    if (pending.length === 0) return;
    lastFlush = performance.now();
    const batch = pending.length === 1 ? (pending[0] as Uint8Array) : o.runtime.mergeUpdates(pending);
    pending = [];
    pendingBytes = 0;
    if (batch.byteLength > o.maxMessageBytes) {
      o.metrics.record({ type: 'deferred', document: doc.name, bytes: batch.byteLength });
      o.onDeferred(doc.name);
      return;
    }
    o.metrics.record({ type: 'message', direction: 'out', protocol: 'gossip', bytes: batch.byteLength });
    // In a full mesh every reader gets this straight from this node, over a connection that already
    // authenticates it: the signature, which lets relays vouch for the author, is left out.
    // Failures (no peers yet, stopping) are covered by anti-entropy.
    o.pubsub.publish(topic, o.envelope.seal(topic, batch, !o.fullMesh())).catch(() => undefined);
  };

  const onChange = (change: DocumentChange): void => {
    if (!change.local) return; // Remote events travel on from their origin, not from us.
    pending.push(change.update);
    pendingBytes += change.update.byteLength;
    if (pendingBytes >= o.batchMaxBytes) return flush();
    if (scheduled) return;
    scheduled = true;
    const wait = lastFlush + o.batchMs - performance.now();
    if (wait > 0) timer = setTimeout(flush, wait);
    else queueMicrotask(flush);
  };

  o.pubsub.topicValidators.set(topic, validate);
  o.pubsub.subscribe(topic);
  doc.on('change', onChange);

  return {
    topic,
    flush,
    close() {
      flush();
      doc.off('change', onChange);
      o.pubsub.unsubscribe(topic);
      o.pubsub.topicValidators.delete(topic);
    },
  };
}
