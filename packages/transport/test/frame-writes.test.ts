import { Socket } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { createLibp2p } from 'libp2p';
import { afterEach, expect, it, vi } from 'vitest';

/**
 * The workspace patches two of the transport's dependencies (see patches/ and the transport
 * README): yamux grants send credit once half a stream's window is used, not after every data
 * frame, and the TCP connection writes an encrypted frame (length prefix and ciphertext) with one
 * system call. Each small message on a link then costs one write on the sender and none on the
 * receiver, instead of two and two. Heartbeats and member records are such messages.
 */
const PROTOCOL = '/meshwork-test/frames/1';
const MESSAGES = 100;

const nodes: Libp2p[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(nodes.splice(0).map(async (n) => n.stop()));
});

const start = async (): Promise<Libp2p> => {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  nodes.push(node);
  return node;
};

it('a small message costs the sender one socket write, and the receiver none', async () => {
  const [sender, receiver] = [await start(), await start()];
  const received: Array<() => void> = [];
  const nextReceived = (): Promise<void> => new Promise((resolve) => received.push(resolve));
  await receiver.handle(PROTOCOL, async (stream) => {
    const lp = lpStream(stream);
    for (;;) {
      await lp.read();
      received.shift()?.();
    }
  });
  const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, PROTOCOL);
  const lp = lpStream(stream);
  // The stream is open and acknowledged both ways before counting starts.
  const first = nextReceived();
  await lp.write(new Uint8Array(24));
  await first;

  const receiverPort = Number(
    receiver
      .getMultiaddrs()[0]!
      .getComponents()
      .find((c) => c.name === 'tcp')?.value,
  );
  const socketWrites = vi.spyOn(Socket.prototype, 'write');
  // One at a time, each read before the next is sent: nothing is batched.
  for (let i = 0; i < MESSAGES; i++) {
    const read = nextReceived();
    await lp.write(new Uint8Array(24));
    await read;
  }
  // What the receiver sends back for a frame (a window update) is written as it handles it; a
  // turn of the event loop lets anything queued reach the socket.
  await new Promise((resolve) => setImmediate(resolve));
  const writers = socketWrites.mock.contexts as Socket[];
  expect(writers.filter((socket) => socket.remotePort === receiverPort)).toHaveLength(MESSAGES);
  // The receiver still grants credit as yamux grows a busy stream's window (one update per
  // doubling, at most six, up to its 16 MB), but none for the messages themselves.
  expect(writers.filter((socket) => socket.localPort === receiverPort).length).toBeLessThan(MESSAGES / 10);
});
