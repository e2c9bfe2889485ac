import type { PresenceChannel } from '@meshwork/core';

/** A presence channel of a node alone: a coordinator in one process that hears of nobody. */
export const quietPresence: PresenceChannel = {
  self: 'n',
  publish: () => undefined,
  on: (_name, listener) => listener,
  once: () => undefined,
  off: () => undefined,
  status: () => undefined,
  members: () => [],
};
