/**
 * Decodes an OTLP `ExportTraceServiceRequest` in the OTLP/JSON encoding: lowerCamelCase keys
 * (snake_case accepted too, as protobuf JSON parsers do), trace and span ids as hex (base64 also
 * accepted from senders that use the generic protobuf JSON mapping), 64-bit integers as numbers
 * or decimal strings, enums as numbers or their names. Unknown keys are ignored, as the spec
 * requires of receivers.
 */
import { SCOPE_SIDECAR, SPAN_NAME_FEEDBACK } from '@switchyard/instrumentation/semconv';
import {
  type AttrValue,
  type DecodedBatch,
  type IntakeLink,
  type IntakeSpan,
  OtlpDecodeError,
  SLOT_COUNT,
  SLOT_FEEDBACK_SCORE,
  SLOT_OPERATION,
  SPAN_KIND_CLIENT,
  WANTED_ATTRIBUTES,
} from './intake-span.js';

type Json = Record<string, unknown>;

const SLOT_BY_KEY = new Map<string, number>(WANTED_ATTRIBUTES.map((key, slot) => [key, slot]));
const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};
const HEX_ID = /^[0-9a-fA-F]+$/;

/**
 * Decodes OTLP/JSON text; throws `OtlpDecodeError` when it is not JSON or not shaped like a
 * trace export request.
 *
 * @example
 * const batch = decodeOtlpJson('{"resourceSpans":[]}'); // { totalSpans: 0, spans: [] }
 */
export function decodeOtlpJson(text: string): DecodedBatch {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(root)) throw new OtlpDecodeError('the request body must be a JSON object');
  const spans: IntakeSpan[] = [];
  let totalSpans = 0;
  for (const rs of listOf(root, 'resourceSpans', 'resource_spans')) {
    if (!isObject(rs)) throw new OtlpDecodeError('resourceSpans[] must hold objects');
    for (const ss of listOf(rs, 'scopeSpans', 'scope_spans')) {
      if (!isObject(ss)) throw new OtlpDecodeError('scopeSpans[] must hold objects');
      const scope = ss.scope;
      const fromSidecar = isObject(scope) && scope.name === SCOPE_SIDECAR;
      for (const span of listOf(ss, 'spans', 'spans')) {
        if (!isObject(span)) throw new OtlpDecodeError('spans[] must hold objects');
        totalSpans++;
        const decoded = decodeSpan(span, fromSidecar);
        if (decoded !== undefined) spans.push(decoded);
      }
    }
  }
  return { totalSpans, spans };
}

function decodeSpan(span: Json, fromSidecar: boolean): IntakeSpan | undefined {
  const list = span.attributes;
  let attrs: AttrValue[] | undefined;
  if (Array.isArray(list)) {
    for (const kv of list) {
      if (!isObject(kv) || typeof kv.key !== 'string') continue;
      const slot = SLOT_BY_KEY.get(kv.key);
      if (slot === undefined) continue;
      attrs ??= new Array<AttrValue>(SLOT_COUNT);
      attrs[slot] = anyValue(kv.value);
    }
  }
  const name = typeof span.name === 'string' ? span.name : '';
  const isFeedback = attrs?.[SLOT_FEEDBACK_SCORE] !== undefined || name === SPAN_NAME_FEEDBACK;
  const kind = enumOf(span.kind, SPAN_KINDS);
  // Only CLIENT spans from other scopes can be calls (see span-extractor.ts).
  if (
    !isFeedback &&
    (attrs?.[SLOT_OPERATION] === undefined || kind !== SPAN_KIND_CLIENT || fromSidecar)
  ) {
    return undefined;
  }

  const start = nanosToMs(pick(span, 'startTimeUnixNano', 'start_time_unix_nano'));
  const end = nanosToMs(pick(span, 'endTimeUnixNano', 'end_time_unix_nano'));
  const status = span.status;
  let link: IntakeLink | undefined;
  const links = span.links;
  if (Array.isArray(links) && isObject(links[0])) {
    const first = links[0];
    link = {
      traceId: idOf(pick(first, 'traceId', 'trace_id'), 16),
      spanId: idOf(pick(first, 'spanId', 'span_id'), 8),
    };
  }
  return {
    traceId: idOf(pick(span, 'traceId', 'trace_id'), 16),
    spanId: idOf(pick(span, 'spanId', 'span_id'), 8),
    name,
    kind,
    fromSidecar,
    startTimeUnixMs: start,
    durationMs: end > start ? end - start : 0,
    statusCode: isObject(status) ? enumOf(status.code, STATUS_CODES) : 0,
    attrs: attrs ?? new Array<AttrValue>(SLOT_COUNT),
    link,
  };
}

function anyValue(value: unknown): AttrValue {
  if (!isObject(value)) return undefined;
  const s = pick(value, 'stringValue', 'string_value');
  if (typeof s === 'string') return s;
  const b = pick(value, 'boolValue', 'bool_value');
  if (typeof b === 'boolean') return b;
  const i = pick(value, 'intValue', 'int_value');
  if (i !== undefined) return toNumber(i);
  const d = pick(value, 'doubleValue', 'double_value');
  if (d !== undefined) return toNumber(d);
  const a = pick(value, 'arrayValue', 'array_value');
  if (isObject(a) && Array.isArray(a.values)) {
    const out: string[] = [];
    for (const element of a.values) {
      if (!isObject(element)) continue;
      const text = pick(element, 'stringValue', 'string_value');
      if (typeof text === 'string') out.push(text);
    }
    return out;
  }
  return undefined;
}

/** A JSON int64/double: a number, or a decimal string (also `NaN`/`Infinity` for doubles). */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.length > 0) {
    const n = Number(value);
    return Number.isNaN(n) && value !== 'NaN' ? undefined : n;
  }
  return undefined;
}

/** Nanoseconds (number or decimal string, possibly beyond 2^53) to milliseconds. */
function nanosToMs(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value / 1e6 : 0;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return 0;
  // Split so the whole-millisecond part stays exact even where the nanoseconds would not.
  if (value.length <= 6) return Number(value) / 1e6;
  return Number(value.slice(0, -6)) + Number(value.slice(-6)) / 1e6;
}

/** A hex id (or base64, from generic protobuf JSON writers) of `bytes` bytes; '' if invalid. */
function idOf(value: unknown, bytes: number): string {
  if (typeof value !== 'string') return '';
  if (value.length === bytes * 2 && HEX_ID.test(value)) return value.toLowerCase();
  if (value.length === Math.ceil(bytes / 3) * 4) {
    const raw = Buffer.from(value, 'base64');
    if (raw.length === bytes) return raw.toString('hex');
  }
  return '';
}

function enumOf(value: unknown, names: Record<string, number>): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') return Object.hasOwn(names, value) ? names[value]! : 0;
  return 0;
}

function listOf(obj: Json, camel: string, snake: string): readonly unknown[] {
  const value = pick(obj, camel, snake);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${camel} must be an array`);
  return value;
}

function pick(obj: Json, camel: string, snake: string): unknown {
  const value = obj[camel];
  return value === undefined ? obj[snake] : value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
