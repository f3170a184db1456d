/**
 * The few facts intake keeps of a span, whichever encoding it arrived in. Both decoders
 * (protobuf and JSON) produce these only for spans that could matter to the learner (those with
 * `gen_ai.operation.name` or a feedback marker); every other span is counted and dropped unread.
 */
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SWITCHYARD_CACHE_STATUS,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_ROUTE_MODEL,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_ROUTE_REQUESTED_MODEL,
  ATTR_SWITCHYARD_ROUTE_RULE_ID,
  ATTR_SWITCHYARD_TASK_TYPE,
} from '@switchyard/instrumentation/semconv';

/** An attribute value as intake keeps it: arrays only of strings (finish reasons). */
export type AttrValue = string | number | boolean | readonly string[] | undefined;

/**
 * The attributes intake reads, by slot. Decoders match keys against this table and never build
 * anything for keys outside it. The order is the slot number.
 */
export const WANTED_ATTRIBUTES = [
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_SWITCHYARD_TASK_TYPE,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_ROUTE_REQUESTED_MODEL,
  ATTR_SWITCHYARD_ROUTE_MODEL,
  ATTR_SWITCHYARD_ROUTE_RULE_ID,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_CACHE_STATUS,
  ATTR_ERROR_TYPE,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID,
] as const;

export const SLOT_OPERATION = 0;
export const SLOT_REQUEST_MODEL = 1;
export const SLOT_RESPONSE_MODEL = 2;
export const SLOT_RESPONSE_ID = 3;
export const SLOT_FINISH_REASONS = 4;
export const SLOT_INPUT_TOKENS = 5;
export const SLOT_OUTPUT_TOKENS = 6;
export const SLOT_AGENT = 7;
export const SLOT_TASK = 8;
export const SLOT_COST_USD = 9;
export const SLOT_ROUTE_REQUESTED_MODEL = 10;
export const SLOT_ROUTE_MODEL = 11;
export const SLOT_ROUTE_RULE_ID = 12;
export const SLOT_ROUTE_REASON = 13;
export const SLOT_CACHE_STATUS = 14;
export const SLOT_ERROR_TYPE = 15;
export const SLOT_FEEDBACK_SCORE = 16;
export const SLOT_FEEDBACK_SOURCE = 17;
export const SLOT_FEEDBACK_RESPONSE_ID = 18;
export const SLOT_COUNT = WANTED_ATTRIBUTES.length;

/** OTLP `Span.SpanKind` values. */
export const SPAN_KIND_CLIENT = 3;
/** OTLP `Status.StatusCode` values. */
export const STATUS_CODE_ERROR = 2;

/** A link's target, as lowercase hex ids (empty when the link's ids were malformed). */
export interface IntakeLink {
  readonly traceId: string;
  readonly spanId: string;
}

/** One span that may be an LLM call or a feedback span. */
export interface IntakeSpan {
  /** Lowercase hex; empty when the id was missing or not 16 bytes. */
  readonly traceId: string;
  /** Lowercase hex; empty when the id was missing or not 8 bytes. */
  readonly spanId: string;
  readonly name: string;
  /** OTLP SpanKind number (0 when absent). */
  readonly kind: number;
  /** The span came from the sidecar's own instrumentation scope (`SCOPE_SIDECAR`). */
  readonly fromSidecar: boolean;
  readonly startTimeUnixMs: number;
  readonly durationMs: number;
  /** OTLP StatusCode number (0 = unset). */
  readonly statusCode: number;
  /** Wanted attribute values by slot (`WANTED_ATTRIBUTES`). */
  readonly attrs: readonly AttrValue[];
  /** The first link, if any: feedback spans point at the call they judge this way. */
  readonly link?: IntakeLink;
}

/** What a decoder returns: every span counted, only the relevant ones kept. */
export interface DecodedBatch {
  readonly totalSpans: number;
  readonly spans: IntakeSpan[];
}

/** A payload that is not a valid OTLP ExportTraceServiceRequest; intake answers 400. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}
