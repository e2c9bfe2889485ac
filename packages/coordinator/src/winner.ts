import { rendezvous } from './scoring.ts';
import type { Claim } from './model.ts';

function earlier(a: Claim, b: Claim): boolean {
  return a.at < b.at || (a.at === b.at && a.agent < b.agent);
}

/** The claim that opened the epoch: earliest by claimer clock, ties by agent id. */
export function firstClaim(claims: readonly Claim[]): Claim | null {
  let first: Claim | null = null;
  for (const c of claims) if (first === null || earlier(c, first)) first = c;
  return first;
}

/** Claims made later than the opening claim's settle window never win, so a decision never flips once made. */
export function candidates(claims: readonly Claim[]): Claim[] {
  const first = firstClaim(claims);
  if (first === null) return [];
  const closes = first.at + first.settleMs;
  return claims.filter((c) => c.at <= closes);
}

/** Local time from which the winner may start: the window plus half of it again for late deliveries. */
export function decisionTime(claims: readonly Claim[]): number | null {
  const first = firstClaim(claims);
  return first === null ? null : first.at + first.settleMs * 1.5;
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
