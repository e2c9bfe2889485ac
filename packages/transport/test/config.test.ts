import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import fc from 'fast-check';
import { DecodeError } from '@meshwork/core';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyFileError, loadOrCreateIdentity, MeshConfigError } from '../src/index.ts';
import { decodeSyncFrame, encodeSyncFrame, type SyncFrame } from '../src/internal.ts';
import { resolveOptions } from '../src/options.ts';

describe('identity key file', () => {
  let dir = '';
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is created once (mode 0600) and loads as the same peer id', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwork-id-'));
    const path = join(dir, 'sub', 'node.key');
    const first = await loadOrCreateIdentity(path);
    const again = await loadOrCreateIdentity(path);
    expect(peerIdFromPrivateKey(again).toString()).toBe(peerIdFromPrivateKey(first).toString());
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path)).byteLength).toBeGreaterThan(32);
  });

  it('a corrupt key file is a KeyFileError naming the path', async () => {
    const path = join(dir, 'bad.key');
    await writeFile(path, 'not a key');
    await expect(loadOrCreateIdentity(path)).rejects.toThrow(KeyFileError);
    await expect(loadOrCreateIdentity(path)).rejects.toThrow(path);
  });
});

describe('options', () => {
  it.each([
    [{ listen: ['not an addr'] }, 'listen[0]'],
    [{ bootstrap: ['/nope'] }, 'bootstrap[0]'],
    [{ limits: { maxFrameBytes: -1 } }, 'limits.maxFrameBytes'],
    [{ limits: { maxFrameBytes: 1 << 20, maxStreamBufferBytes: 1024 } }, 'limits.maxStreamBufferBytes'],
    [{ syncIntervalMs: Number.NaN }, 'syncIntervalMs'],
    [{ batchMs: -5 }, 'batchMs'],
    [{ redial: { maxMs: 0 } }, 'redial.maxMs'],
    [{ redial: { reconnectMaxMs: 0 } }, 'redial.reconnectMaxMs'],
    [{ topology: { minPeers: 2.5 } }, 'topology.minPeers'],
    [{ topology: { minPeers: 8, maxPeers: 4 } }, 'topology.maxPeers'],
    [{ topology: { maxPeers: 20 }, limits: { maxConnections: 10 } }, 'topology.maxPeers'],
    [{ topology: { announceMs: -1 } }, 'topology.announceMs'],
    [{ topology: { announceMs: 30_000, announceMaxMs: 10_000 } }, 'topology.announceMaxMs'],
    [{ topology: { announceMaxMs: 0 } }, 'topology.announceMaxMs'],
  ])('%j is refused, naming %s', (options, field) => {
    expect(() => resolveOptions(options)).toThrow(MeshConfigError);
    try {
      resolveOptions(options);
    } catch (err) {
      expect((err as MeshConfigError).field).toBe(field);
    }
  });

  it('backs announcements off to at least announceMs by default', () => {
    expect(resolveOptions({}).announceMaxMs).toBe(160_000);
    expect(resolveOptions({ topology: { announceMs: 300_000 } }).announceMaxMs).toBe(300_000);
  });
});

describe('sync frames', () => {
  const bytes = fc.uint8Array({ maxLength: 64 });
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9._:/-]{0,20}$/);
  const frame: fc.Arbitrary<SyncFrame> = fc.oneof(
    fc.record({ kind: fc.constant('digest' as const), document: name, digest: bytes }),
    fc.record({ kind: fc.constant('update' as const), document: name, update: bytes }),
    fc.record({ kind: fc.constant('snapshot-chunk' as const), document: name, chunk: bytes }),
    fc.constant({ kind: 'end' as const }),
  );

  it('round-trip', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeSyncFrame(encodeSyncFrame(f))).toEqual(f);
      }),
    );
  });

  it('random and mutated bytes raise only DecodeError', () => {
    const decodeOnly = (b: Uint8Array): void => {
      try {
        decodeSyncFrame(b);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodeOnly));
    fc.assert(
      fc.property(frame, fc.nat(), fc.integer({ min: 0, max: 255 }), (f, at, v) => {
        const b = encodeSyncFrame(f);
        b[at % b.length] = v;
        decodeOnly(b);
        decodeOnly(b.subarray(0, at % b.length));
      }),
    );
  });
});
