import { isTerminal } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { Task } from '@modelcontextprotocol/sdk/types.js';
import { TASK_POLL_MS } from './task-store.ts';
import type { ToolExtra } from './tool-definition.ts';

/**
 * While a plain call waits on a Meshwork task or run, sends `notifications/progress` for the
 * call's progress token each time the MCP task's status message changes (picked up, progress
 * reported, …), until it ends, the wait ends or the call is cancelled. Nothing without a token.
 */
export function reportProgress(read: () => Promise<Task | null>, extra: ToolExtra): void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return;
  let last: string | undefined;
  let sent = 0;
  const look = async (): Promise<void> => {
    const task = await read();
    if (task === null || extra.signal.aborted || isTerminal(task.status)) {
      clearInterval(timer);
      return;
    }
    if (task.statusMessage === last) return;
    last = task.statusMessage;
    await extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken: token, progress: ++sent, ...(last !== undefined ? { message: last } : {}) },
    });
  };
  // A failed look (the call's answer went out meanwhile and closed its stream) ends the reports.
  const step = (): void => void look().catch(() => clearInterval(timer));
  const timer = setInterval(step, TASK_POLL_MS);
  step();
}
