import { existsSync } from 'node:fs';

/**
 * The scale mesh's long task: runs until the file named by its input's `release` exists, so a
 * run can kill its holder while it is surely running and let it finish when it chooses. Ends
 * when the attempt is aborted (cancel, fencing, shutdown).
 *
 * @param {unknown} input
 * @param {{ signal: AbortSignal }} ctx
 * @returns {Promise<{ released: true }>}
 */
export default function held(input, ctx) {
  const release =
    typeof input === 'object' && input !== null && 'release' in input ? input.release : undefined;
  if (typeof release !== 'string') throw new Error('held: input.release must be a file path');
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (!existsSync(release)) return;
      clearInterval(timer);
      resolve({ released: true });
    }, 20);
    ctx.signal.addEventListener('abort', () => {
      clearInterval(timer);
      reject(new Error('held: aborted'));
    });
  });
}
