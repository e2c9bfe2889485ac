import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleDashboard } from './bundle.ts';

// `node build/write.ts <dir>`: the published @meshwork/node package ships the dashboard prebuilt
// (its prepack runs this into dist/ui), where no bundler is installed.
const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node build/write.ts <output directory>');
  process.exit(2);
}
const out = resolve(dir);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = await bundleDashboard();
for (const f of files) writeFileSync(join(out, f.name), f.body);
// What the daemon serves: these files and nothing else from the directory.
const manifest = files.map(({ name, contentType, immutable }) => ({ name, contentType, immutable }));
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
console.log(`dashboard: wrote ${files.length} files to ${out}`);
