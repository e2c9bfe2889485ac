import { rendezvous } from './scoring.ts';
import type { Claim } from './model.ts';

function earlier(a: Claim, b: Claim): boolean {
  return a.at < b.at || (a.at === b.at && a.agent < b.agent);
}

/** The earliest claim by claimer clock, ties by agent id. */
export function firstClaim(claims: readonly Claim[]): Claim | null {
  let first: Claim | null = null;
  for (const c of claims) if (first === null || earlier(c, first)) first = c;
  return first;
}

/**
 * The claims an epoch is decided among: those made at once by the task's leaders when there is
 * one, else those made stepping in. A claim made at once is heard from only the leaders'
 * nodes before it starts (see the coordinator's receipts), so a claim that steps in, whose node
 * may not be a leader, must never beat it.
 */
function contenders(claims: readonly Claim[]): readonly Claim[] {
  if (claims.length <= 1) return claims;
  let stepIns = 0;
  for (const c of claims) if (c.stepIn === true) stepIns++;
  if (stepIns === 0 || stepIns === claims.length) return claims;
  return claims.filter((c) => c.stepIn !== true);
}

/**
 * Share of the settle window after the opening claim within which claims are candidates. Small,
 * because candidates are claims raced concurrently by nodes that had not yet seen the opening one;
 * every millisecond of it is added to the wait before any task starts.
 */
const CANDIDATE_SHARE = 1 / 8;

/**
 * Claims made more than an eighth of a settle window after the opening claim never win, so a
 * decision does not flip once made, and late claims (a lower-ranked agent stepping in, a slow
 * replica) cannot displace a winner that has already started.
 */
export function candidates(all: readonly Claim[]): readonly Claim[] {
  const claims = contenders(all);
  if (claims.length <= 1) return claims;
  const first = firstClaim(claims);
  if (first === null) return [];
  const closes = first.at + first.settleMs * CANDIDATE_SHARE;
  return claims.filter((c) => c.at <= closes);
}

/** Wait past a whole window after the candidates: under overload, delays run past the measured p99. */
const DECISION_MARGIN = 1 / 8;

/**
 * Local time from which the winner may start: the candidate window, then a whole settle window
 * (two p99 delivery delays) in which the last candidate reaches everyone, then the margin.
 */
export function decisionTime(claims: readonly Claim[]): number | null {
  const first = firstClaim(contenders(claims));
  return first === null ? null : first.at + first.settleMs * (CANDIDATE_SHARE + 1 + DECISION_MARGIN);
}

function better(a: Claim, b: Claim): boolean {
  if (a.score !== b.score) return a.score > b.score;
  const ra = rendezvous(a.task, a.agent);
  const rb = rendezvous(b.task, b.agent);
  if (ra !== rb) return ra > rb;
  return a.agent < b.agent;
}

/**
 * The winner of one epoch's claims: highest score among the settle-window candidates,
 * ties broken by rendezvous hash, then agent id. A pure function of the claim set, so
 * every replica holding the same claims picks the same winner whatever order they came in.
 */
export function selectWinner(claims: readonly Claim[]): Claim | null {
  let best: Claim | null = null;
  for (const c of candidates(claims)) if (best === null || better(c, best)) best = c;
  return best;
}
