/**
 * When and how long to wait before retrying an upstream call: exponential backoff with full
 * jitter (each wait uniform in [0, min(max, base·2^n)]), unless the upstream says how long with
 * `retry-after-ms` / `Retry-After`.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** 429 and every 5xx are worth another try; other statuses are the caller's problem. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Full-jitter backoff for retry number `retry` (0 for the first retry).
 *
 * @example
 * backoffDelay(2, 250, 8000, Math.random); // uniform in [0, 1000)
 */
export function backoffDelay(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * The wait the upstream asked for, in ms, or undefined when it did not say. Reads OpenAI's
 * `retry-after-ms`, then `Retry-After` as seconds or an HTTP date.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, nowEpochMs: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers['retry-after'];
  if (typeof ra !== 'string' || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowEpochMs);
}
