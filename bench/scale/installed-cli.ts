import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALL = fileURLToPath(new URL('../../scripts/install-packed.sh', import.meta.url));

/**
 * The `meshwork` entry point as a user installs it: the packages packed and installed with npm
 * into `dir` (scripts/install-packed.sh), run from their compiled JavaScript. A daemon run from
 * the sources also loads Node's type stripper, about 25 MB of resident memory that an installed
 * daemon never has, so the scale bench measures this one. `withPatches` applies the workspace's
 * patches to dependencies (patches/) to the installed copies, which npm alone leaves out.
 */
export function installedCli(dir: string, { withPatches }: { withPatches: boolean }): string {
  execFileSync('bash', [INSTALL, dir, ...(withPatches ? ['--with-patches'] : [])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(dir, 'app', 'node_modules', '@meshwork', 'node', 'dist', 'cli.js');
}
