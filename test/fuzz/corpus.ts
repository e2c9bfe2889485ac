import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createDocument, encodeDigest, lww, mergeUpdates, type Document } from '@meshwork/core';

/** Every Document in the fuzzer runs on this clock, so the corpus is the same bytes in every run. */
const FIXED_NOW = 1_700_000_000_000;
const clock = (): number => FIXED_NOW;

export const DOC_NAME = 'fuzz';

type PrivateKey = Parameters<typeof peerIdFromPrivateKey>[0];
type PeerId = ReturnType<typeof peerIdFromPrivateKey>;

export interface Identity {
  readonly key: PrivateKey;
  readonly peerId: PeerId;
  readonly replica: string;
}

/** An Ed25519 identity from a fixed seed: the same peer id and signatures in every run. */
export async function identity(byte: number): Promise<Identity> {
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(byte));
  const peerId = peerIdFromPrivateKey(key);
  return { key, peerId, replica: peerId.toString() };
}

export const newDocument = (replica: string): Document => createDocument({ name: DOC_NAME, replica, clock });

/**
 * One transaction per step, touching every member type: ORSet, LWW and MV registers, counters,
 * bounded counter, ORMap of LWW registers, graph, time series and a Yjs document.
 */
function write(doc: Document, step: number): void {
  doc.transact(() => {
    switch (step % 9) {
      case 0:
        doc.orset<string>('agents').add(`agent-${step}`);
        if (step > 9) doc.orset<string>('agents').remove(`agent-${step - 9}`);
        break;
      case 1:
        doc.lww<string>('leader').set(`node-${step}`);
        doc.mvregister<number>('config').set(step);
        break;
      case 2:
        doc.gcounter('done').increment(step + 1);
        doc.pncounter('queue').increment(3);
        doc.pncounter('queue').decrement(1);
        break;
      case 3:
        doc.boundedCounter('gpu').increment(4);
        doc.boundedCounter('gpu').decrement(1);
        break;
      case 4: {
        const tasks = doc.ormap('tasks', lww());
        tasks.get(`task-${step}`).set({ state: 'pending', needs: ['gpu'], n: step });
        if (step > 9) tasks.delete(`task-${step - 9}`);
        break;
      }
      case 5: {
        const g = doc.graph('workflow');
        g.addVertex(`v${step}`, { kind: 'step' });
        if (g.hasVertex(`v${step - 9}`)) g.addEdge(`v${step - 9}`, `v${step}`, 'then', { weight: step });
        break;
      }
      case 6:
        doc.timeSeries('latency').append('claim', step * 1.5, FIXED_NOW + step);
        break;
      case 7: {
        const y = doc.ydoc('notes').doc;
        y.getText('text').insert(0, `line ${step}\n`);
        y.getMap('meta').set(`k${step}`, step);
        break;
      }
      case 8:
        doc.graph('workflow').setVertexAttr(`v${step - 3}`, 'done', true);
        doc.ydoc('notes').doc.getArray<number>('list').push([step]);
        break;
    }
  });
}

export interface Corpus {
  readonly author: Identity;
  /** Updates of `author`, one per event, and merged ones. */
  readonly updates: readonly Uint8Array[];
  /** Snapshots as lists of chunks (several chunk sizes, and Documents of one member type). */
  readonly snapshots: readonly (readonly Uint8Array[])[];
  /** Encoded digests: empty, partial, full. */
  readonly digests: readonly Uint8Array[];
  /** The state every input is applied to: half of the author's events, plus its own. */
  readonly buildTarget: () => Document;
}

const STEPS = 36;

export async function buildCorpus(): Promise<Corpus> {
  const author = await identity(7);
  const doc = newDocument(author.replica);
  const events: Uint8Array[] = [];
  doc.on('change', (e) => {
    if (e.local) events.push(e.update.slice());
  });
  for (let step = 0; step < STEPS; step++) write(doc, step);

  const half = events.slice(0, STEPS / 2);
  const buildTarget = (): Document => {
    const target = newDocument('fuzz-target');
    for (const u of half) target.apply(u);
    // Its own concurrent writes on the same members, so merges meet conflicts.
    for (let step = 100; step < 109; step++) write(target, step);
    return target;
  };

  const partial = buildTarget().digest();
  const updates = [
    ...events,
    mergeUpdates(events),
    ...[partial, newDocument('empty').digest()].flatMap((d) => {
      const c = doc.changesSince(d);
      return c.covered ? [c.update] : [];
    }),
  ].filter((u) => u.length > 0);

  // Replicas of their own: other events under the author's dots would be equivocation, refused.
  const single = (replica: string, member: (d: Document) => void): Document => {
    const d = newDocument(replica);
    member(d);
    return d;
  };
  const ydocOnly = single('fuzz-ydoc', (d) => d.ydoc('notes').doc.getText('t').insert(0, 'hello, world'));
  const seriesOnly = single('fuzz-series', (d) => d.timeSeries('latency').append('claim', 1.25, FIXED_NOW));
  const snapshots = [
    doc.snapshot({ maxChunkBytes: 1024 * 1024 }),
    doc.snapshot({ maxChunkBytes: 512 }),
    doc.snapshot({ maxChunkBytes: 128 }),
    newDocument('empty').snapshot(),
    ydocOnly.snapshot({ maxChunkBytes: 128 }),
    seriesOnly.snapshot(),
  ];
  const digests = [
    encodeDigest(newDocument('empty').digest()),
    encodeDigest(partial),
    encodeDigest(doc.digest()),
  ];
  return { author, updates, snapshots, digests, buildTarget };
}
