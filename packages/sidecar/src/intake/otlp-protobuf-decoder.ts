/**
 * Decodes an OTLP `ExportTraceServiceRequest` in protobuf, lazily: a span's fields are first
 * located (offsets only), and text, ids and attribute values are built only for spans that carry
 * `gen_ai.operation.name` or a feedback marker. Attribute keys are matched as bytes against the
 * wanted table, so the dozens of keys intake does not read cost a length compare and no string.
 *
 * Field numbers from opentelemetry-proto (collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto).
 */
import { SCOPE_SIDECAR, SPAN_NAME_FEEDBACK } from '@switchyard/instrumentation/semconv';
import {
  type AttrValue,
  type DecodedBatch,
  type IntakeLink,
  type IntakeSpan,
  OtlpDecodeError,
  SLOT_COUNT,
  SLOT_FEEDBACK_RESPONSE_ID,
  SLOT_FEEDBACK_SCORE,
  SLOT_OPERATION,
  SLOT_RESPONSE_ID,
  SPAN_KIND_CLIENT,
  WANTED_ATTRIBUTES,
} from './intake-span.js';
import { ProtobufReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.js';

const encoder = new TextEncoder();
const SIDECAR_SCOPE_BYTES = encoder.encode(SCOPE_SIDECAR);
const FEEDBACK_NAME_BYTES = encoder.encode(SPAN_NAME_FEEDBACK);

interface WantedKey {
  readonly bytes: Uint8Array;
  readonly slot: number;
}
/** Wanted keys grouped by byte length: most unwanted keys are rejected by the length alone. */
const KEYS_BY_LENGTH: (WantedKey[] | undefined)[] = [];
WANTED_ATTRIBUTES.forEach((key, slot) => {
  const bytes = encoder.encode(key);
  const list = KEYS_BY_LENGTH[bytes.length] ?? [];
  list.push({ bytes, slot });
  KEYS_BY_LENGTH[bytes.length] = list;
});

const TWO_POW_32 = 4294967296;
/** Slots whose values are unique per span (response ids): not worth interning. */
const UNIQUE_SLOTS: boolean[] = WANTED_ATTRIBUTES.map(
  (_key, slot) => slot === SLOT_RESPONSE_ID || slot === SLOT_FEEDBACK_RESPONSE_ID,
);

/**
 * A reusable decoder. Not re-entrant (it keeps per-span scratch state); intake owns one.
 *
 * @example
 * const batch = new OtlpProtobufDecoder().decode(body); // throws OtlpDecodeError if malformed
 */
export class OtlpProtobufDecoder {
  // Per-span scratch: where each wanted attribute's AnyValue lies. `seen[slot] === generation`
  // marks it present, so nothing is cleared between spans.
  private readonly valueStart = new Int32Array(SLOT_COUNT);
  private readonly valueEnd = new Int32Array(SLOT_COUNT);
  private readonly seen = new Uint32Array(SLOT_COUNT);
  private generation = 0;

  decode(buf: Uint8Array): DecodedBatch {
    const r = new ProtobufReader(buf);
    const spans: IntakeSpan[] = [];
    let totalSpans = 0;
    while (r.pos < r.limit) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        expectWire(wire, WIRE_LEN, 'resource_spans');
        const end = r.end();
        totalSpans += this.resourceSpans(r, end, spans);
      } else {
        skipField(r, field, wire);
      }
    }
    return { totalSpans, spans };
  }

  private resourceSpans(r: ProtobufReader, end: number, out: IntakeSpan[]): number {
    const outer = r.limit;
    r.limit = end;
    let count = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 2) {
        expectWire(wire, WIRE_LEN, 'scope_spans');
        const scopeEnd = r.end();
        count += this.scopeSpans(r, scopeEnd, out);
      } else {
        skipField(r, field, wire);
      }
    }
    r.limit = outer;
    return count;
  }

  private scopeSpans(r: ProtobufReader, end: number, out: IntakeSpan[]): number {
    const outer = r.limit;
    const start = r.pos;
    r.limit = end;
    // The scope usually comes first, but the format does not promise it: find it before
    // reading spans (a pass that only hops over length prefixes).
    let fromSidecar = false;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        expectWire(wire, WIRE_LEN, 'scope');
        fromSidecar = scopeIsSidecar(r, r.end());
      } else {
        skipField(r, field, wire);
      }
    }
    r.pos = start;
    let count = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 2) {
        expectWire(wire, WIRE_LEN, 'span');
        const spanEnd = r.end();
        count++;
        const span = this.span(r, spanEnd, fromSidecar);
        if (span !== undefined) out.push(span);
        r.pos = spanEnd;
      } else {
        skipField(r, field, wire);
      }
    }
    r.limit = outer;
    return count;
  }

  private span(r: ProtobufReader, end: number, fromSidecar: boolean): IntakeSpan | undefined {
    const outer = r.limit;
    r.limit = end;
    const gen = ++this.generation;
    if (gen === 0xffffffff) {
      this.seen.fill(0);
      this.generation = 1;
    }
    const seen = this.seen;
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let kind = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let statusCode = 0;
    let linkStart = -1;
    let linkEnd = -1;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case 1:
          expectWire(wire, WIRE_LEN, 'trace_id');
          traceEnd = r.end();
          traceStart = r.pos;
          r.pos = traceEnd;
          break;
        case 2:
          expectWire(wire, WIRE_LEN, 'span_id');
          spanEnd = r.end();
          spanStart = r.pos;
          r.pos = spanEnd;
          break;
        case 5:
          expectWire(wire, WIRE_LEN, 'name');
          nameEnd = r.end();
          nameStart = r.pos;
          r.pos = nameEnd;
          break;
        case 6:
          expectWire(wire, WIRE_VARINT, 'kind');
          kind = r.uint32();
          break;
        case 7:
          expectWire(wire, WIRE_FIXED64, 'start_time_unix_nano');
          startLo = r.fixed32();
          startHi = r.fixed32();
          break;
        case 8:
          expectWire(wire, WIRE_FIXED64, 'end_time_unix_nano');
          endLo = r.fixed32();
          endHi = r.fixed32();
          break;
        case 9: {
          expectWire(wire, WIRE_LEN, 'attributes');
          const kvEnd = r.end();
          this.keyValue(r, kvEnd, gen);
          r.pos = kvEnd;
          break;
        }
        case 13: {
          expectWire(wire, WIRE_LEN, 'links');
          const e = r.end();
          if (linkStart < 0) {
            linkStart = r.pos;
            linkEnd = e;
          }
          r.pos = e;
          break;
        }
        case 15: {
          expectWire(wire, WIRE_LEN, 'status');
          const e = r.end();
          statusCode = statusCodeOf(r, e);
          r.pos = e;
          break;
        }
        default:
          skipField(r, field, wire);
      }
    }
    r.limit = outer;

    const isFeedback =
      seen[SLOT_FEEDBACK_SCORE] === gen || r.equals(nameStart, nameEnd, FEEDBACK_NAME_BYTES);
    // Only CLIENT spans from other scopes can be calls (see span-extractor.ts): agent steps,
    // server spans and the sidecar's own spans are dropped here, before anything is built.
    if (!isFeedback && (seen[SLOT_OPERATION] !== gen || kind !== SPAN_KIND_CLIENT || fromSidecar)) {
      return undefined;
    }

    const attrs: AttrValue[] = new Array<AttrValue>(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      if (seen[slot] === gen) {
        attrs[slot] = anyValue(
          r,
          this.valueStart[slot]!,
          this.valueEnd[slot]!,
          !UNIQUE_SLOTS[slot],
        );
      }
    }
    let link: IntakeLink | undefined;
    if (linkStart >= 0) link = linkOf(r, linkStart, linkEnd);
    const durationNs = (endHi - startHi) * TWO_POW_32 + (endLo - startLo);
    return {
      traceId: traceEnd - traceStart === 16 ? r.hex(traceStart, traceEnd) : '',
      spanId: spanEnd - spanStart === 8 ? r.hex(spanStart, spanEnd) : '',
      name: r.internedText(nameStart, nameEnd),
      kind,
      fromSidecar,
      startTimeUnixMs: startHi * (TWO_POW_32 / 1e6) + startLo / 1e6,
      durationMs: durationNs > 0 ? durationNs / 1e6 : 0,
      statusCode,
      attrs,
      link,
    };
  }

  /** Notes where a wanted attribute's value lies; builds nothing. */
  private keyValue(r: ProtobufReader, end: number, gen: number): void {
    const outer = r.limit;
    r.limit = end;
    let keyStart = -1;
    let keyEnd = -1;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        expectWire(wire, WIRE_LEN, 'key');
        keyEnd = r.end();
        keyStart = r.pos;
        r.pos = keyEnd;
      } else if (field === 2) {
        expectWire(wire, WIRE_LEN, 'value');
        valueEnd = r.end();
        valueStart = r.pos;
        r.pos = valueEnd;
      } else {
        skipField(r, field, wire);
      }
    }
    r.limit = outer;
    if (keyStart < 0 || valueStart < 0) return;
    const candidates = KEYS_BY_LENGTH[keyEnd - keyStart];
    if (candidates === undefined) return;
    for (const candidate of candidates) {
      if (r.equals(keyStart, keyEnd, candidate.bytes)) {
        this.valueStart[candidate.slot] = valueStart;
        this.valueEnd[candidate.slot] = valueEnd;
        this.seen[candidate.slot] = gen;
        return;
      }
    }
  }
}

function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) {
    throw new OtlpDecodeError(`field ${field} has wire type ${actual}, expected ${expected}`);
  }
}

function skipField(r: ProtobufReader, field: number, wire: number): void {
  if (field === 0) throw new OtlpDecodeError('protobuf field number 0');
  r.skip(wire);
}

function scopeIsSidecar(r: ProtobufReader, end: number): boolean {
  const outer = r.limit;
  r.limit = end;
  let result = false;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(wire, WIRE_LEN, 'scope.name');
      const e = r.end();
      result = r.equals(r.pos, e, SIDECAR_SCOPE_BYTES);
      r.pos = e;
    } else {
      skipField(r, field, wire);
    }
  }
  r.limit = outer;
  return result;
}

function statusCodeOf(r: ProtobufReader, end: number): number {
  const outer = r.limit;
  r.limit = end;
  let code = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 3) {
      expectWire(wire, WIRE_VARINT, 'status.code');
      code = r.uint32();
    } else {
      skipField(r, field, wire);
    }
  }
  r.limit = outer;
  return code;
}

function linkOf(r: ProtobufReader, start: number, end: number): IntakeLink {
  const outer = r.limit;
  r.pos = start;
  r.limit = end;
  let traceId = '';
  let spanId = '';
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 || field === 2) {
      expectWire(wire, WIRE_LEN, 'link id');
      const e = r.end();
      const len = e - r.pos;
      if (field === 1 && len === 16) traceId = r.hex(r.pos, e);
      else if (field === 2 && len === 8) spanId = r.hex(r.pos, e);
      r.pos = e;
    } else {
      skipField(r, field, wire);
    }
  }
  r.limit = outer;
  return { traceId, spanId };
}

/** Builds the value of an `AnyValue` message; kvlist and bytes values are not kept. */
function anyValue(r: ProtobufReader, start: number, end: number, intern: boolean): AttrValue {
  const outer = r.limit;
  r.pos = start;
  r.limit = end;
  let value: AttrValue;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1: {
        expectWire(wire, WIRE_LEN, 'string_value');
        const e = r.end();
        value = intern ? r.internedText(r.pos, e) : r.text(r.pos, e);
        r.pos = e;
        break;
      }
      case 2:
        expectWire(wire, WIRE_VARINT, 'bool_value');
        value = r.int64() !== 0;
        break;
      case 3:
        expectWire(wire, WIRE_VARINT, 'int_value');
        value = r.int64();
        break;
      case 4:
        expectWire(wire, WIRE_FIXED64, 'double_value');
        value = r.double();
        break;
      case 5: {
        expectWire(wire, WIRE_LEN, 'array_value');
        const e = r.end();
        value = stringArray(r, e);
        r.pos = e;
        break;
      }
      default:
        skipField(r, field, wire);
        value = undefined;
    }
  }
  r.limit = outer;
  return value;
}

/** The string elements of an `ArrayValue`; elements of other types are left out. */
function stringArray(r: ProtobufReader, end: number): string[] {
  const outer = r.limit;
  r.limit = end;
  const out: string[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(wire, WIRE_LEN, 'array element');
      const e = r.end();
      const v = stringElement(r, e);
      if (v !== undefined) out.push(v);
      r.pos = e;
    } else {
      skipField(r, field, wire);
    }
  }
  r.limit = outer;
  return out;
}

/** The string of an array element; other element types (and nested arrays) are skipped flat. */
function stringElement(r: ProtobufReader, end: number): string | undefined {
  const outer = r.limit;
  r.limit = end;
  let value: string | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(wire, WIRE_LEN, 'string_value');
      const e = r.end();
      value = r.internedText(r.pos, e);
      r.pos = e;
    } else {
      skipField(r, field, wire);
    }
  }
  r.limit = outer;
  return value;
}
