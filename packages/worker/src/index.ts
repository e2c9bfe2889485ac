export {
  createWorker,
  type TaskContext,
  type TaskHandler,
  type Worker,
  type WorkerEvent,
  type WorkerOptions,
} from './worker.ts';
export { PermanentError, RefusalError, registrationLost } from './errors.ts';
export {
  createDaemonCalls,
  type AgentSpec,
  type DaemonCalls,
  type HeartbeatAnswer,
  type Session,
  type WorkerTask,
} from './protocol.ts';
