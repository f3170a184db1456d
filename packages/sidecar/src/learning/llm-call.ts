/**
 * What span intake hands to the learner: one record per LLM call, and quality verdicts joined to
 * the call they judge. Intake (OTLP decoding, extraction, the feedback join) produces these;
 * the learner only consumes them through a `LearningSink`.
 */
import type { CacheStatus, RouteReason } from '@switchyard/instrumentation/semconv';

export interface LlmCallRecord {
  /** Hex ids of the client span that made the call. */
  readonly traceId: string;
  readonly spanId: string;
  readonly responseId?: string;
  /** `gen_ai.agent.name`, or `unknown`. */
  readonly agent: string;
  /** `switchyard.task.type`, or `unknown`. */
  readonly task: string;
  readonly operation: string;
  /** `gen_ai.request.model`: what the application asked for. */
  readonly requestedModel: string;
  /** The model that answered: `switchyard.route.model`, else `gen_ai.response.model`, else requested. */
  readonly servedModel: string;
  readonly routeReason?: RouteReason;
  readonly ruleId?: string;
  readonly cacheStatus?: CacheStatus;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd?: number;
  readonly startTimeUnixMs: number;
  readonly durationMs: number;
  readonly error: boolean;
  readonly errorType?: string;
  readonly finishReasons: readonly string[];
}

export interface QualityVerdict {
  /** 0..1, higher is better. */
  readonly score: number;
  /** Who judged: `reviewer`, `validator`, `user`, `judge`, ... */
  readonly source: string;
  readonly timeUnixMs: number;
}

/** The learner's intake port. Implementations must be cheap and must not throw. */
export interface LearningSink {
  recordCall(call: LlmCallRecord): void;
  recordVerdict(call: LlmCallRecord, verdict: QualityVerdict): void;
}
