import { DecodeError, MeshworkError } from '@meshwork/core';
import type { Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { MeshMetricsRecorder, RejectReason } from './metrics.ts';
import type { DocumentRuntime, SyncedDocument } from './synced-document.ts';
import { decodeSyncFrame, encodeSyncFrame, FRAME_OVERHEAD_BYTES, type SyncFrame } from './sync-frames.ts';

/** What a sync round needs from the node. */
export interface SyncRoundContext {
  readonly runtime: DocumentRuntime;
  /** The Documents open on this node, by name. */
  readonly documents: ReadonlyMap<string, SyncedDocument>;
  readonly metrics: MeshMetricsRecorder;
  /** Largest frame sent or accepted, in bytes. */
  readonly maxFrameBytes: number;
  /** Bytes a stream buffers before the reader takes them. */
  readonly maxBufferBytes: number;
  readonly roundTimeoutMs: number;
  /** A peer lacking at least this many events, and a quarter of ours, gets a snapshot. */
  readonly snapshotMinEvents: number;
  /** Records a `meshwork.sync.round` span per round (a no-op tracer when tracing is off). */
  readonly tracer: Tracer;
}

/** The round was abandoned because of what the peer sent. */
export class SyncRejection extends MeshworkError {
  override readonly name = 'SyncRejection';
  /** The refusal metric's label for it. */
  readonly reason: RejectReason;

  constructor(reason: RejectReason, message: string) {
    super(reason.replaceAll('-', '_'), `${reason}: ${message}`);
    this.reason = reason;
  }
}

/**
 * One anti-entropy round of `/meshwork/sync/3` over `stream`. Half duplex, so
 * awaiting each write is all the backpressure needed and two peers never
 * block on each other's full windows:
 *
 *   initiator → digests of its Documents, end
 *   responder → what the initiator lacks (an update, or snapshot chunks), its own digests of the
 *               Documents both have, end
 *   initiator → what the responder lacks, end          (done)
 *   responder → end                                     (acknowledged)
 *
 * Only Documents open on both nodes are synced. Anything the peer sends that
 * does not fit is counted by reason and ends the round; the stream is aborted.
 */
export async function runSyncRound(
  stream: Stream,
  ctx: SyncRoundContext,
  peer: string,
  initiator: boolean,
): Promise<{ eventsApplied: number }> {
  const started = Date.now();
  const signal = AbortSignal.timeout(ctx.roundTimeoutMs);
  const lp = lpStream(stream, { maxDataLength: ctx.maxFrameBytes, maxBufferSize: ctx.maxBufferBytes });
  const round = new Round(lp, ctx, peer, signal);
  // Its own trace: a round is caused by a timer or a connection, never by what else is running.
  const span = ctx.tracer.startSpan(
    'meshwork.sync.round',
    {
      kind: initiator ? SpanKind.CLIENT : SpanKind.SERVER,
      attributes: { 'meshwork.peer': peer, 'meshwork.sync.initiator': initiator },
    },
    ROOT_CONTEXT,
  );
  try {
    if (initiator) {
      await round.sendDigests(ctx.documents.keys());
      await round.send({ kind: 'end' });
      const theirs = await round.receive('changes-and-digests');
      await round.sendChanges(theirs);
      await round.send({ kind: 'end' });
      await round.receive('end');
    } else {
      const theirs = await round.receive('digests');
      await round.sendChanges(theirs);
      await round.sendDigests(theirs.keys());
      await round.send({ kind: 'end' });
      await round.receive('changes');
      await round.send({ kind: 'end' });
    }
    await stream.close({ signal });
    ctx.metrics.record({
      type: 'sync-round',
      peer,
      initiator,
      outcome: 'completed',
      durationMs: Date.now() - started,
      snapshots: round.snapshots,
    });
    endSpan(span, round);
    return { eventsApplied: round.eventsApplied };
  } catch (err) {
    const rejection = classify(err, signal);
    if (rejection !== undefined) {
      ctx.metrics.record({
        type: 'rejected',
        protocol: 'sync',
        reason: rejection.reason,
        peer,
        detail: rejection.message,
      });
    }
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    ctx.metrics.record({
      type: 'sync-round',
      peer,
      initiator,
      outcome: 'failed',
      durationMs: Date.now() - started,
      snapshots: round.snapshots,
    });
    endSpan(span, round, rejection?.message ?? message(err));
    throw rejection ?? err;
  }
}

function endSpan(span: Span, round: Round, failure?: string): void {
  span.setAttributes({
    'meshwork.sync.events_applied': round.eventsApplied,
    'meshwork.sync.snapshots': round.snapshots,
  });
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}

type Phase = 'digests' | 'changes-and-digests' | 'changes' | 'end';

/** Most digest frames a peer may send in one round (one per Document it has open). */
const MAX_DIGESTS_PER_ROUND = 4096;

class Round {
  snapshots = 0;
  eventsApplied = 0;
  private readonly lp: LengthPrefixedStream<Stream>;
  private readonly ctx: SyncRoundContext;
  private readonly peer: string;
  private readonly signal: AbortSignal;

  constructor(lp: LengthPrefixedStream<Stream>, ctx: SyncRoundContext, peer: string, signal: AbortSignal) {
    this.lp = lp;
    this.ctx = ctx;
    this.peer = peer;
    this.signal = signal;
  }

  async send(frame: SyncFrame): Promise<void> {
    const bytes = encodeSyncFrame(frame);
    await this.lp.write(bytes, { signal: this.signal });
    this.ctx.metrics.record({
      type: 'message',
      direction: 'out',
      protocol: 'sync',
      bytes: bytes.byteLength,
      peer: this.peer,
    });
  }

  async sendDigests(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      const doc = this.ctx.documents.get(name);
      if (doc === undefined) continue;
      await this.send({
        kind: 'digest',
        document: name,
        digest: this.ctx.runtime.encodeDigest(doc.digest()),
      });
    }
  }

  /** Sends, for each Document the peer gave a digest of, what the peer lacks. */
  async sendChanges(theirDigests: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const room = this.ctx.maxFrameBytes - FRAME_OVERHEAD_BYTES;
    for (const [name, encoded] of theirDigests) {
      const doc = this.ctx.documents.get(name);
      if (doc === undefined) continue;
      let digest: unknown;
      try {
        digest = this.ctx.runtime.decodeDigest(encoded);
      } catch (err) {
        throw new SyncRejection('malformed', `digest of ${name}: ${message(err)}`);
      }
      if (!this.prefersSnapshot(doc, digest)) {
        const changes = doc.changesSince(digest);
        if (changes.covered && changes.update.byteLength <= room) {
          await this.send({ kind: 'update', document: name, update: changes.update });
          continue;
        }
      }
      // The peer lacks much of the state, the log no longer covers it, or the
      // catch-up is too big for one frame: send the state itself.
      this.snapshots++;
      for (const chunk of doc.snapshot({ maxChunkBytes: room })) {
        await this.send({ kind: 'snapshot-chunk', document: name, chunk });
      }
    }
  }

  private prefersSnapshot(doc: SyncedDocument, theirs: unknown): boolean {
    const estimate = this.ctx.runtime.estimateLacking?.(doc.digest(), theirs);
    if (estimate === undefined) return false;
    return estimate.lacking >= this.ctx.snapshotMinEvents && estimate.lacking * 4 >= estimate.total;
  }

  /** Reads frames up to the peer's end of `phase`; returns the digests it sent. */
  async receive(phase: Phase): Promise<Map<string, Uint8Array>> {
    const digests = new Map<string, Uint8Array>();
    let digestFrames = 0;
    for (;;) {
      const frame = await this.read();
      switch (frame.kind) {
        case 'end':
          return digests;
        case 'digest':
          if (phase !== 'digests' && phase !== 'changes-and-digests') {
            throw new SyncRejection('protocol-violation', `digest during ${phase}`);
          }
          // Digests of Documents not open here are ignored, but their number is bounded.
          if (digests.has(frame.document) || ++digestFrames > MAX_DIGESTS_PER_ROUND) {
            throw new SyncRejection('protocol-violation', `repeated or excess digest ${frame.document}`);
          }
          if (this.ctx.documents.has(frame.document)) digests.set(frame.document, frame.digest);
          break;
        case 'update':
        case 'snapshot-chunk': {
          if (phase !== 'changes' && phase !== 'changes-and-digests') {
            throw new SyncRejection('protocol-violation', `${frame.kind} during ${phase}`);
          }
          const doc = this.ctx.documents.get(frame.document);
          if (doc === undefined) throw new SyncRejection('protocol-violation', `unasked ${frame.document}`);
          this.apply(doc, frame.kind === 'update' ? frame.update : frame.chunk);
          break;
        }
      }
    }
  }

  private apply(doc: SyncedDocument, bytes: Uint8Array): void {
    let result;
    try {
      result = doc.apply(bytes, { via: 'sync', peer: this.peer });
    } catch (err) {
      throw new SyncRejection('invalid-update', `${doc.name}: ${message(err)}`);
    }
    this.eventsApplied += result.events;
    if (result.events > 0 || result.duplicates > 0) {
      this.ctx.metrics.record({
        type: 'applied',
        document: doc.name,
        via: 'sync',
        peer: this.peer,
        events: result.events,
        duplicates: result.duplicates,
      });
    }
  }

  private async read(): Promise<SyncFrame> {
    const bytes = (await this.lp.read({ signal: this.signal })).subarray();
    this.ctx.metrics.record({
      type: 'message',
      direction: 'in',
      protocol: 'sync',
      bytes: bytes.byteLength,
      peer: this.peer,
    });
    try {
      return decodeSyncFrame(bytes);
    } catch (err) {
      throw new SyncRejection('malformed', message(err));
    }
  }
}

/** Maps a failure to the peer's fault it shows, if any; network failures are not rejections. */
function classify(err: unknown, signal: AbortSignal): SyncRejection | undefined {
  if (err instanceof SyncRejection) return err;
  if (signal.aborted) return new SyncRejection('timeout', 'round did not finish in time');
  if (err instanceof DecodeError) return new SyncRejection('malformed', err.message);
  const name = err instanceof Error ? err.name : '';
  switch (name) {
    case 'InvalidDataLengthError':
    case 'InvalidDataLengthLengthError':
    case 'StreamBufferError':
      return new SyncRejection('oversized', message(err));
    case 'InvalidMessageLengthError':
      return new SyncRejection('malformed', message(err));
    case 'UnexpectedEOFError':
      return new SyncRejection('truncated', message(err));
    default:
      return undefined;
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
