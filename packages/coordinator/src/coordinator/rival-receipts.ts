import type { ReplicaId } from '@meshwork/core';
import type { AgentId, AgentInfo, Claim, TaskId, TaskSpec } from '../model.ts';
import { terminalStatuses } from '../status.ts';
import type { TaskIndex } from '../task-index.ts';
import { leaders, type CandidateWindow } from './candidate-window.ts';
import type { Receipts } from './receipts.ts';

/**
 * The scheduler's side of receipts (see receipts.ts): whether the rivals of one of this replica's
 * claims have all answered it, and which other nodes' claims this replica owes a receipt.
 */
export interface RivalReceipts {
  /** A pass begins: how far each rival's receipt covers is read afresh, once in the pass. */
  beginPass(): void;
  /**
   * Whether every rival of this replica's claim (sent in transaction `seq`) has made a claim in
   * this epoch that is here, or has receipted the claim. The rivals are the other nodes with one
   * of the task's leaders for a claim made at once (only those may claim at once), with any of
   * its candidates for a claim that stepped in.
   */
  heardFrom(
    spec: TaskSpec,
    epoch: number,
    own: { readonly stepIn: boolean; readonly seq: number },
    candidates: CandidateWindow,
  ): boolean;
  /** Another node's claim was read: its node is owed a receipt by local time `by` if this one could have raced it. */
  claimRead(claim: Claim, by: number): void;
  /**
   * Takes the claims read since the last pass: a claim made at once is owed a receipt when a
   * local agent is one of the task's leaders, one that stepped in when it is a candidate. A claim
   * of a task finished here is owed none: it decides nothing any more.
   */
  oweReceipts(candidates: CandidateWindow): void;
}

export function createRivalReceipts(deps: {
  readonly replica: ReplicaId;
  readonly receipts: Receipts;
  readonly index: Pick<TaskIndex, 'spec' | 'records' | 'derive'>;
  readonly localAgents: ReadonlyMap<AgentId, AgentInfo>;
}): RivalReceipts {
  const { replica, receipts, index, localAgents } = deps;
  const finished = (task: TaskId): boolean => {
    const status = index.derive(task)?.status;
    return status !== undefined && terminalStatuses.has(status);
  };
  /** How far each rival's receipt covers this replica's transactions, read once per pass. */
  const covered = new Map<ReplicaId, number>();
  /** Other nodes' claims read since the last pass: their claimers may be owed receipts. */
  const claimsRead: {
    readonly task: TaskId;
    readonly claimer: ReplicaId;
    readonly stepIn: boolean;
    readonly by: number;
  }[] = [];

  return {
    beginPass: () => covered.clear(),
    heardFrom(spec, epoch, own, candidates) {
      if (own.seq === Infinity) return false;
      const among = candidates.of(spec);
      const rivals = own.stepIn ? null : leaders(spec, among);
      let unheard: Set<ReplicaId> | null = null;
      for (const agent of among) {
        const rival = agent.node;
        if (rival === replica || rivals?.has(agent.id) === false) continue;
        let cover = covered.get(rival);
        if (cover === undefined) covered.set(rival, (cover = receipts.covered(rival)));
        if (cover < own.seq) (unheard ??= new Set()).add(rival);
      }
      if (unheard === null) return true;
      // Rivals without a receipt may have claimed in this epoch instead: that claim is as good.
      for (const c of index.records(spec.id)!.claims) if (c.epoch === epoch) unheard.delete(c.node);
      return unheard.size === 0;
    },
    claimRead(claim, by) {
      claimsRead.push({ task: claim.task, claimer: claim.node, stepIn: claim.stepIn === true, by });
    },
    oweReceipts(candidates) {
      if (claimsRead.length === 0) return;
      const mine = (a: AgentInfo): boolean => a.node === replica && localAgents.has(a.id);
      for (const { task, claimer, stepIn, by } of claimsRead.splice(0)) {
        const spec = index.spec(task);
        // A mesh healing from a partition reads every claim of the other side's finished tasks at
        // once: a receipt for each claimer would be a transaction per node, flooded mesh-wide, for
        // nothing. A missing receipt only ever makes a claim wait (receipts.ts).
        if (spec !== null && finished(task)) continue;
        // A claim read before its task's record: whether this node could have raced it is not known
        // yet. A claimer owed a receipt already is owed one covering this claim too, at no cost.
        if (spec === null || receipts.owes(claimer)) receipts.owe(claimer, by);
        else {
          const among = candidates.of(spec);
          const rivalling = stepIn
            ? among.some(mine)
            : [...leaders(spec, among)].some((id) => localAgents.has(id));
          if (rivalling) receipts.owe(claimer, by);
        }
      }
    },
  };
}
