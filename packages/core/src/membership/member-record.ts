import { DecodeError } from '../codec/decode-error.ts';
import type { Reader } from '../codec/reader.ts';
import { readValue, writeValue } from '../codec/value.ts';
import { isValue } from '../codec/value-validation.ts';
import type { Writer } from '../codec/writer.ts';
import type { ReplicaId } from '../replica.ts';
import type { PresenceState } from './presence-channel.ts';

/**
 * One node's own announcement, as it floods the mesh: its state and the neighbours it has live
 * links to. Only the node itself writes its record, so a record at a higher incarnation replaces
 * the one before. Incarnations start from the wall clock, so a restarted node supersedes what
 * the mesh remembers of its previous run.
 */
export interface MemberRecord {
  readonly node: ReplicaId;
  readonly incarnation: number;
  /** `left` once the node said goodbye; its links are then empty. */
  readonly status: 'alive' | 'left';
  readonly state: PresenceState;
  /** Neighbours this node hears heartbeats from, sorted. */
  readonly links: readonly ReplicaId[];
  /** When the node wrote it, on its own clock. */
  readonly at: number;
  /** The node's signature over the record, when the transport signs them; else empty. */
  readonly proof: Uint8Array;
}

/** Whether `next` replaces `current`: a higher incarnation, or the goodbye of the same one. */
export function supersedes(next: MemberRecord, current: MemberRecord | undefined): boolean {
  if (current === undefined) return true;
  if (next.incarnation !== current.incarnation) return next.incarnation > current.incarnation;
  return next.status === 'left' && current.status === 'alive';
}

/**
 * A record's fields but the proof. Node ids go through `id`: in full for the bytes a node signs,
 * interned (see Writer.replica) on the wire.
 */
function writeFields(w: Writer, r: Omit<MemberRecord, 'proof'>, id: (node: ReplicaId) => void): void {
  id(r.node);
  w.uint(r.incarnation);
  w.byte(r.status === 'alive' ? 0 : 1);
  w.uint(r.at);
  w.uint(r.links.length);
  for (const l of r.links) id(l);
  writeValue(w, r.state);
}

/** The bytes a node signs: everything in its record but the proof. */
export function writeClaim(w: Writer, r: Omit<MemberRecord, 'proof'>): void {
  writeFields(w, r, (node) => w.string(node));
}

export function writeMemberRecord(w: Writer, r: MemberRecord): void {
  writeFields(w, r, (node) => w.replica(node));
  w.bytes(r.proof);
}

export function readMemberRecord(r: Reader, maxLinks: number): MemberRecord {
  const node = r.replica('member');
  const incarnation = r.uint('incarnation');
  const code = r.byte('status');
  if (code > 1) throw new DecodeError('invalid', `member status ${code}`);
  const at = r.uint('at');
  const n = r.count('links');
  if (n > maxLinks) throw new DecodeError('too_large', `${n} links exceed ${maxLinks}`);
  const links: ReplicaId[] = [];
  for (let i = 0; i < n; i++) links.push(r.replica('link'));
  const state = readValue(r);
  if (!isPresenceState(state)) throw new DecodeError('invalid', 'member state is not an object');
  const proof = r.bytes('proof');
  return { node, incarnation, status: code === 0 ? 'alive' : 'left', state, links, at, proof };
}

export function isPresenceState(v: unknown): v is PresenceState {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && isValue(v);
}

/** A record version's 64-bit hash, as two 32-bit halves. */
export type VersionHash = readonly [number, number];

/**
 * A 64-bit hash of what identifies a record's version (node, incarnation, status). Tables XOR
 * these into an order-free digest that neighbours compare, and list them in summaries.
 */
export function versionHash(r: MemberRecord): VersionHash {
  const status = r.status === 'alive' ? 0 : 1;
  let h1 = 0xdeadbeef ^ r.incarnation;
  let h2 = 0x41c6ce57 ^ Math.floor(r.incarnation / 2 ** 32) ^ status;
  for (let i = 0; i < r.node.length; i++) {
    const c = r.node.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}
