import type { RouteReason } from '@switchyard/instrumentation/semconv';
import type { CachedResponse } from '../cache/cached-response.js';
import type { ObservedUsage } from './stream-observer.js';

/**
 * One upstream answer as the leader of a (possibly coalesced) request produced it. Followers
 * replay `entry`; the leader has already written it when `written` is true (a piped stream).
 */
export interface ProducedAnswer {
  readonly entry: CachedResponse;
  /** The upstream's body bytes (JSON answers), written as is instead of re-encoding `entry.body`. */
  readonly raw: Buffer | undefined;
  readonly reason: RouteReason;
  readonly usage: ObservedUsage | undefined;
  readonly finishReasons: readonly string[] | undefined;
  readonly responseId: string | undefined;
  /** Upstream headers passed back to the leader's client. */
  readonly passHeaders: Record<string, string> | undefined;
  readonly written: boolean;
}
