/**
 * Turns decoded spans into what the learner consumes: LLM call records and feedback. The rules
 * of what counts live here, once, for both encodings.
 *
 * - A call is a CLIENT span with `gen_ai.operation.name` = chat or text_completion (embeddings
 *   are not routed) from any scope but the sidecar's own: a call made through the sidecar shows
 *   up twice, and the agent's client span is the one that counts.
 * - Feedback is a `switchyard.feedback` span (or any span with `switchyard.feedback.score`) whose
 *   target is its first link or `switchyard.feedback.response_id`.
 * - A span that claims to be one of these but cannot be used (bad ids, no model, score outside
 *   0..1, no target) is rejected: OTLP's partial success reports it to the sender.
 */
import {
  CACHE_STATUSES,
  type CacheStatus,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_TEXT_COMPLETION,
  ROUTE_REASONS,
  type RouteReason,
  SPAN_NAME_FEEDBACK,
} from '@switchyard/instrumentation/semconv';
import type { LlmCallRecord, QualityVerdict } from '../learning/llm-call.js';
import {
  type AttrValue,
  type IntakeSpan,
  SLOT_AGENT,
  SLOT_CACHE_STATUS,
  SLOT_COST_USD,
  SLOT_ERROR_TYPE,
  SLOT_FEEDBACK_RESPONSE_ID,
  SLOT_FEEDBACK_SCORE,
  SLOT_FEEDBACK_SOURCE,
  SLOT_FINISH_REASONS,
  SLOT_INPUT_TOKENS,
  SLOT_OPERATION,
  SLOT_OUTPUT_TOKENS,
  SLOT_REQUEST_MODEL,
  SLOT_RESPONSE_ID,
  SLOT_RESPONSE_MODEL,
  SLOT_ROUTE_MODEL,
  SLOT_ROUTE_REASON,
  SLOT_ROUTE_REQUESTED_MODEL,
  SLOT_ROUTE_RULE_ID,
  SLOT_TASK,
  SPAN_KIND_CLIENT,
  STATUS_CODE_ERROR,
} from './intake-span.js';

/** Feedback as it arrives: the verdict and how to find the call it judges. */
export interface FeedbackRecord {
  /** `traceId:spanId` of the feedback span itself, to drop a retried duplicate ('' if unknown). */
  readonly feedbackKey: string;
  /** `traceId:spanId` of the linked call span, when the feedback links to it. */
  readonly targetSpanKey?: string;
  /** The judged call's `gen_ai.response.id`, when the feedback names it. */
  readonly targetResponseId?: string;
  readonly verdict: QualityVerdict;
}

export type Extraction =
  | { readonly type: 'call'; readonly call: LlmCallRecord }
  | { readonly type: 'feedback'; readonly feedback: FeedbackRecord }
  | { readonly type: 'rejected'; readonly reason: string }
  | { readonly type: 'ignored' };

const IGNORED: Extraction = { type: 'ignored' };
const UNKNOWN = 'unknown';
const ROUTED_OPERATIONS: ReadonlySet<string> = new Set([
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_TEXT_COMPLETION,
]);
const ROUTE_REASON_SET: ReadonlySet<string> = new Set(ROUTE_REASONS);
const CACHE_STATUS_SET: ReadonlySet<string> = new Set(CACHE_STATUSES);
const NO_REASONS: readonly string[] = Object.freeze([]);

/** The key a call is found by when feedback links to its span. */
export function spanKey(traceId: string, spanId: string): string {
  return `${traceId}:${spanId}`;
}

/**
 * Classifies one decoded span.
 *
 * @example
 * const x = extractSpan(span);
 * if (x.type === 'call') join.addCall(x.call);
 */
export function extractSpan(span: IntakeSpan): Extraction {
  const a = span.attrs;
  if (a[SLOT_FEEDBACK_SCORE] !== undefined || span.name === SPAN_NAME_FEEDBACK) {
    return extractFeedback(span);
  }
  const operation = a[SLOT_OPERATION];
  if (
    typeof operation !== 'string' ||
    !ROUTED_OPERATIONS.has(operation) ||
    span.kind !== SPAN_KIND_CLIENT ||
    span.fromSidecar
  ) {
    return IGNORED;
  }
  if (span.traceId === '' || span.spanId === '') {
    return { type: 'rejected', reason: 'LLM span with a missing or malformed trace/span id' };
  }
  const requestedModel =
    str(a[SLOT_REQUEST_MODEL]) ?? str(a[SLOT_ROUTE_REQUESTED_MODEL]) ?? str(a[SLOT_RESPONSE_MODEL]);
  if (requestedModel === undefined) {
    return { type: 'rejected', reason: 'LLM span without gen_ai.request.model' };
  }
  const errorType = str(a[SLOT_ERROR_TYPE]);
  const call: LlmCallRecord = {
    traceId: span.traceId,
    spanId: span.spanId,
    responseId: str(a[SLOT_RESPONSE_ID]),
    agent: str(a[SLOT_AGENT]) ?? UNKNOWN,
    task: str(a[SLOT_TASK]) ?? UNKNOWN,
    operation,
    requestedModel,
    servedModel: str(a[SLOT_ROUTE_MODEL]) ?? str(a[SLOT_RESPONSE_MODEL]) ?? requestedModel,
    routeReason: oneOf(a[SLOT_ROUTE_REASON], ROUTE_REASON_SET) as RouteReason | undefined,
    ruleId: str(a[SLOT_ROUTE_RULE_ID]),
    cacheStatus: oneOf(a[SLOT_CACHE_STATUS], CACHE_STATUS_SET) as CacheStatus | undefined,
    inputTokens: count(a[SLOT_INPUT_TOKENS]),
    outputTokens: count(a[SLOT_OUTPUT_TOKENS]),
    costUsd: finite(a[SLOT_COST_USD]),
    startTimeUnixMs: span.startTimeUnixMs,
    durationMs: span.durationMs,
    error: span.statusCode === STATUS_CODE_ERROR || errorType !== undefined,
    errorType,
    finishReasons: reasons(a[SLOT_FINISH_REASONS]),
  };
  return { type: 'call', call };
}

function extractFeedback(span: IntakeSpan): Extraction {
  const a = span.attrs;
  const score = finite(a[SLOT_FEEDBACK_SCORE]);
  if (score === undefined || score < 0 || score > 1) {
    return {
      type: 'rejected',
      reason: 'feedback span without a switchyard.feedback.score in 0..1',
    };
  }
  const link = span.link;
  const targetSpanKey =
    link !== undefined && link.traceId !== '' && link.spanId !== ''
      ? spanKey(link.traceId, link.spanId)
      : undefined;
  const targetResponseId = str(a[SLOT_FEEDBACK_RESPONSE_ID]);
  if (targetSpanKey === undefined && targetResponseId === undefined) {
    return {
      type: 'rejected',
      reason: 'feedback span with neither a link to the call nor switchyard.feedback.response_id',
    };
  }
  const feedback: FeedbackRecord = {
    feedbackKey:
      span.traceId !== '' && span.spanId !== '' ? spanKey(span.traceId, span.spanId) : '',
    targetSpanKey,
    targetResponseId,
    verdict: {
      score,
      source: str(a[SLOT_FEEDBACK_SOURCE]) ?? UNKNOWN,
      timeUnixMs: span.startTimeUnixMs + span.durationMs,
    },
  };
  return { type: 'feedback', feedback };
}

function str(value: AttrValue): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function finite(value: AttrValue): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Token counts: non-negative integers; anything else reads as 0. */
function count(value: AttrValue): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function oneOf(value: AttrValue, allowed: ReadonlySet<string>): string | undefined {
  return typeof value === 'string' && allowed.has(value) ? value : undefined;
}

function reasons(value: AttrValue): readonly string[] {
  if (Array.isArray(value)) return value as readonly string[];
  if (typeof value === 'string' && value.length > 0) return [value];
  return NO_REASONS;
}
