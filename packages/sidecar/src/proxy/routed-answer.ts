/**
 * The optional hook through which the proxy reports a non-streamed chat answer that a routed
 * (cheaper) model served instead of the requested one. The learning plugin uses it for shadow
 * judging. When no plugin provides the hook the proxy does one `undefined` check per request.
 */
import type { RouteReason } from '@switchyard/instrumentation/semconv';
import type { ObservedUsage } from './stream-observer.js';

/** One routed answer, as the proxy served it. Holds prompt text: never log it. */
export interface RoutedAnswer {
  readonly requestedModel: string;
  readonly servedModel: string;
  readonly reason: RouteReason;
  readonly ruleId: string | undefined;
  readonly agent: string | undefined;
  readonly task: string | undefined;
  /** The request body as the client sent it (model = requested model). */
  readonly body: Readonly<Record<string, unknown>>;
  /** The text of the first choice's message. */
  readonly answerText: string;
  readonly responseId: string | undefined;
  readonly finishReasons: readonly string[] | undefined;
  readonly usage: ObservedUsage | undefined;
  /** The caller's `Authorization` header, for a baseline call with the caller's key. */
  readonly authorization: string | undefined;
  /** Epoch ms when the request arrived, and how long the upstream took to answer. */
  readonly startTimeUnixMs: number;
  readonly durationMs: number;
}

export interface RoutedAnswerHook {
  /**
   * Asked first, before anything is parsed: true when this answer would be used (the sample,
   * budget and concurrency allow). Must be cheap.
   */
  wants(): boolean;
  /** Takes the answer; must return at once and never throw (work happens in the background). */
  take(answer: RoutedAnswer): void;
}
