import { covers } from '../eligibility.ts';
import { hash53 } from '../hash.ts';
import type { AgentId, AgentInfo, TaskSpec } from '../model.ts';
import { rendezvous } from '../scoring.ts';

/** The agents a task is ranked among: at most `size` of those that cover its needs. */
export interface CandidateWindow {
  of(spec: TaskSpec): readonly AgentInfo[];
}

/** Points per agent on a ring: more even arcs, so first places spread over the agents. */
const POINTS_PER_AGENT = 8;

interface Ring {
  /** Every covering agent, when they fit in the window. */
  readonly all?: readonly AgentInfo[];
  readonly points: readonly number[];
  readonly owners: readonly AgentInfo[];
}

/**
 * Bounds the work of ranking a task: instead of every agent of the mesh, the `size` covering
 * agents that follow the task's place on a consistent-hash ring (one ring per set of needs,
 * built once per pass). Every replica with the same view of the agents builds the same ring, so
 * they rank each task among the same candidates, whatever the mesh's size. A mesh whose covering
 * agents fit in the window ranks among all of them.
 */
export function createCandidateWindow(agents: readonly AgentInfo[], size: number): CandidateWindow {
  const rings = new Map<string, Ring>();

  function ring(needs: readonly string[]): Ring {
    const key = [...needs].sort().join('\n');
    let r = rings.get(key);
    if (r !== undefined) return r;
    const covering = agents.filter((a) => covers(a.capabilities, needs));
    if (covering.length <= size) r = { all: covering, points: [], owners: [] };
    else {
      const placed: { readonly at: number; readonly agent: AgentInfo }[] = [];
      for (const agent of covering)
        for (let i = 0; i < POINTS_PER_AGENT; i++) placed.push({ at: hash53(`${agent.id}#${i}`), agent });
      placed.sort((x, y) => x.at - y.at || (x.agent.id < y.agent.id ? -1 : 1));
      r = { points: placed.map((p) => p.at), owners: placed.map((p) => p.agent) };
    }
    rings.set(key, r);
    return r;
  }

  return {
    of(spec) {
      const r = ring(spec.needs);
      if (r.all !== undefined) return r.all;
      const { points, owners } = r;
      const at = hash53(spec.id);
      // The first point at or after the task's place, wrapping around.
      let lo = 0;
      let hi = points.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (points[mid]! < at) lo = mid + 1;
        else hi = mid;
      }
      const out: AgentInfo[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < points.length && out.length < size; i++) {
        const agent = owners[(lo + i) % points.length]!;
        if (seen.has(agent.id)) continue;
        seen.add(agent.id);
        out.push(agent);
      }
      return out;
    },
  };
}

/** How many nodes a task's leaders are on (see {@link leaders}). */
export const LEADER_NODES = 4;

/**
 * The task's leaders: the candidates on the first `nodes` nodes reached going down the candidates
 * by rendezvous hash alone, whatever their load or health. Only a node with a leader may claim a
 * task at once; the others hold back and step in. Replicas that agree on the live agents agree on
 * the leaders, so a claim made at once has at most `nodes - 1` rivals to hear from (see
 * receipts.ts), however large the mesh.
 */
export function leaders(
  spec: TaskSpec,
  candidates: readonly AgentInfo[],
  nodes = LEADER_NODES,
): ReadonlySet<AgentId> {
  // Candidates on no more nodes than lead (a small mesh): all of them lead, with no hashing.
  const spanned = new Set<string>();
  for (const a of candidates) if (spanned.add(a.node).size > nodes) break;
  if (spanned.size <= nodes) return new Set(candidates.map((a) => a.id));
  const ranked = candidates.map((a) => ({ agent: a, h: rendezvous(spec.id, a.id) }));
  ranked.sort((x, y) => y.h - x.h || (x.agent.id < y.agent.id ? -1 : 1));
  const leading = new Set<string>();
  const out = new Set<AgentId>();
  for (const { agent } of ranked) {
    if (!leading.has(agent.node)) {
      if (leading.size === nodes) continue;
      leading.add(agent.node);
    }
    out.add(agent.id);
  }
  return out;
}
