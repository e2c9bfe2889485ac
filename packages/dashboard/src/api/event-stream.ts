/** One server-sent event. */
export interface StreamEvent {
  type: string;
  data: string;
}

export interface EventStreamOptions {
  url: string;
  headers: () => Record<string, string>;
  onEvent: (event: StreamEvent) => void;
  /** Connected (true) or lost (false); it reconnects by itself. */
  onState: (connected: boolean) => void;
  retryMs?: number;
}

/** Splits a text/event-stream body into events (`event:` and `data:` lines, blank line ends one). */
export function createEventParser(emit: (event: StreamEvent) => void): (chunk: string) => void {
  let buffer = '';
  let type = 'message';
  let data: string[] = [];
  return (chunk) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) emit({ type, data: data.join('\n') });
        type = 'message';
        data = [];
      } else if (line.startsWith('event:')) {
        type = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  };
}

/**
 * `GET /v1/events` read with fetch rather than EventSource, which cannot send the key header a
 * daemon listening beyond loopback wants for reads. Returns a function that closes it.
 */
export function openEventStream(o: EventStreamOptions): () => void {
  let closed = false;
  let controller: AbortController | undefined;
  const connect = async (): Promise<void> => {
    while (!closed) {
      controller = new AbortController();
      try {
        const res = await fetch(o.url, { headers: o.headers(), signal: controller.signal });
        if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
        o.onState(true);
        const parse = createEventParser(o.onEvent);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parse(value);
        }
      } catch {
        // Refused or cut: reconnect below.
      }
      if (closed) return;
      o.onState(false);
      await new Promise((r) => setTimeout(r, o.retryMs ?? 2_000));
    }
  };
  void connect();
  return () => {
    closed = true;
    controller?.abort();
  };
}
