/** An answer other than 2xx, with the API's error code and message. */
export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface ApiClient {
  get<T>(this: void, path: string): Promise<T>;
  post<T>(this: void, path: string, body: unknown): Promise<T>;
  /** Headers every request carries: the key, once entered. */
  headers: () => Record<string, string>;
}

function errorOf(status: number, text: string): ApiFailure {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error !== undefined)
      return new ApiFailure(status, body.error.code ?? 'error', body.error.message ?? text);
  } catch {
    // Not the API's JSON error: the text is the message.
  }
  return new ApiFailure(status, 'error', text || `HTTP ${status}`);
}

/** The API of the daemon that served the page (same origin), with the key the page holds. */
export function createApiClient(key: () => string): ApiClient {
  const headers = (): Record<string, string> => {
    const k = key();
    return k === '' ? {} : { authorization: `Bearer ${k}` };
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(path, {
      method,
      headers: { ...headers(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw errorOf(res.status, text);
    return JSON.parse(text) as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    headers,
  };
}
