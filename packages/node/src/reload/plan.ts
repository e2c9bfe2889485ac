import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig, ResolvedConfig } from '../config.ts';

/** Settings a running daemon takes over on reload; a change to any other waits for a restart. */
export const LIVE_SETTINGS = ['agents', 'logLevel', 'webhooks', 'allowList'] as const;

/** Not a setting: the directory the file's relative paths were resolved against. */
const NOT_SETTINGS = new Set(['baseDir']);

export interface AgentChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Registered again with their new capabilities, capacity or executor settings. */
  readonly changed: readonly string[];
}

/** What a reload changes, from the config in force to the one just read. */
export interface ReloadPlan {
  readonly agents: AgentChanges;
  readonly logLevel: { readonly from: string; readonly to: string } | null;
  readonly webhooksChanged: boolean;
  readonly allowListChanged: boolean;
  /** Keys (dotted: `http.port`) that differ and keep their running value until a restart. */
  readonly restartRequired: readonly string[];
}

export function diffAgents(running: readonly AgentConfig[], next: readonly AgentConfig[]): AgentChanges {
  const before = new Map(running.map((a) => [a.id, a]));
  const after = new Map(next.map((a) => [a.id, a]));
  return {
    added: [...after.keys()].filter((id) => !before.has(id)),
    removed: [...before.keys()].filter((id) => !after.has(id)),
    changed: [...after]
      .filter(([id, a]) => before.has(id) && !isDeepStrictEqual(before.get(id), a))
      .map(([id]) => id),
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** The keys under `prefix` whose values differ; objects are compared key by key, anything else whole. */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>, prefix: string): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (isDeepStrictEqual(x, y)) continue;
    if (isPlainObject(x) && isPlainObject(y)) out.push(...changedKeys(x, y, `${prefix}${key}.`));
    else out.push(`${prefix}${key}`);
  }
  return out;
}

export function planReload(running: ResolvedConfig, next: ResolvedConfig): ReloadPlan {
  const live = new Set<string>(LIVE_SETTINGS);
  const rest = (c: ResolvedConfig): Record<string, unknown> =>
    Object.fromEntries(Object.entries(c).filter(([k]) => !live.has(k) && !NOT_SETTINGS.has(k)));
  return {
    agents: diffAgents(running.agents, next.agents),
    logLevel: running.logLevel === next.logLevel ? null : { from: running.logLevel, to: next.logLevel },
    webhooksChanged: !isDeepStrictEqual(running.webhooks, next.webhooks),
    allowListChanged: !isDeepStrictEqual(running.allowList, next.allowList),
    restartRequired: changedKeys(rest(running), rest(next), '').sort(),
  };
}
