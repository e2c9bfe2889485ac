/** The API's JSON as the dashboard reads it (see the node README for each route). */

export type TaskStatus = 'pending' | 'claimed' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'claimed',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A page of a list (`GET /v1/tasks`, `GET /v1/workflows`): pass `nextCursor` back as `cursor`. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Task {
  id: string;
  type: string;
  status: TaskStatus;
  epoch: number;
  attempts: number;
  agent: string | null;
  needs: string[];
  input: JsonValue;
  priority: number;
  dependsOn: string[];
  resources: { [pool: string]: number };
  retry: {
    maxAttempts: number;
    backoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
  };
  timeouts: { scheduleToStartMs: number | null; runMs: number | null };
  idempotencyKey: string;
  submittedAt: number;
  submittedBy: string;
  workflow: { run: string; step: string; iteration: string } | null;
  result: JsonValue;
  error: string | null;
  progress: JsonValue;
}

export interface Attempt {
  task: string;
  attempt: number;
  epoch: number;
  agent: string;
  node: string;
  startedAt: number;
  endedAt: number | null;
  outcome: 'succeeded' | 'failed' | 'timed-out' | 'cancelled' | 'fenced' | 'running';
  error: string | null;
}

export interface TaskDetail extends Task {
  history: Attempt[];
}

/** A task removed from the shared state after its retention period, as the node archived it. */
export interface RemovedTask {
  id: string;
  removed: true;
  status: TaskStatus | null;
  result: JsonValue;
  error: string | null;
  finishedAt: number | null;
  history: Attempt[];
}

export interface Agent {
  id: string;
  node: string;
  local: boolean;
  capabilities: string[];
  capacity: number;
  load: number;
  live: boolean;
  retired: boolean;
  metadata: { [key: string]: JsonValue };
  health: { degraded: boolean; reason: string | null };
  stats: { successes: number; failures: number; meanLatencyMs: number | null };
}

export type StepState = 'waiting' | 'running' | 'succeeded' | 'skipped' | 'failed';

export interface Workflow {
  id: string;
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  steps: { [step: string]: StepState };
  tasks: string[];
  reason: string | null;
}

export interface WorkflowTemplate {
  name: string;
  params?: string[];
  steps: { id: string; after?: string[]; forEach?: string; when?: string }[];
}

export interface MeshNode {
  id: string;
  name: string | null;
  status: 'alive' | 'unreachable' | 'left';
  self: boolean;
  agents: number;
}

export interface MeshLink {
  a: string;
  b: string;
  confirmed: boolean;
  latencyMs: number | null;
}

export interface Mesh {
  self: string;
  nodes: MeshNode[];
  links: MeshLink[];
}

export interface Activity {
  from: number;
  to: number;
  bucketMs: number;
  at: number[];
  succeeded: number[];
  failed: number[];
  starts: number[];
  duplicateStarts: number[];
  failovers: number[];
  submitToStartMeanMs: (number | null)[];
  submitToStartMaxMs: (number | null)[];
}

export interface Status {
  node: string;
  peerId: string;
  url: string;
  peers: number;
  ready: boolean;
}

export interface MemoryDocuments {
  documents: { name: string; members: number }[];
  next: string | null;
}

export interface MemoryDocument {
  document: string;
  members: { name: string; type: string; conflicts: string[] }[];
  next: string | null;
}

export type MemberView = { document: string; member: string; type: string } & { [key: string]: JsonValue };
