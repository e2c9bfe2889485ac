export { ConfigError, configSchema, loadConfig, parseConfig } from './config.ts';
export type { AgentConfig, ConfigFlags, NodeConfig, ResolvedConfig } from './config.ts';
export { openStore } from './store.ts';
export type { AttemptRecord, NodeStore, StoredSnapshot } from './store.ts';
export { persistDocument, RESTORE_ORIGIN } from './persistence.ts';
export type { DocumentPersistence, PersistableDocument } from './persistence.ts';
export * from './executors/index.ts';
