import type { Json } from './http/route.ts';

/** Plain JSON of a value from shared state: byte arrays become base64 strings. */
export function toJson(v: unknown): Json {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)),
  ) as Json;
}
