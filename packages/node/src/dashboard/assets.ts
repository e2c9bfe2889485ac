import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the dashboard as served under `/ui/`. */
export interface DashboardAsset {
  readonly name: string;
  readonly contentType: string;
  /** Named by its content hash: cacheable for good. */
  readonly immutable: boolean;
  readonly body: Uint8Array;
  /** The body gzipped, for clients that accept it (the script is most of a megabyte). */
  readonly gzipped: Uint8Array;
}

export interface DashboardAssets {
  /**
   * The file called `name`, or `undefined`: only the files of the build are ever served, so a
   * name is looked up, never joined onto a path.
   */
  get(name: string): Promise<DashboardAsset | undefined>;
}

/** Thrown when the dashboard has not been built and cannot be here (no bundler installed). */
export class DashboardUnavailableError extends Error {
  override readonly name = 'DashboardUnavailableError';
}

type ManifestEntry = Omit<DashboardAsset, 'body' | 'gzipped'>;
type AssetFile = Omit<DashboardAsset, 'gzipped'>;

/** The published package ships the dashboard prebuilt here (dist/ui, written by its prepack). */
const PREBUILT_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

function readPrebuilt(dir: string): AssetFile[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestEntry[];
  return manifest.map((entry) => ({ ...entry, body: readFileSync(join(dir, entry.name)) }));
}

/** From source in the workspace: bundled in memory with the dashboard package's esbuild. */
async function bundleFromSource(): Promise<AssetFile[]> {
  let bundler: typeof import('@meshwork/dashboard/bundle');
  try {
    bundler = await import('@meshwork/dashboard/bundle');
  } catch (err) {
    throw new DashboardUnavailableError(
      `the dashboard is neither prebuilt (${PREBUILT_DIR}) nor buildable here: ${(err as Error).message}`,
    );
  }
  return bundler.bundleDashboard();
}

/**
 * The dashboard's files, loaded at the first request (a daemon nobody opens the dashboard of
 * pays nothing): the prebuilt ones when present, else bundled from source. A failed load is
 * tried again at the next request.
 */
export function dashboardAssets(dir: string = PREBUILT_DIR): DashboardAssets {
  let loading: Promise<Map<string, DashboardAsset>> | undefined;
  const load = (): Promise<Map<string, DashboardAsset>> => {
    loading ??= (async () => {
      const files = existsSync(join(dir, 'manifest.json')) ? readPrebuilt(dir) : await bundleFromSource();
      // Compressed once, here, rather than per request.
      return new Map(files.map((f) => [f.name, { ...f, gzipped: gzipSync(f.body, { level: 9 }) }]));
    })();
    loading.catch(() => (loading = undefined));
    return loading;
  };
  return {
    async get(name) {
      return (await load()).get(name);
    },
  };
}
