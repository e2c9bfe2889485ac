import type { DocumentPools } from '@meshwork/coordinator';
import type { ResolvedConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { NodeStore } from './store.ts';

const CONTRIBUTED = 'resources-contributed';

/**
 * Adds the pool units the config declares beyond what this node contributed before. The
 * increment's event and the new total commit in one SQLite transaction, so a crash can neither
 * lose the contribution nor make a restart add it twice. Units are never withdrawn: lowering a
 * pool in the config only logs a warning.
 */
export function contributeResources(
  config: ResolvedConfig,
  store: NodeStore,
  pools: DocumentPools,
  logger: Logger,
): void {
  const saved = store.getMeta(CONTRIBUTED);
  const contributed = saved
    ? (JSON.parse(Buffer.from(saved).toString('utf8')) as Record<string, number>)
    : {};
  for (const [pool, units] of Object.entries(config.resources)) {
    const before = contributed[pool] ?? 0;
    if (units < before) {
      logger.warn(
        { pool, configured: units, contributed: before },
        'pool units cannot be withdrawn; keeping them',
      );
      continue;
    }
    if (units === before) continue;
    store.transaction(() => {
      pools.add(pool, units - before);
      contributed[pool] = units;
      store.setMeta(CONTRIBUTED, Buffer.from(JSON.stringify(contributed)));
    });
    logger.info({ pool, added: units - before, total: units }, 'contributed pool units');
  }
}
