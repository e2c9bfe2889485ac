import { randomBytes } from 'node:crypto';

/**
 * The last events of the live stream, each framed once with its id, so a client that reconnects
 * with `Last-Event-ID` is sent what it missed. Ids are `<run>.<seq>`: `run` is new for every ring
 * (every daemon start), so an id from an earlier run is never taken for one of this run.
 */
export interface EventRing {
  /** Frames an event with the next id and keeps it, dropping the oldest past the capacity. */
  push(type: string, data: unknown): string;
  /** The frames after `lastId`, or `undefined` when they are not all held (too old, or another run's id). */
  after(lastId: string): string[] | undefined;
  /** The id of the newest position: resuming from it replays what comes next. */
  position(): string;
  /** Events were not recorded from now until the next push: older ids can no longer resume. */
  gap(): void;
}

export function createEventRing(capacity: number): EventRing {
  const run = randomBytes(4).toString('hex');
  const frames: string[] = new Array<string>(capacity);
  let seq = 0;
  // Ids from `oldest` to `seq` resume: every frame after them is held.
  let oldest = 0;
  const idOf = (n: number): string => `${run}.${n}`;
  return {
    push(type, data) {
      seq++;
      if (seq - oldest > capacity) oldest = seq - capacity;
      const frame = `id: ${idOf(seq)}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
      frames[seq % capacity] = frame;
      return frame;
    },
    after(lastId) {
      const match = /^([0-9a-f]+)\.(\d+)$/.exec(lastId);
      if (match === null || match[1] !== run) return undefined;
      const last = Number(match[2]);
      if (last < oldest || last > seq) return undefined;
      const out: string[] = [];
      for (let n = last + 1; n <= seq; n++) out.push(frames[n % capacity]!);
      return out;
    },
    position: () => idOf(seq),
    gap() {
      // The skipped number stands for everything not recorded.
      seq++;
      oldest = seq;
    },
  };
}
