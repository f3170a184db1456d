/**
 * The state of one proxied request as it moves through validation, routing, cache and upstream:
 * what the answer headers, the log line, the metrics and the span are made from.
 */
import type { Span } from '@opentelemetry/api';
import {
  type CacheStatus,
  HEADER_REQUEST_ID,
  HEADER_SWITCHYARD_CACHE,
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
  type RouteReason,
} from '@switchyard/instrumentation/semconv';
import type { ObservedUsage } from './stream-observer.js';

export class Exchange {
  readonly requestId: string;
  readonly start: number;
  requestedModel: string | undefined = undefined;
  /** The model the router chose (before any fallback). */
  routedModel: string | undefined = undefined;
  /** The model that answered. */
  servedModel: string | undefined = undefined;
  reason: RouteReason | undefined = undefined;
  ruleId: string | undefined = undefined;
  cacheStatus: CacheStatus = 'bypass';
  stream = false;
  usage: ObservedUsage | undefined = undefined;
  finishReasons: readonly string[] | undefined = undefined;
  responseId: string | undefined = undefined;
  /** The client went away before the answer was complete. */
  clientGone = false;
  errorType: string | undefined = undefined;
  span: Span | undefined = undefined;
  agent: string | undefined = undefined;
  task: string | undefined = undefined;

  constructor(requestId: string, start: number) {
    this.requestId = requestId;
    this.start = start;
  }

  /** The headers every answer carries. */
  answerHeaders(): Record<string, string> {
    return {
      [HEADER_REQUEST_ID]: this.requestId,
      [HEADER_SWITCHYARD_MODEL]: headerSafe(
        this.servedModel ?? this.routedModel ?? this.requestedModel ?? 'none',
      ),
      [HEADER_SWITCHYARD_RULE]: this.ruleId === undefined ? 'none' : headerSafe(this.ruleId),
      [HEADER_SWITCHYARD_CACHE]: this.cacheStatus,
      [HEADER_SWITCHYARD_ROUTE_REASON]: this.reason ?? 'default',
    };
  }
}

const UNSAFE_HEADER_CHARS = /[^\t\x20-\x7e]/;

/**
 * A model name or rule id as a header value. Names come from clients and learners; one with a
 * newline or a non-ASCII character would make Node refuse the whole answer, so such values are
 * percent-encoded instead.
 */
export function headerSafe(value: string): string {
  return UNSAFE_HEADER_CHARS.test(value) ? encodeURIComponent(value) : value;
}
