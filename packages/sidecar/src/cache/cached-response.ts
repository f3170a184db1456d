/**
 * What the cache stores for one answered request, and how it is written to Redis.
 *
 * The Redis form is a one-line JSON header followed by the body verbatim, so a large JSON body or
 * SSE transcript is never escaped a second time (the header holds only short metadata). Anything
 * that does not parse back exactly is treated as a miss: a corrupt or foreign entry must never be
 * served.
 */

/** One cached answer. `body` is the JSON body, or the full SSE transcript when `stream`. */
export interface CachedResponse {
  readonly status: number;
  /** The JSON body, or the full SSE transcript (`data: ...\n\n` frames through `[DONE]`). */
  readonly body: string;
  readonly stream: boolean;
  /** The model that answered (what `x-switchyard-model` and the body's `model` say). */
  readonly model: string;
  /** Epoch milliseconds when the answer was stored. */
  readonly storedAt: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/** What the Redis tier reads back: the entry and when it expires (epoch ms), if known. */
export interface DecodedCachedResponse {
  readonly entry: CachedResponse;
  readonly expiresAt?: number;
}

// Bump when the layout changes: old entries then read as misses instead of being misread.
const MAGIC = 'sy1 ';

interface Header {
  s: number;
  t: 0 | 1;
  m: string;
  a: number;
  i?: number;
  o?: number;
  e?: number;
}

/**
 * Encodes an entry for Redis.
 *
 * @example
 * redis.set(key, serializeCachedResponse(entry, Date.now() + ttlMs), 'PX', ttlMs);
 */
export function serializeCachedResponse(entry: CachedResponse, expiresAt?: number): string {
  const header: Header = {
    s: entry.status,
    t: entry.stream ? 1 : 0,
    m: entry.model,
    a: entry.storedAt,
  };
  if (entry.inputTokens !== undefined) header.i = entry.inputTokens;
  if (entry.outputTokens !== undefined) header.o = entry.outputTokens;
  if (expiresAt !== undefined) header.e = expiresAt;
  // JSON.stringify escapes newlines inside strings, so the first '\n' always ends the header.
  return `${MAGIC}${JSON.stringify(header)}\n${entry.body}`;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * Decodes what `serializeCachedResponse` wrote. Returns `undefined` for anything else (a corrupt,
 * truncated or foreign value), which callers treat as a miss.
 */
export function deserializeCachedResponse(
  raw: string | null | undefined,
): DecodedCachedResponse | undefined {
  if (typeof raw !== 'string' || !raw.startsWith(MAGIC)) return undefined;
  const newline = raw.indexOf('\n', MAGIC.length);
  if (newline < 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.slice(MAGIC.length, newline));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  const h = header as Record<string, unknown>;
  const status = h.s;
  if (!isCount(status) || status < 100 || status > 599) return undefined;
  if (h.t !== 0 && h.t !== 1) return undefined;
  if (typeof h.m !== 'string' || !isCount(h.a)) return undefined;
  if (h.i !== undefined && !isCount(h.i)) return undefined;
  if (h.o !== undefined && !isCount(h.o)) return undefined;
  if (h.e !== undefined && !isCount(h.e)) return undefined;
  const entry: CachedResponse = {
    status,
    body: raw.slice(newline + 1),
    stream: h.t === 1,
    model: h.m,
    storedAt: h.a,
    ...(h.i !== undefined ? { inputTokens: h.i as number } : {}),
    ...(h.o !== undefined ? { outputTokens: h.o as number } : {}),
  };
  return h.e !== undefined ? { entry, expiresAt: h.e as number } : { entry };
}
