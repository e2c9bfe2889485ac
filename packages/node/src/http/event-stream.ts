import type { ServerResponse } from 'node:http';
import type { Observable } from '@meshwork/core';
import { z } from 'zod';
import { createEventRing } from './event-ring.ts';
import { ApiError, type Json, type RouteDefinition } from './route.ts';
import { parseQuery } from './validation.ts';

/** One live change for the SSE stream: `event: <type>`, `data: <json>`. */
export interface LiveEvent {
  type: string;
  data: Json;
}

/**
 * The node's live feed: `event` for every change a client of `GET /v1/events` is sent. A listener
 * that throws ends that emit, and the error reaches the change that caused it: listeners must not throw.
 */
export interface LiveEvents {
  event: (event: LiveEvent) => void;
}

export interface EventStreamOptions {
  readonly live: Observable<LiveEvents>;
  /** Most concurrent clients; more get 429. */
  maxStreams: number;
  /** A client with this many bytes still unsent is dropped. */
  maxUnsentBytes: number;
  /** SSE comment interval keeping idle streams open through proxies. */
  heartbeatMs: number;
  /** Events kept for clients that resume with `Last-Event-ID`. */
  replayEvents: number;
  /** How long events are still recorded once the last client left, so it can resume. */
  lingerMs: number;
  onStreamDropped?: () => void;
  onEventStreams?: (open: number) => void;
}

export interface EventStream {
  /** `GET /v1/events`. */
  readonly route: RouteDefinition;
  /** Ends every stream and stops recording. */
  close(): void;
}

export const eventsQuery = z.strictObject({
  /** As the `Last-Event-ID` header, for clients that cannot set headers. */
  lastEventId: z.string().min(1).max(64).optional(),
});

/**
 * The live event stream. Each event has an id; a client that reconnects with `Last-Event-ID`
 * (or `?lastEventId=`) is first sent the events after it. When they are no longer held (the ring
 * overflowed, or nobody listened for a while) it gets `event: reset` instead and should read the
 * state again; the reset's id resumes from there.
 */
export function createEventStream(options: EventStreamOptions): EventStream {
  const streams = new Set<(frame: string) => void>();
  const responses = new Set<ServerResponse>();
  const ring = createEventRing(options.replayEvents);
  let recording = false;
  const onEvent = (event: LiveEvent): void => {
    const frame = ring.push(event.type, event.data);
    for (const send of streams) send(frame);
  };
  let linger: NodeJS.Timeout | undefined;

  // Recorded while a client listens and a while after, not always: every event costs its JSON.
  const record = (): void => {
    clearTimeout(linger);
    linger = undefined;
    if (!recording) options.live.on('event', onEvent);
    recording = true;
  };
  const stopRecording = (): void => {
    options.live.off('event', onEvent);
    recording = false;
    ring.gap();
  };

  const route: RouteDefinition = {
    method: 'GET',
    path: '/v1/events',
    doc: {
      summary: 'Live changes as server-sent events',
      description:
        'Events `task`, `workflow`, `removed`, `peers` and `memory`, each with an `id:`. Reconnect with `Last-Event-ID` ' +
        '(or `?lastEventId=`) to be sent the events missed; `event: reset` means they are no longer held: read the state again.',
      query: eventsQuery,
      mediaType: 'text/event-stream',
      errors: [429],
    },
    handler: ({ req, res, query }) => {
      if (streams.size >= options.maxStreams) {
        throw new ApiError(
          429,
          'too_many_streams',
          `${options.maxStreams} event streams are open (limit limits.maxEventStreams)`,
          undefined,
          { retryAfterS: 5 },
        );
      }
      const fromQuery = parseQuery(eventsQuery, query).lastEventId;
      const header = req.headers['last-event-id'];
      const lastEventId = (Array.isArray(header) ? header[0] : header) ?? fromQuery;
      record();
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      if (lastEventId !== undefined && lastEventId !== '') {
        const missed = ring.after(lastEventId);
        if (missed === undefined) {
          const reset = { reason: `events after ${lastEventId} are no longer held: read the state again` };
          res.write(`id: ${ring.position()}\nevent: reset\ndata: ${JSON.stringify(reset)}\n\n`);
        } else for (const frame of missed) res.write(frame);
      }
      // A client that does not read would make the server buffer every event for it: past the
      // bound it is dropped (it may reconnect and resume) instead of growing the heap.
      const send = (frame: string): void => {
        if (res.destroyed) return;
        if (res.writableLength > options.maxUnsentBytes) {
          options.onStreamDropped?.();
          res.destroy();
          return;
        }
        res.write(frame);
      };
      streams.add(send);
      responses.add(res);
      options.onEventStreams?.(streams.size);
      const heartbeat = setInterval(() => send(': keep-alive\n\n'), options.heartbeatMs);
      res.on('close', () => {
        clearInterval(heartbeat);
        streams.delete(send);
        responses.delete(res);
        options.onEventStreams?.(streams.size);
        if (streams.size === 0 && recording) {
          clearTimeout(linger);
          linger = setTimeout(stopRecording, options.lingerMs);
          linger.unref();
        }
      });
      return 'stream';
    },
  };

  return {
    route,
    close() {
      // Destroyed, not ended: a client that stopped reading would keep an ended stream open.
      for (const res of responses) res.destroy();
      clearTimeout(linger);
      stopRecording();
    },
  };
}
