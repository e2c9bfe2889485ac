import type { Libp2p, Stream } from '@libp2p/interface';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAntiEntropy, ROUND_RETRY_FIRST_MS, ROUND_RETRY_MAX_MS } from '../src/anti-entropy.ts';

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

/** Just what anti-entropy uses of libp2p: peers, connections, sync streams and disconnect events. */
function fakeLibp2p() {
  const connected = new Set<string>([PEER]);
  const events = new EventTarget();
  const libp2p = {
    getPeers: () => [...connected].map((p) => ({ toString: () => p })),
    getConnections: () => [...connected].map((p) => ({ remotePeer: { toString: () => p } })),
    dialProtocol: () => Promise.resolve({} as Stream),
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
  } as unknown as Libp2p;
  const lose = (peer: string) => {
    connected.delete(peer);
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: { toString: () => peer } }));
  };
  return { libp2p, lose };
}

/** A round runner whose outcomes are scripted: `true` succeeds, `false` fails. Records start times. */
function scriptedRounds(outcomes: boolean[]) {
  const opened: number[] = [];
  const run = (_stream: Stream, _peer: string, initiator: boolean) => {
    if (initiator) opened.push(Date.now());
    const ok = outcomes.shift() ?? true;
    return ok ? Promise.resolve({ eventsApplied: 0 }) : Promise.reject(new Error('stream reset'));
  };
  return { run, opened };
}

const options = { intervalMs: 0, maxConcurrentRounds: 4, roundTimeoutMs: 60_000 };
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('anti-entropy', () => {
  afterEach(() => vi.useRealTimers());

  it('opens a failed round again, backing off while it keeps failing and from the start after a success', async () => {
    vi.useFakeTimers();
    const net = fakeLibp2p();
    const rounds = scriptedRounds([false, false, false, true, false, true]);
    const ae = createAntiEntropy(net.libp2p, rounds.run, options);
    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(rounds.opened).toHaveLength(4);
    // Each retry within ±25 % of its step: 500 ms, 1 s, 2 s; after the success none is pending.
    gaps(rounds.opened).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(ROUND_RETRY_FIRST_MS * 2 ** i * 0.75);
      expect(gap).toBeLessThanOrEqual(ROUND_RETRY_FIRST_MS * 2 ** i * 1.25);
    });

    // A new request fails, and is retried from the first step again.
    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(30_000);
    ae.stop();
    expect(rounds.opened).toHaveLength(6);
    const [, retried] = gaps(rounds.opened.slice(-3)) as [number, number];
    expect(retried).toBeLessThanOrEqual(ROUND_RETRY_FIRST_MS * 1.25);
  });

  it('keeps retrying a peer that always fails, at most once per longest step', async () => {
    vi.useFakeTimers();
    const net = fakeLibp2p();
    const rounds = scriptedRounds(Array.from({ length: 100 }, () => false));
    const ae = createAntiEntropy(net.libp2p, rounds.run, options);
    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(10 * ROUND_RETRY_MAX_MS);
    ae.stop();
    const late = gaps(rounds.opened).slice(-3);
    for (const gap of late) {
      expect(gap).toBeGreaterThanOrEqual(ROUND_RETRY_MAX_MS * 0.75);
      expect(gap).toBeLessThanOrEqual(ROUND_RETRY_MAX_MS * 1.25);
    }
  });

  it('serves a request at once though an older one is pending, and a round started between them does not skip it', async () => {
    vi.useFakeTimers();
    const net = fakeLibp2p();
    const rounds = scriptedRounds([true]);
    const ae = createAntiEntropy(net.libp2p, rounds.run, options);
    // An older request, due later (a retry's back-off, a spread's delay).
    ae.request(PEER, 10_000);
    await vi.advanceTimersByTimeAsync(100);
    // The peer opens a round; it started after the older request and serves it.
    await ae.respond({} as Stream, PEER);
    await vi.advanceTimersByTimeAsync(100);
    // A newer reason (the peer just subscribed to a Document): the round answered above started
    // before it, so it cannot stand in.
    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(100);
    expect(rounds.opened).toHaveLength(1);
    // Both requests were served by that one round.
    await vi.advanceTimersByTimeAsync(20_000);
    ae.stop();
    expect(rounds.opened).toHaveLength(1);
  });

  it('does not retry a peer that disconnected, nor one that opened a round itself meanwhile', async () => {
    vi.useFakeTimers();
    const net = fakeLibp2p();
    const rounds = scriptedRounds([false, true, false]);
    const ae = createAntiEntropy(net.libp2p, rounds.run, options);

    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(100);
    // The peer's own round, answered here, carries what the retry would have.
    await ae.respond({} as Stream, PEER);
    await vi.advanceTimersByTimeAsync(5000);
    expect(rounds.opened).toHaveLength(1);

    ae.request(PEER);
    await vi.advanceTimersByTimeAsync(100);
    expect(rounds.opened).toHaveLength(2);
    net.lose(PEER);
    await vi.advanceTimersByTimeAsync(5000);
    expect(rounds.opened).toHaveLength(2);
    ae.stop();
  });
});
