import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../../../test/sim/scheduler.ts';
import { decodeFrame, encodeFrame } from '../../src/membership/frames.ts';
import { versionHash, type MemberRecord, type VersionHash } from '../../src/membership/member-record.ts';
import {
  createMembership,
  type Membership,
  type MembershipOptions,
  type MembershipRejectReason,
} from '../../src/index.ts';

const limits = { maxBytes: 1 << 22, maxRecords: 500, maxVersions: 10_000 };

/**
 * Nodes linked as `edges` say, frames delivered after 2 ms unless a link is cut. Counts frames
 * by kind, and the records sent. A node may stall, as an
 * event loop does: its timers and the frames sent to it wait until the stall ends, and then the
 * timers run first, as Node runs timers before it reads sockets.
 */
function mesh(n: number, edges: [number, number][], extra: Partial<MembershipOptions> = {}) {
  const sched = createScheduler();
  const time = sched.nodeClock(0);
  const stalledUntil = new Map<string, number>();
  /** Runs `fn` on node `id`'s event loop: now, or once its stall ends (frames after timers). */
  const onLoop = (id: string, what: 'timer' | 'frame', fn: () => void) => {
    let cancelled = false;
    const run = () => {
      if (cancelled) return;
      const wait = (stalledUntil.get(id) ?? 0) - time.now();
      if (wait > 0) time.setTimer(run, wait + (what === 'frame' ? 0.5 : 0));
      else fn();
    };
    return { run, cancel: () => void (cancelled = true) };
  };
  const timersOf = (id: string) => ({
    now: () => time.now(),
    setTimer(fn: () => void, ms: number) {
      const t = onLoop(id, 'timer', fn);
      const cancel = time.setTimer(t.run, ms);
      return () => {
        t.cancel();
        cancel();
      };
    },
  });
  /** Links closed for silence, as `from>to`, and how long each had been silent. */
  const closed: string[] = [];
  const silentFor: number[] = [];
  const ids = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`);
  const nodes = new Map<string, Membership>();
  const cut = new Set<string>();
  const down = new Set<string>();
  const frames = { heartbeat: 0, records: 0, summary: 0, answer: 0 };
  /** Every heartbeat sent: its sender and when. */
  const beats: [string, number][] = [];
  /** Member records sent, in record frames. */
  let recordsSent = 0;
  /** Record frames sent over each link, by `from>to`. */
  const recordsOn = new Map<string, number>();
  const rejects: [string, MembershipRejectReason][] = [];
  const linkKey = (a: string, b: string) => `${a}>${b}`;
  const neighbours = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  for (const [a, b] of edges) {
    neighbours.get(ids[a]!)!.add(ids[b]!);
    neighbours.get(ids[b]!)!.add(ids[a]!);
  }

  const start = (id: string): Membership => {
    const m = createMembership({
      self: id,
      timers: timersOf(id),
      links: {
        send(peer, frame) {
          if (down.has(id)) return;
          const decoded = decodeFrame(frame, limits);
          frames[decoded.kind]++;
          if (decoded.kind === 'heartbeat') beats.push([id, time.now()]);
          if ((decoded.kind === 'records' || decoded.kind === 'answer') && decoded.records.length > 0) {
            recordsOn.set(linkKey(id, peer), (recordsOn.get(linkKey(id, peer)) ?? 0) + 1);
            recordsSent += decoded.records.length;
          }
          const deliver = onLoop(peer, 'frame', () => {
            if (!down.has(peer) && !cut.has(linkKey(id, peer))) nodes.get(peer)?.receive(id, frame);
          });
          time.setTimer(deliver.run, 2);
        },
        close(peer, silentMs) {
          closed.push(linkKey(id, peer));
          silentFor.push(silentMs);
          neighbours.get(id)!.delete(peer);
          neighbours.get(peer)!.delete(id);
          m.linkDown(peer);
          nodes.get(peer)?.linkDown(id);
        },
      },
      onReject: (peer, reason) => rejects.push([peer, reason]),
      ...extra,
    });
    nodes.set(id, m);
    down.delete(id);
    for (const p of neighbours.get(id)!)
      if (!down.has(p) && nodes.has(p)) {
        m.linkUp(p);
        nodes.get(p)!.linkUp(id);
      }
    return m;
  };
  for (const id of ids) start(id);

  return {
    advance: (ms: number) => sched.run(sched.now() + ms),
    ids,
    frames,
    beats,
    recordsSent: () => recordsSent,
    rejects,
    closed,
    silentFor,
    /** Node i's event loop stalls for `ms` from now. */
    stall: (i: number, ms: number) => void stalledUntil.set(ids[i]!, time.now() + ms),
    node: (i: number) => nodes.get(ids[i]!)!,
    /**
     * The process dies. `closed`: its neighbours see its connections reset (a crash on a live
     * host); `silent`: they hear nothing more (the host died, or a cable was cut).
     */
    kill(i: number, how: 'closed' | 'silent') {
      const id = ids[i]!;
      nodes.get(id)!.stop();
      down.add(id);
      if (how === 'closed') for (const p of neighbours.get(id)!) if (!down.has(p)) nodes.get(p)!.linkDown(id);
    },
    restart: (i: number) => start(ids[i]!),
    /** A new link between two running nodes. */
    link(a: number, b: number) {
      neighbours.get(ids[a]!)!.add(ids[b]!);
      neighbours.get(ids[b]!)!.add(ids[a]!);
      nodes.get(ids[a]!)!.linkUp(ids[b]!);
      nodes.get(ids[b]!)!.linkUp(ids[a]!);
    },
    /** Record frames sent from a to b so far. */
    recordsOn: (a: number, b: number) => recordsOn.get(linkKey(ids[a]!, ids[b]!)) ?? 0,
    /** Frames between a and b are lost both ways; the links stay up, as in a partition. */
    sever(a: number, b: number) {
      cut.add(linkKey(ids[a]!, ids[b]!));
      cut.add(linkKey(ids[b]!, ids[a]!));
    },
    heal: () => cut.clear(),
    /** Frames from a to b are lost, not the other way. */
    cutOneWay: (a: number, b: number) => cut.add(linkKey(ids[a]!, ids[b]!)),
    /** What node i believes of every node. */
    view: (i: number) => ids.map((id) => nodes.get(ids[i]!)!.status(id)),
    up: () => ids.map((_, i) => i).filter((i) => !down.has(ids[i]!)),
  };
}

/** A ring with chords: connected, every node of degree 4, diameter about n/8. */
function ringWithChords(n: number): [number, number][] {
  const edges: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    edges.push([i, (i + 1) % n]);
    edges.push([i, (i + Math.floor(n / 4) + 1) % n]);
  }
  return edges;
}

/** Node `a` on its own, every frame it sends kept in `sent`. */
function recordingNode(reliableLinks: boolean) {
  const sched = createScheduler();
  const time = sched.nodeClock(0);
  const sent: Uint8Array[] = [];
  const links = { send: (_p: string, f: Uint8Array) => void sent.push(f) };
  return { sched, time, sent, a: createMembership({ self: 'a', timers: time, links, reliableLinks }) };
}

const line = (n: number): [number, number][] => Array.from({ length: n - 1 }, (_, i) => [i, i + 1]);

describe('membership', () => {
  it('every node learns every node over a sparse multi-hop mesh', async () => {
    const m = mesh(40, ringWithChords(40));
    await m.advance(1000);
    for (const i of m.up()) expect(m.view(i).every((s) => s === 'alive')).toBe(true);
  });

  it('costs each node a heartbeat per link per interval once converged, whatever the size', async () => {
    const idle = async (n: number) => {
      const m = mesh(n, ringWithChords(n));
      await m.advance(5000);
      const before = { ...m.frames };
      await m.advance(10_000);
      return {
        heartbeatsPerNodePerS: (m.frames.heartbeat - before.heartbeat) / n / 10,
        records: m.frames.records - before.records,
        summaries: m.frames.summary - before.summary,
      };
    };
    const small = await idle(16);
    const large = await idle(128);
    // Degree 4, a heartbeat each way every 500 ms: 8 a second, and nothing else.
    expect(small).toEqual({ heartbeatsPerNodePerS: 8, records: 0, summaries: 0 });
    expect(large).toEqual(small);
  });

  it('spreads a state change to every node, once per link, and nothing for an unchanged state', async () => {
    const m = mesh(30, ringWithChords(30));
    await m.advance(2000);
    const seen: unknown[] = [];
    m.node(17).on('presence', (peer, state) => peer === m.ids[3] && seen.push(state));
    const before = m.frames.records;
    m.node(3).publish({ wants: { gpu: 1 } });
    await m.advance(500);
    expect(seen).toEqual([{ wants: { gpu: 1 } }]);
    // Each node forwards a record it did not have to its other links: at most one per link-direction.
    expect(m.frames.records - before).toBeLessThanOrEqual(30 * 4);
    const after = m.frames.records;
    m.node(3).publish({ wants: { gpu: 1 } });
    await m.advance(500);
    expect(m.frames.records).toBe(after);
  });

  it('sends no records over a new link between nodes whose tables agree, and every record to a newcomer', async () => {
    const m = mesh(12, ringWithChords(12));
    await m.advance(2000);
    // 0 and 6 are not linked in this ring; their tables agree.
    m.link(0, 6);
    // Within the announce delay (50 ms), before either announces its new link.
    await m.advance(20);
    expect([m.recordsOn(0, 6), m.recordsOn(6, 0)]).toEqual([0, 0]);
    await m.advance(1000);
    expect(m.node(6).record(m.ids[0]!)!.links).toContain(m.ids[6]);

    // A restarted node's table holds only itself: its first link brings it the others at once.
    m.kill(3, 'closed');
    await m.advance(2000);
    m.restart(3);
    await m.advance(20);
    expect(m.recordsOn(2, 3) + m.recordsOn(4, 3)).toBeGreaterThan(0);
    await m.advance(500);
    expect(m.view(3).every((s) => s === 'alive')).toBe(true);
  });

  it('forwards a record to no neighbour that sent it the same version first', async () => {
    const m = mesh(30, ringWithChords(30));
    await m.advance(2000);
    const before = m.frames.records;
    m.node(3).publish({ wants: { gpu: 1 } });
    await m.advance(500);
    for (const i of m.up()) expect(m.node(i).record(m.ids[3]!)!.state).toEqual({ wants: { gpu: 1 } });
    // Forwarding on every link but the one it came by sends 4 + 29 × 3 = 91 frames; a neighbour
    // whose copy arrives within the forwarding delay (10 ms, links here take 2 ms) is skipped.
    expect(m.frames.records - before).toBeLessThan(91);
  });

  it('a node whose connections close is unreachable everywhere once its neighbours drop it', async () => {
    const m = mesh(20, ringWithChords(20));
    await m.advance(2000);
    const gone: string[] = [];
    m.node(10).on('presence', (peer, state) => state === null && gone.push(peer));
    m.kill(4, 'closed');
    await m.advance(200);
    for (const i of m.up()) expect(m.node(i).status(m.ids[4]!)).toBe('unreachable');
    for (const i of m.up()) expect(m.view(i).filter((s) => s === 'alive')).toHaveLength(19);
    expect(gone).toEqual([m.ids[4]]);
  });

  it('announces a closed connection at once, not after the announce delay, which stays for a burst', async () => {
    // A long delay, so that waiting on it cannot pass for announcing at once: its neighbours'
    // records, and with them node 4's loss, reach every node in a few hops of 12 ms.
    const m = mesh(20, ringWithChords(20), { announceDelayMs: 500 });
    await m.advance(5000);
    const neighbour = m.up().find((i) => m.node(i).neighbours().has(m.ids[4]!))!;
    m.kill(4, 'closed');
    await m.advance(150);
    for (const i of m.up()) expect(m.node(i).status(m.ids[4]!)).toBe('unreachable');
    // A neighbour of 4 announced its loss 150 ms ago: a second closed connection waits for the delay.
    const [other] = [...m.node(neighbour).neighbours()];
    const before = m.node(neighbour).record(m.ids[neighbour]!)!.links;
    m.node(neighbour).linkDown(other!);
    expect(m.node(neighbour).record(m.ids[neighbour]!)!.links).toEqual(before);
    await m.advance(500);
    expect(m.node(neighbour).record(m.ids[neighbour]!)!.links).not.toContain(other);
  });

  it('drops a silent neighbour by phi-accrual when no connection closes', async () => {
    const m = mesh(12, ringWithChords(12));
    await m.advance(3000);
    m.kill(5, 'silent');
    await m.advance(600);
    expect(m.node(0).status(m.ids[5]!)).toBe('alive');
    await m.advance(2000);
    for (const i of m.up()) expect(m.node(i).status(m.ids[5]!)).toBe('unreachable');
  });

  it('finds a silent neighbour within a check of phi crossing its threshold, however long the heartbeat interval', async () => {
    // Heartbeats every 2 s: phi (threshold 8, 300 ms pause, 100 ms least deviation) crosses about
    // 2.82 s after the last one, the records of the first seconds being no samples. Judged every
    // 250 ms, a kill anywhere in the interval is seen everywhere within that, a check, the 50 ms
    // announce delay and a few hops; judged at each heartbeat, up to 1.75 s later.
    const foundAfter = async (offsetMs: number) => {
      const m = mesh(12, ringWithChords(12), { probeIntervalMs: 2000, checkIntervalMs: 250 });
      await m.advance(30_000 + offsetMs);
      m.kill(5, 'silent');
      for (let t = 0; t <= 10_000; t += 10) {
        if (m.up().every((i) => m.node(i).status(m.ids[5]!) === 'unreachable')) return t;
        await m.advance(10);
      }
      return Infinity;
    };
    const found: number[] = [];
    for (let offset = 0; offset < 2000; offset += 250) found.push(await foundAfter(offset));
    expect(Math.max(...found)).toBeLessThanOrEqual(2820 + 250 + 50 + 100);
  });

  it('heartbeats at the same instants of the clock as every other node, whenever it started', async () => {
    const m = mesh(12, ringWithChords(12));
    await m.advance(5000);
    m.kill(3, 'closed');
    await m.advance(2345);
    m.restart(3);
    await m.advance(5000);
    const restarted = m.beats.filter(([id, at]) => id === m.ids[3] && at > 7345);
    expect(restarted.length).toBeGreaterThan(0);
    // The default heartbeat interval, 500 ms, from the clock's zero.
    expect(restarted.filter(([, at]) => at % 500 !== 0)).toEqual([]);
  });

  it('closes a link that stays silent, and no other', async () => {
    const m = mesh(12, ringWithChords(12));
    await m.advance(3000);
    m.kill(5, 'silent');
    await m.advance(5000);
    expect(m.closed).toEqual([]);
    await m.advance(8000);
    // Each of its four neighbours closed its link to it, once, and told how long it had been
    // silent: past the default 10 s, by at most a heartbeat interval and a check.
    expect(m.closed.sort()).toEqual([1, 4, 6, 9].map((i) => `${m.ids[i]}>${m.ids[5]}`));
    for (const ms of m.silentFor) expect(ms).toBeGreaterThan(10_000);
    for (const ms of m.silentFor) expect(ms).toBeLessThanOrEqual(10_000 + 500 + 250);
  });

  /** Every time a node was told another one had gone, as `observer>gone`. */
  const goneEvents = (m: ReturnType<typeof mesh>) => {
    const gone: string[] = [];
    for (const i of m.up())
      m.node(i).on('presence', (peer, state) => state === null && gone.push(`${i}>${peer}`));
    return gone;
  };

  it('tells how late its own ticks ran over the last 10 s', async () => {
    const m = mesh(3, ringWithChords(3));
    await m.advance(20_000);
    expect(m.node(1).lagMs()).toBe(0);
    m.stall(1, 3000);
    await m.advance(3500);
    // Its first tick after the stall was due as it began, or up to a check interval after.
    expect(m.node(1).lagMs()).toBeGreaterThanOrEqual(3000 - 250);
    expect(m.node(1).lagMs()).toBeLessThanOrEqual(3000);
    expect(m.node(0).lagMs()).toBe(0);
    await m.advance(10_000);
    expect(m.node(1).lagMs()).toBe(0);
    // Capped at maxLagMs (8 s by default).
    m.stall(1, 20_000);
    await m.advance(21_000);
    expect(m.node(1).lagMs()).toBe(8000);
  });

  it('does not close links for heartbeats it has not read while its own event loop stalled', async () => {
    const m = mesh(8, ringWithChords(8), { closeSilentLinkMs: 3000 });
    await m.advance(60_000);
    // A first stall, which its neighbours now allow for (see the next test); then a longer one.
    m.stall(3, 2000);
    await m.advance(4000);
    m.stall(3, 4000);
    await m.advance(6000);
    expect(m.closed).toEqual([]);
    expect(m.node(3).neighbours().size).toBe(4);
    for (const i of m.up()) expect(m.view(i).every((s) => s === 'alive')).toBe(true);
  });

  it('keeps its links to a neighbour that announced it stalls, while its stalls grow', async () => {
    const m = mesh(8, ringWithChords(8));
    // Long enough for phi's window to hold regular heartbeats, not the first exchanges.
    await m.advance(60_000);
    const gone = goneEvents(m);
    // The first stall is news to its neighbours: they drop their links to it and take them back.
    m.stall(3, 2000);
    await m.advance(4000);
    const firstStall = gone.length;
    expect(firstStall).toBeGreaterThan(0);
    for (const ms of [3500, 5000]) {
      m.stall(3, ms);
      await m.advance(ms + 1000);
    }
    expect(gone.length).toBe(firstStall);
    for (const i of m.up()) expect(m.view(i).every((s) => s === 'alive')).toBe(true);
  });

  it('keeps a node reachable while one of its links fails, over its other links', async () => {
    const m = mesh(3, [
      [0, 1],
      [1, 2],
      [0, 2],
    ]);
    await m.advance(3000);
    m.cutOneWay(1, 0);
    const statuses = new Set<string | undefined>();
    for (let t = 0; t < 6000; t += 50) {
      await m.advance(50);
      for (const i of [0, 2]) statuses.add(m.node(i).status(m.ids[1]!));
    }
    expect([...statuses]).toEqual(['alive']);
    // 0 no longer lists 1 among its live links.
    expect(m.node(2).record(m.ids[0]!)!.links).toEqual([m.ids[2]]);
  });

  it('tells each side of a partition that the nodes beyond the cut are unreachable, however far', async () => {
    const m = mesh(10, line(10));
    await m.advance(2000);
    m.sever(4, 5);
    await m.advance(3000);
    expect(m.view(0)).toEqual([...Array<string>(5).fill('alive'), ...Array<string>(5).fill('unreachable')]);
    expect(m.view(9)).toEqual([...Array<string>(5).fill('unreachable'), ...Array<string>(5).fill('alive')]);
    m.heal();
    await m.advance(1000);
    for (const i of m.up()) expect(m.view(i).every((s) => s === 'alive')).toBe(true);
  });

  it('a restarted node supersedes the record of its previous run', async () => {
    const m = mesh(8, ringWithChords(8));
    await m.advance(2000);
    m.kill(2, 'closed');
    await m.advance(3000);
    expect(m.node(6).status(m.ids[2]!)).toBe('unreachable');
    m.restart(2);
    await m.advance(1000);
    for (const i of m.up()) expect(m.view(i).every((s) => s === 'alive')).toBe(true);
  });

  it('repairs records lost in flight by comparing digests in the heartbeats', async () => {
    const m = mesh(6, line(6), { syncIntervalMs: 2000 });
    await m.advance(2000);
    // The change is lost on the link 2–3; nodes past it learn it once the digests in the
    // heartbeats differ: 3 sends 2 its summary, and 2 answers with the one record 3 lacks.
    m.sever(2, 3);
    m.node(0).publish({ wants: { cpu: 2 } });
    await m.advance(100);
    m.heal();
    expect(m.node(5).record(m.ids[0]!)!.state).toEqual({});
    const before = m.recordsSent();
    await m.advance(4000);
    expect(m.node(5).record(m.ids[0]!)!.state).toEqual({ wants: { cpu: 2 } });
    expect(m.frames.summary).toBeGreaterThan(0);
    // The record once over 2–3, 3–4 and 4–5 each, and back once at most: no table of 6 goes.
    expect(m.recordsSent() - before).toBeLessThanOrEqual(6);
  });

  it('repairs a lost record while the tables keep changing', async () => {
    const m = mesh(4, line(4));
    await m.advance(2000);
    m.sever(1, 2);
    m.node(0).publish({ wants: { cpu: 2 } });
    await m.advance(100);
    m.heal();
    // Node 3 changes its state every 50 ms: the tables of nodes 1 and 2, which it reaches through
    // node 2, never stay the same for the 100 ms a change is given to arrive.
    for (let i = 0; i < 60; i++) {
      m.node(3).publish({ wants: { cpu: 1 + (i % 2) }, beat: i });
      await m.advance(50);
    }
    expect(m.node(2).record(m.ids[0]!)!.state).toEqual({ wants: { cpu: 2 } });
    expect(m.node(3).record(m.ids[0]!)!.state).toEqual({ wants: { cpu: 2 } });
  });

  it('asks again at its next tick when the answer to its summary is lost, not at the next heartbeat', async () => {
    const m = mesh(2, line(2));
    await m.advance(2000);
    m.sever(0, 1);
    m.node(0).publish({ wants: { cpu: 2 } });
    await m.advance(400);
    m.heal();
    // Heartbeats go at 2,500 (frames take 2 ms): node 1 finds the digests differ and sends its
    // summary, whose answer, leaving node 0 at 2,504, is lost.
    await m.advance(2503 - 2400);
    m.cutOneWay(0, 1);
    await m.advance(5);
    m.heal();
    expect(m.node(1).record(m.ids[0]!)!.state).toEqual({});
    // The next heartbeat is at 3,000; the next tick at 2,750.
    await m.advance(2900 - 2508);
    expect(m.node(1).record(m.ids[0]!)!.state).toEqual({ wants: { cpu: 2 } });
  });

  it('asks again when the answer to its summary is lost and a rumour from the same neighbour comes instead', async () => {
    const m = mesh(4, [
      [0, 1],
      [0, 3],
    ]);
    // Node 3 is down from the start: node 1 has never heard of it.
    m.kill(3, 'closed');
    await m.advance(2000);
    // Node 3 comes up behind node 0; its record and node 0's new one are lost on the way to node 1.
    m.sever(0, 1);
    m.restart(3);
    await m.advance(400);
    m.heal();
    // At 2,500 the digests differ and both send summaries. Node 0's answer, leaving at 2,504
    // with both records, is lost. Node 1's answer holds node 0's old record, so node 0 sends its
    // newer one back: node 1 gets a frame of records from node 0, but not node 3's.
    await m.advance(2505 - 2400);
    m.cutOneWay(0, 1);
    await m.advance(2);
    m.heal();
    await m.advance(2540 - 2507);
    expect(m.node(1).record(m.ids[0]!)!.links).toContain(m.ids[3]);
    expect(m.node(1).record(m.ids[3]!)).toBeUndefined();
    // That frame is no answer: the summary goes again at the tick at 2,750, not at the next
    // heartbeat's mismatch (3,000).
    await m.advance(2900 - 2540);
    expect(m.node(1).status(m.ids[3]!)).toBe('alive');
  });

  it('answers summaries with the records they lack, at most once per quarter sync interval less an eighth heartbeat', async () => {
    const sched = createScheduler();
    const time = sched.nodeClock(0);
    const sent: Uint8Array[] = [];
    const a = createMembership({ self: 'a', timers: time, links: { send: (_p, f) => void sent.push(f) } });
    const records = (frame: Uint8Array) => {
      const f = decodeFrame(frame, limits);
      return f.kind === 'answer' ? f.records.map((r) => r.node) : [];
    };
    a.linkUp('b');
    const b = createMembership({ self: 'b', timers: time, links: { send: (_p, f) => a.receive('b', f) } });
    b.linkUp('a');
    await sched.run(200);
    expect(a.status('b')).toBe('alive');
    sent.length = 0;
    const summary = (versions: VersionHash[]) => encodeFrame({ kind: 'summary', versions });
    // An empty summary asks for everything; one that lists a's version, for b's record only.
    a.receive('b', summary([]));
    expect(sent.flatMap(records).sort()).toEqual(['a', 'b']);
    // Within the answer gap (187.5 ms with a 1 s sync interval and 500 ms heartbeats), a flood of
    // summaries gets no more answers; the first one past it does.
    for (let i = 0; i < 50; i++) a.receive('b', summary([]));
    await sched.run(sched.now() + 150);
    a.receive('b', summary([]));
    expect(sent.flatMap(records)).toHaveLength(2);
    await sched.run(sched.now() + 40);
    a.receive('b', summary([]));
    expect(sent.flatMap(records)).toHaveLength(4);
    await sched.run(800);
    sent.length = 0;
    a.receive('b', summary([versionHash(a.record('a')!)]));
    expect(sent.flatMap(records)).toEqual(['b']);

    // A summary over a link that opened before a's own link to its sender: answered once it opens.
    sent.length = 0;
    a.receive('c', summary([]));
    expect(sent.flatMap(records)).toEqual([]);
    a.linkUp('c');
    expect(sent.flatMap(records).sort()).toEqual(['a', 'b']);
  });

  it('over reliable links, leaves out of an answer what it sent the asker as a rumour over its link', async () => {
    const answered = async (reliableLinks: boolean) => {
      const { sched, time, sent, a } = recordingNode(reliableLinks);
      const b = createMembership({ self: 'b', timers: time, links: { send: (_p, f) => a.receive('b', f) } });
      a.linkUp('b');
      b.linkUp('a');
      await sched.run(1000);
      const ask = () => {
        sent.length = 0;
        a.receive('b', encodeFrame({ kind: 'summary', versions: [] }));
        return sent.flatMap((frame) => {
          const f = decodeFrame(frame, limits);
          return f.kind === 'answer' ? f.records.map((r) => r.node).sort() : [];
        });
      };
      // a's new record goes to b as a rumour 10 ms after the change; b's summary lacks it, as
      // one sent before the rumour arrived does while a change floods the mesh.
      a.publish({ wants: { cpu: 2 } });
      await sched.run(1020);
      const crossing = ask();
      await sched.run(3000);
      const later = ask();
      // A change whose rumour is still queued when the summary comes: it goes in the answer, and
      // over reliable links not again as a rumour.
      await sched.run(3300);
      a.publish({ wants: { cpu: 3 } });
      const queued = ask();
      await sched.run(3400);
      const rumoured = sent.filter((frame) => decodeFrame(frame, limits).kind === 'records').length;
      // A new link to b replaces the old one (another connection), or the link goes down and
      // comes up again: what went over the old one may be lost.
      a.linkUp('b');
      const reopened = ask();
      a.linkDown('b');
      a.linkUp('b');
      return { crossing, later, queued, rumoured, reopened, relinked: ask() };
    };
    expect(await answered(true)).toEqual({
      crossing: ['b'],
      later: ['b'],
      queued: ['a', 'b'],
      rumoured: 0,
      reopened: ['a', 'b'],
      relinked: ['a', 'b'],
    });
    // Links that may lose frames: everything the summary lacks, and the rumour as well.
    const all = ['a', 'b'];
    expect(await answered(false)).toEqual({
      crossing: all,
      later: all,
      queued: all,
      rumoured: 1,
      reopened: all,
      relinked: all,
    });
  });

  it('over reliable links, sends its newer version back for an older one in an answer, not in a rumour', async () => {
    const backFor = async (reliableLinks: boolean) => {
      const { sched, sent, a } = recordingNode(reliableLinks);
      a.linkUp('b');
      const c = (incarnation: number): MemberRecord => ({
        node: 'c',
        incarnation,
        status: 'alive',
        state: {},
        links: [],
        at: 0,
        proof: new Uint8Array(0),
      });
      // a takes in c's record from another neighbour, and forwards it to b.
      a.receive('d', encodeFrame({ kind: 'records', records: [c(2)] }));
      await sched.run(100);
      const sentOfC = () => {
        const versions = sent.flatMap((frame) => {
          const f = decodeFrame(frame, limits);
          return f.kind === 'records'
            ? f.records.filter((r) => r.node === 'c').map((r) => r.incarnation)
            : [];
        });
        sent.length = 0;
        return versions;
      };
      expect(sentOfC()).toEqual([2]);
      // b forwards c's older version, which it had before a's arrived.
      a.receive('b', encodeFrame({ kind: 'records', records: [c(1)] }));
      await sched.run(200);
      const rumour = sentOfC();
      // b answers a summary with it: b holds the older one.
      a.receive('b', encodeFrame({ kind: 'answer', records: [c(1)] }));
      await sched.run(300);
      return { rumour, answer: sentOfC() };
    };
    expect(await backFor(true)).toEqual({ rumour: [], answer: [2] });
    expect(await backFor(false)).toEqual({ rumour: [2], answer: [2] });
  });

  it('says goodbye: a node that leaves is `left` everywhere at once', async () => {
    const m = mesh(6, line(6));
    await m.advance(2000);
    m.node(0).leave();
    await m.advance(100);
    for (const i of [1, 2, 3, 4, 5]) expect(m.node(i).status(m.ids[0]!)).toBe('left');
  });

  it('refuses malformed frames, forged alive records and more members than allowed', async () => {
    const sched = createScheduler();
    const time = sched.nodeClock(0);
    const rejects: [string, MembershipRejectReason][] = [];
    const sign = (claim: Uint8Array) => new Uint8Array([claim.length % 256, 7]);
    const make = (self: string, maxMembers = 10) => {
      const sent: Uint8Array[] = [];
      const m = createMembership({
        self,
        timers: time,
        links: { send: (_peer, frame) => void sent.push(frame) },
        sign,
        verify: (_node, claim, proof) => proof[0] === claim.length % 256 && proof[1] === 7,
        onReject: (peer, reason) => rejects.push([peer, reason]),
        maxMembers,
      });
      return { m, sent };
    };
    const a = make('a', 2);
    const b = make('b');
    const c = make('c');
    a.m.linkUp('b');
    b.m.linkUp('a');
    c.m.linkUp('a');
    // Both announce their link once the announce delay passes; a takes b's records in.
    await sched.run(100);
    for (const frame of b.sent) a.m.receive('b', frame);
    await sched.run(200);
    expect(a.m.status('b')).toBe('alive');

    a.m.receive('b', new Uint8Array([1, 9, 9]));
    a.m.receive('b', new Uint8Array([]));
    // Summaries: a version hash half past 32 bits, more versions than a holds members at most.
    a.m.receive('b', encodeFrame({ kind: 'summary', versions: [[2 ** 33, 0]] }));
    a.m.receive(
      'b',
      encodeFrame({
        kind: 'summary',
        versions: [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      }),
    );
    expect(rejects.filter(([, r]) => r === 'malformed')).toHaveLength(4);

    // c's table frame with its proof tampered: refused as forged.
    const table = c.sent.at(-1)!.slice();
    table[table.length - 1] = 0;
    a.m.receive('b', table);
    expect(rejects.at(-1)).toEqual(['b', 'forged']);
    expect(a.m.status('c')).toBeUndefined();
    // Untampered, c is one member too many for a table of 2.
    a.m.receive('b', c.sent.at(-1)!);
    expect(rejects.at(-1)).toEqual(['b', 'full']);
    expect(a.m.status('c')).toBeUndefined();
  });
});
