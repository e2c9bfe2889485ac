import { Socket } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { LengthPrefixedDecoder, lpStream } from '@libp2p/utils';
import { createLibp2p } from 'libp2p';
import { afterEach, expect, it, vi } from 'vitest';

/**
 * The workspace patches three of the transport's dependencies (see patches/ and the transport
 * README): yamux grants send credit once half a stream's window is used, not after every data
 * frame, and the TCP connection writes an encrypted frame (length prefix and ciphertext) with one
 * system call. Each small message on a link then costs one write on the sender and none on the
 * receiver, instead of two and two. Heartbeats and member records are such messages. And a
 * length-prefixed reader stops at an empty buffer instead of letting its length decoder throw,
 * which Noise's did once for every chunk a connection read.
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

/**
 * Two nodes with a stream open and acknowledged both ways, so that counting starts from a quiet
 * link; `send` writes one small message and waits until the receiver has read it, so nothing is
 * batched.
 */
async function quietStream(): Promise<{ receiverPort: number; send: () => Promise<void> }> {
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
  const send = async (): Promise<void> => {
    const read = nextReceived();
    await lp.write(new Uint8Array(24));
    await read;
  };
  await send();
  const receiverPort = Number(
    receiver
      .getMultiaddrs()[0]!
      .getComponents()
      .find((c) => c.name === 'tcp')?.value,
  );
  return { receiverPort, send };
}

it('a small message costs the sender one socket write, and the receiver none', async () => {
  const { receiverPort, send } = await quietStream();
  const socketWrites = vi.spyOn(Socket.prototype, 'write');
  for (let i = 0; i < MESSAGES; i++) await send();
  // What the receiver sends back for a frame (a window update) is written as it handles it; a
  // turn of the event loop lets anything queued reach the socket.
  await new Promise((resolve) => setImmediate(resolve));
  const writers = socketWrites.mock.contexts as Socket[];
  expect(writers.filter((socket) => socket.remotePort === receiverPort)).toHaveLength(MESSAGES);
  // The receiver still grants credit as yamux grows a busy stream's window (one update per
  // doubling, at most six, up to its 16 MB), but none for the messages themselves.
  expect(writers.filter((socket) => socket.localPort === receiverPort).length).toBeLessThan(MESSAGES / 10);
});

it('a message read raises no exception', async () => {
  const { send } = await quietStream();
  // Noise's two-byte length decoder throws `RangeError(...)` (called, not constructed) for a
  // buffer too short to hold a length, and the reader catches it to wait for more: upstream
  // asked it once more after every chunk, with the buffer empty.
  const rangeErrors = vi.spyOn(globalThis, 'RangeError');
  for (let i = 0; i < MESSAGES; i++) await send();
  expect(rangeErrors).not.toHaveBeenCalled();
});

it('a length-prefixed reader waits at a partial length prefix, and reads the frames around it', () => {
  const lengthsAsked: number[] = [];
  const decoder = new LengthPrefixedDecoder({
    lengthDecoder: (buffer) => {
      lengthsAsked.push(buffer.byteLength);
      if (buffer.byteLength < 2) throw new RangeError('too short for a length');
      const [high, low] = buffer.subarray(0, 2);
      return (high! << 8) | low!;
    },
    encodingLength: () => 2,
  });
  const frame = (n: number): number[] => [0, n, ...new Array<number>(n).fill(n)];
  const read = (bytes: number[]): number[] =>
    [...decoder.decode(Uint8Array.from(bytes))].map((b) => b.byteLength);
  expect(read([...frame(3), ...frame(5)])).toEqual([3, 5]);
  expect(read([0])).toEqual([]);
  expect(read([4, 4, 4, 4, 4])).toEqual([4]);
  // Only the partial prefix reached the length decoder short: never an empty buffer.
  expect(lengthsAsked.filter((n) => n < 2)).toEqual([1]);
});
