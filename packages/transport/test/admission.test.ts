import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwarmKey, type MeshLogger } from '../src/index.ts';
import { getKey, setKey, startNode, stopAll, waitFor, type TestNode } from './support/mesh.ts';

describe('redial', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('keeps dialling a bootstrap peer that is down until it comes up', async () => {
    const key = await generateKeyPair('Ed25519');
    const first = await startNode({ privateKey: key });
    const addr = first.multiaddrs[0]!;
    await first.stop();
    const b = await startNode({ bootstrap: [addr] });
    nodes.push(b);
    await new Promise((r) => setTimeout(r, 1000)); // several failed attempts
    expect(b.peers()).toEqual([]);
    const a = await startNode({ privateKey: key, listen: [addr.decapsulate('/p2p').toString()] });
    nodes.push(a);
    await waitFor('bootstrap reached', () => b.peers().includes(a.replica));
  });
});

describe('admission', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  it('a wrong pre-shared key gets no connection; the right one does', async () => {
    const key = createSwarmKey();
    const a = await startNode({ psk: key });
    const friend = await startNode({ psk: key });
    const stranger = await startNode({ psk: createSwarmKey() });
    const open = await startNode();
    nodes.push(a, friend, stranger, open);
    await friend.dial(a.multiaddrs[0]!);
    await expect(stranger.dial(a.multiaddrs[0]!)).rejects.toThrow();
    await expect(open.dial(a.multiaddrs[0]!)).rejects.toThrow();
    expect(a.peers()).toEqual([friend.replica]);
    setKey(friend.document('tasks'), 'k', 'v');
    const da = a.document('tasks');
    await waitFor('synced inside the private network', () => getKey(da, 'k') === 'v');
  });

  it('a peer not on the allow-list is refused after the handshake', async () => {
    const friendKey = await generateKeyPair('Ed25519');
    const friendId = peerIdFromPrivateKey(friendKey).toString();
    const a = await startNode({ allow: [friendId] });
    const friend = await startNode({ privateKey: friendKey });
    const stranger = await startNode();
    nodes.push(a, friend, stranger);
    await friend.dial(a.multiaddrs[0]!);
    // The stranger's own handshake may complete; a closes the connection once
    // Noise has shown who it is.
    await stranger.dial(a.multiaddrs[0]!).catch(() => undefined);
    await waitFor('denial counted', () => a.metrics.snapshot().connectionsRefused['allow-list'] > 0);
    await waitFor('stranger dropped', () => !stranger.peers().includes(a.replica));
    expect(a.peers()).toEqual([friend.replica]);
    // Outbound too: a does not even dial a peer off its list.
    await expect(a.dial(stranger.multiaddrs[0]!)).rejects.toThrow();
  });

  it('a denied peer is disconnected and refused until undenied', async () => {
    const a = await startNode();
    const b = await startNode();
    nodes.push(a, b);
    await b.dial(a.multiaddrs[0]!);
    await waitFor('connected', () => a.peers().includes(b.replica));
    await a.deny(b.replica);
    await waitFor('disconnected', () => !a.peers().includes(b.replica));
    await b.dial(a.multiaddrs[0]!).catch(() => undefined);
    await waitFor(
      'refused again',
      () => a.metrics.snapshot().connectionsRefused.denied > 0 && !b.peers().includes(a.replica),
    );
    a.undeny(b.replica);
    await waitFor('redialled', () => a.peers().includes(b.replica));
  });

  it('an allow-list replaced at run time closes the links it no longer admits, and lifting it lets them back', async () => {
    const a = await startNode();
    const b = await startNode();
    const c = await startNode();
    nodes.push(a, b, c);
    await b.dial(a.multiaddrs[0]!);
    await c.dial(a.multiaddrs[0]!);
    await waitFor('both connected', () => a.peers().length === 2);
    await a.setAllowList([b.replica]);
    expect(a.peers()).toEqual([b.replica]);
    // c keeps redialling; each attempt is refused once Noise has shown who it is.
    await waitFor('c refused', () => a.metrics.snapshot().connectionsRefused['allow-list'] > 0);
    expect(a.peers()).toEqual([b.replica]);
    // A malformed list changes nothing.
    await expect(a.setAllowList([b.replica, 'not-a-peer-id'])).rejects.toMatchObject({
      name: 'MeshConfigError',
      field: 'allow[1]',
    });
    await expect(a.setAllowList('everyone' as unknown as string[])).rejects.toMatchObject({ field: 'allow' });
    expect(a.peers()).toEqual([b.replica]);
    await a.setAllowList(undefined);
    await waitFor('c redialled', () => a.peers().includes(c.replica));
    expect(a.peers()).toContain(b.replica);
  });
});

describe('refused connections', () => {
  const nodes: TestNode[] = [];
  afterEach(() => stopAll(nodes.splice(0)));

  /** Keeps what a node logs. */
  const capture = (): MeshLogger & { lines: { fields: Record<string, unknown>; message: string }[] } => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    return { lines, warn: (fields, message) => void lines.push({ fields, message }) };
  };

  it('are counted by reason on the refusing node, and logged once per reason per interval', async () => {
    const key = createSwarmKey();
    const friendKey = await generateKeyPair('Ed25519');
    const logger = capture();
    const a = await startNode({
      psk: key,
      allow: [peerIdFromPrivateKey(friendKey).toString()],
      logger,
      refusalLogIntervalMs: 600_000,
    });
    const friend = await startNode({ psk: key, privateKey: friendKey });
    const wrongKey = await startNode({ psk: createSwarmKey() });
    const noKey = await startNode();
    const offList = await startNode({ psk: key });
    nodes.push(a, friend, wrongKey, noKey, offList);

    await friend.dial(a.multiaddrs[0]!);
    for (let i = 0; i < 3; i++) await expect(wrongKey.dial(a.multiaddrs[0]!)).rejects.toThrow();
    await expect(noKey.dial(a.multiaddrs[0]!)).rejects.toThrow();
    await offList.dial(a.multiaddrs[0]!).catch(() => undefined);
    await offList.dial(a.multiaddrs[0]!).catch(() => undefined);

    const refused = () => a.metrics.snapshot().connectionsRefused;
    // At least these; a peer that got through Noise may redial and be refused again.
    await waitFor('every refusal counted', () => refused().pnet >= 4 && refused()['allow-list'] >= 2);
    expect(refused().denied).toBe(0);
    expect(a.peers()).toEqual([friend.replica]);

    // One line per reason so far, with the details of the first refusal.
    const byReason = (reason: string) => logger.lines.filter((l) => l.fields['reason'] === reason);
    expect(logger.lines).toHaveLength(2);
    expect(byReason('pnet')[0]!.fields).toMatchObject({ direction: 'inbound' });
    expect(byReason('allow-list')[0]!.fields).toMatchObject({
      direction: 'inbound',
      peer: offList.replica,
    });

    // What the interval held back is written when the node stops: every refusal but the first.
    await a.stop();
    const total = refused();
    expect(byReason('pnet').map((l) => l.fields['suppressed'])).toEqual([undefined, total.pnet - 1]);
    expect(byReason('allow-list').map((l) => l.fields['suppressed'])).toEqual([
      undefined,
      total['allow-list'] - 1,
    ]);
  });
});
