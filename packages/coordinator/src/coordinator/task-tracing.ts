import type { ReplicaId } from '@meshwork/core';
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { AgentId, AttemptOutcome, Claim, TaskId, TaskSpec } from '../model.ts';
import { contextOf, traceContextOf, type TraceContext } from '../trace-context.ts';

/*
 * The spans of a task's life on this node, each a child of the span that submitted it: the
 * submit's context travels in the task record (see docs/design/tracing.md), so the spans of every
 * node that claims or runs the task join one trace. A task submitted with tracing off has no
 * context, and nothing here costs it more than a field check.
 */

/** Span and attribute names, as the node README lists them. */
export const spanNames = {
  submit: 'meshwork.task.submit',
  workflow: 'meshwork.workflow.start',
  claim: 'meshwork.task.claim',
  attempt: 'meshwork.task.attempt',
  failover: 'meshwork.task.failover',
} as const;

/** How this node's claim of an epoch ended. */
export type ClaimOutcome = 'won' | 'lost' | 'stopped';

/** One running attempt's span. */
export interface AttemptSpan {
  /** Runs `fn` with the attempt's span active, so a handler's own spans nest under it. */
  run<T>(fn: () => T): T;
  progress(): void;
  end(outcome: AttemptOutcome, error: string | null): void;
}

export interface TaskTracing {
  /** Starts the submit span under the active context; returns the spec carrying its context, and the span's end. */
  submit(spec: TaskSpec): { readonly spec: TaskSpec; readonly end: (error?: unknown) => void };
  /** Starts a workflow run's span under the active context: the parent of its tasks' spans. */
  workflow(run: string, name: string): { readonly trace: TraceContext | undefined; readonly end: () => void };
  /** This node claimed an epoch: its claim span lasts until the settle decision. */
  claimed(spec: TaskSpec, claim: Claim): void;
  /** This node's claim of `task` was decided. */
  settled(task: TaskId, outcome: ClaimOutcome): void;
  attempt(spec: TaskSpec, epoch: number, agent: AgentId, attempt: number): AttemptSpan;
  /** This node declared an epoch's holder lost. */
  failover(spec: TaskSpec, epoch: number, holder: ReplicaId): void;
  /** Ends the claim spans still open (the coordinator stops). */
  close(): void;
}

const noAttempt: AttemptSpan = { run: (fn) => fn(), progress: () => {}, end: () => {} };

const attr = {
  task: 'meshwork.task.id',
  type: 'meshwork.task.type',
  run: 'meshwork.workflow.run',
  workflow: 'meshwork.workflow.name',
  replica: 'meshwork.replica',
  epoch: 'meshwork.task.epoch',
  agent: 'meshwork.agent.id',
  attempt: 'meshwork.task.attempt',
  score: 'meshwork.claim.score',
  settleMs: 'meshwork.claim.settle_ms',
  claimOutcome: 'meshwork.claim.outcome',
  outcome: 'meshwork.attempt.outcome',
  holder: 'meshwork.failover.holder',
} as const;

export function createTaskTracing(provider: TracerProvider | undefined, replica: ReplicaId): TaskTracing {
  // The global provider is a proxy: one registered after this coordinator was made still applies.
  const tracer: Tracer = (provider ?? trace.getTracerProvider()).getTracer('@meshwork/coordinator');
  /** This node's open claim per task (it holds at most one, like the scheduler's own claims). */
  const claims = new Map<TaskId, Span>();

  const parentOf = (spec: TaskSpec): Context | undefined =>
    spec.trace === undefined ? undefined : contextOf(spec.trace);

  const endClaim = (task: TaskId, outcome: ClaimOutcome): Span | undefined => {
    const span = claims.get(task);
    if (span === undefined) return undefined;
    claims.delete(task);
    span.setAttribute(attr.claimOutcome, outcome);
    span.end();
    return span;
  };

  return {
    submit(spec) {
      const span = tracer.startSpan(spanNames.submit, {
        kind: SpanKind.PRODUCER,
        attributes: { [attr.task]: spec.id, [attr.type]: spec.type, [attr.replica]: replica },
      });
      const stored = traceContextOf(span.spanContext());
      return {
        spec: stored === undefined ? spec : { ...spec, trace: stored },
        end: (error) => {
          if (error instanceof Error) span.recordException(error);
          if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    workflow(run, name) {
      const span = tracer.startSpan(spanNames.workflow, {
        kind: SpanKind.PRODUCER,
        attributes: { [attr.run]: run, [attr.workflow]: name, [attr.replica]: replica },
      });
      return { trace: traceContextOf(span.spanContext()), end: () => span.end() };
    },
    claimed(spec, claim) {
      const parent = parentOf(spec);
      if (parent === undefined) return;
      // A claim of an earlier epoch still open was never acted on: a newer epoch replaced it.
      endClaim(spec.id, 'lost');
      const span = tracer.startSpan(
        spanNames.claim,
        {
          attributes: {
            [attr.task]: spec.id,
            [attr.replica]: replica,
            [attr.epoch]: claim.epoch,
            [attr.agent]: claim.agent,
            [attr.score]: claim.score,
            [attr.settleMs]: claim.settleMs,
          },
        },
        parent,
      );
      claims.set(spec.id, span);
    },
    settled: (task, outcome) => void endClaim(task, outcome),
    attempt(spec, epoch, agent, attempt) {
      const submitted = parentOf(spec);
      if (submitted === undefined) return noAttempt;
      // Under the winning claim this node made, whose span ends here; under the submit if it is gone.
      const claim = endClaim(spec.id, 'won');
      const parent = claim === undefined ? submitted : trace.setSpan(submitted, claim);
      const span = tracer.startSpan(
        spanNames.attempt,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            [attr.task]: spec.id,
            [attr.type]: spec.type,
            [attr.replica]: replica,
            [attr.epoch]: epoch,
            [attr.agent]: agent,
            [attr.attempt]: attempt,
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      return {
        run: (fn) => context.with(active, fn),
        progress: () => void span.addEvent('progress'),
        end(outcome, error) {
          span.setAttribute(attr.outcome, outcome);
          // Cancelled and fenced attempts were stopped from outside: not errors of their own.
          if (outcome === 'failed' || outcome === 'timed-out')
            span.setStatus({ code: SpanStatusCode.ERROR, ...(error !== null && { message: error }) });
          span.end();
        },
      };
    },
    failover(spec, epoch, holder) {
      const parent = parentOf(spec);
      if (parent === undefined) return;
      tracer
        .startSpan(
          spanNames.failover,
          {
            attributes: {
              [attr.task]: spec.id,
              [attr.replica]: replica,
              [attr.epoch]: epoch,
              [attr.holder]: holder,
            },
          },
          parent,
        )
        .end();
    },
    close() {
      for (const task of [...claims.keys()]) endClaim(task, 'stopped');
    },
  };
}
