import type { MeshNode } from '@meshwork/transport';
import type { MeshDocument } from './mesh-state.ts';
import type { TransportStats } from './metrics.ts';

/** The transport's counters in the shape the metrics read. */
export function transportStats(mesh: MeshNode<MeshDocument>): TransportStats {
  const c = mesh.metrics.snapshot();
  const traffic: TransportStats['traffic'] = [];
  for (const protocol of Object.keys(c.messagesIn) as (keyof typeof c.messagesIn)[]) {
    traffic.push({ protocol, direction: 'in', messages: c.messagesIn[protocol], bytes: c.bytesIn[protocol] });
    traffic.push({
      protocol,
      direction: 'out',
      messages: c.messagesOut[protocol],
      bytes: c.bytesOut[protocol],
    });
  }
  return {
    traffic,
    rejected: Object.entries(c.rejected).map(([reason, count]) => ({ reason, count })),
    refused: Object.entries(c.connectionsRefused).map(([reason, count]) => ({ reason, count })),
    peers: c.peers,
    syncRounds: c.syncRounds.completed,
    syncSnapshots: c.syncRounds.snapshots,
    silentLinks: c.silentLinks,
    eventsReceived: [
      { via: 'gossip', outcome: 'applied', count: c.eventsApplied.gossip },
      { via: 'sync', outcome: 'applied', count: c.eventsApplied.sync },
      { via: 'any', outcome: 'duplicate', count: c.duplicates },
    ],
  };
}
