/**
 * Hands out turns for writes one event-loop iteration apart. Each acknowledged write costs a
 * synchronous SQLite commit (an fsync with `sync: full`); a burst of them handled in one
 * iteration would hold every other request, a health probe or a read, until all were done.
 * Turns keep their order, so writes are still applied first come, first served.
 */
export function createWriteTurns(): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const turn = last.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    last = turn;
    return turn;
  };
}
