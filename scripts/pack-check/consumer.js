// A first program against the published packages, run by scripts/pack-check.sh from an empty
// directory where they were installed with npm: plain ESM, no build step, no workspace.
import assert from 'node:assert/strict';
import { createCoordinator } from '@meshwork/coordinator';
import { createDocument, decodeDigest, encodeDigest, lww } from '@meshwork/core';
import { Writer } from '@meshwork/core/internal';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as node from '@meshwork/node';
import { parseConfig, startDaemon } from '@meshwork/node';
import { openStore, runShell } from '@meshwork/node/internal';
import { createMeshNode, SYNC_PROTOCOL } from '@meshwork/transport';
import { createWorker, PermanentError } from '@meshwork/worker';

// Two replicas change apart, then each sends the other what its digest lacks.
const a = createDocument({ replica: 'replica-a', name: 'notes' });
const b = createDocument({ replica: 'replica-b', name: 'notes' });
a.transact(() => {
  a.orset('tags').add('red');
  a.lww('title').set('from a');
});
b.orset('tags').add('blue');
b.ormap('owners', lww()).get('t1').set('bob');
for (const [from, to] of [
  [a, b],
  [b, a],
]) {
  const answer = from.changesSince(decodeDigest(encodeDigest(to.digest())));
  assert.ok(answer.covered);
  to.apply(answer.update);
}
for (const doc of [a, b]) {
  assert.deepEqual([...doc.orset('tags').values()].sort(), ['blue', 'red']);
  assert.equal(doc.lww('title').get(), 'from a');
  assert.equal(doc.ormap('owners', lww()).get('t1').get(), 'bob');
}
console.log('pack-check: two Documents merged');

// One mesh node on loopback runs one task for an agent of its own.
const mesh = await createMeshNode();
const coordinator = createCoordinator({ document: mesh.document('tasks'), presence: mesh.presence });
coordinator.registerAgent({
  id: 'counter',
  capabilities: ['count'],
  handler: (_task, ctx) => ({ words: String(ctx.input).split(' ').length }),
});
const id = coordinator.submit({ type: 'count', input: 'installed from a tarball' });
const result = await new Promise((resolve) => {
  const unwatch = coordinator.watch(
    (task) => {
      if (task.status !== 'succeeded') return;
      unwatch();
      resolve(task.result);
    },
    { task: id },
  );
});
assert.deepEqual(result, { words: 4 });
await coordinator.stop();
await mesh.stop();
console.log(`pack-check: task ${id} succeeded over ${SYNC_PROTOCOL}`);

assert.equal(parseConfig({ name: 'packed' }, process.cwd()).http.port, 7070);
assert.equal(typeof Writer, 'function');
assert.equal(typeof openStore, 'function');
assert.equal(typeof runShell, 'function');
// What moved to /internal is not on the main entry.
assert.equal('runShell' in node, false);
// Only the entry points in `exports` are reachable; the files behind them are not.
const deep = '@meshwork/core/dist/codec/writer.js';
await assert.rejects(import(deep), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
console.log('pack-check: entry points and /internal resolve; deep imports are refused');

// The worker client loads and its errors are the classes it documents.
assert.equal(typeof createWorker, 'function');
assert.ok(new PermanentError('bad input') instanceof Error);

// The daemon serves its dashboard from the prebuilt files the package ships (no bundler here).
const daemon = await startDaemon(
  parseConfig(
    {
      name: 'ui',
      dataDir: mkdtempSync(join(tmpdir(), 'pack-check-ui-')),
      http: { port: 0 },
      logLevel: 'warn',
    },
    process.cwd(),
  ),
);
const page = await fetch(`${daemon.url}/ui`);
assert.equal(page.status, 200);
assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
const script = /src="\/ui\/([^"]+\.js)"/.exec(await page.text())?.[1];
assert.ok(script, 'the dashboard page names its script');
const bundle = await fetch(`${daemon.url}/ui/${script}`);
assert.equal(bundle.status, 200);
assert.ok((await bundle.arrayBuffer()).byteLength > 10_000);
assert.equal((await fetch(`${daemon.url}/ui/manifest.json`)).status, 404);
await daemon.stop();
console.log(`pack-check: the daemon serves its dashboard at ${daemon.url}/ui`);
