import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** One file of the built dashboard, as the daemon serves it under `/ui/`. */
export interface DashboardFile {
  readonly name: string;
  readonly contentType: string;
  /** Named by its content hash, so it may be cached for good; `index.html` never is. */
  readonly immutable: boolean;
  readonly body: Uint8Array;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return CONTENT_TYPES[dot < 0 ? '' : name.slice(dot)] ?? 'application/octet-stream';
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

function indexHtml(script: string, styles: readonly string[]): string {
  const links = styles.map((s) => `<link rel="stylesheet" href="/ui/${s}">`).join('\n    ');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Meshwork dashboard</title>
    <link rel="icon" href="data:,">
    ${links}
  </head>
  <body>
    <div id="app"></div>
    <script type="module" src="/ui/${script}"></script>
  </body>
</html>
`;
}

/**
 * Bundles the dashboard (src/main.tsx and what it imports, CSS included) in memory with esbuild:
 * hashed `main-<hash>.js` and `.css` plus the `index.html` that loads them. Nothing is fetched.
 */
export async function bundleDashboard(): Promise<DashboardFile[]> {
  const result = await build({
    absWorkingDir: packageDir,
    entryPoints: ['src/main.tsx'],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const files: DashboardFile[] = result.outputFiles.map((f) => ({
    name: basename(f.path),
    contentType: contentTypeOf(f.path),
    immutable: true,
    body: f.contents,
  }));
  const script = files.find((f) => f.name.endsWith('.js'));
  if (script === undefined) throw new Error('dashboard bundle: esbuild produced no script');
  const styles = files.filter((f) => f.name.endsWith('.css')).map((f) => f.name);
  const html = new TextEncoder().encode(indexHtml(script.name, styles));
  files.push({ name: 'index.html', contentType: contentTypeOf('index.html'), immutable: false, body: html });
  return files;
}
