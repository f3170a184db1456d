/**
 * The OTLP trace messages as a protobufjs schema, written from opentelemetry-proto
 * (trace/v1/trace.proto, common/v1/common.proto, collector/trace/v1/trace_service.proto) so the
 * tests can build payloads with a generic encoder independent of the decoder under test.
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const one = (type: string, id: number) => ({ type, id });

export const otlpRoot = protobuf.Root.fromJSON({
  nested: {
    ExportTraceServiceRequest: { fields: { resourceSpans: repeated('ResourceSpans', 1) } },
    ExportTraceServiceResponse: { fields: { partialSuccess: one('PartialSuccess', 1) } },
    PartialSuccess: { fields: { rejectedSpans: one('int64', 1), errorMessage: one('string', 2) } },
    ResourceSpans: {
      fields: {
        resource: one('Resource', 1),
        scopeSpans: repeated('ScopeSpans', 2),
        schemaUrl: one('string', 3),
      },
    },
    Resource: {
      fields: { attributes: repeated('KeyValue', 1), droppedAttributesCount: one('uint32', 2) },
    },
    ScopeSpans: {
      fields: {
        scope: one('InstrumentationScope', 1),
        spans: repeated('Span', 2),
        schemaUrl: one('string', 3),
      },
    },
    InstrumentationScope: {
      fields: {
        name: one('string', 1),
        version: one('string', 2),
        attributes: repeated('KeyValue', 3),
      },
    },
    Span: {
      fields: {
        traceId: one('bytes', 1),
        spanId: one('bytes', 2),
        traceState: one('string', 3),
        parentSpanId: one('bytes', 4),
        flags: one('fixed32', 16),
        name: one('string', 5),
        kind: one('int32', 6),
        startTimeUnixNano: one('fixed64', 7),
        endTimeUnixNano: one('fixed64', 8),
        attributes: repeated('KeyValue', 9),
        droppedAttributesCount: one('uint32', 10),
        events: repeated('Event', 11),
        droppedEventsCount: one('uint32', 12),
        links: repeated('Link', 13),
        droppedLinksCount: one('uint32', 14),
        status: one('Status', 15),
      },
    },
    Event: {
      fields: {
        timeUnixNano: one('fixed64', 1),
        name: one('string', 2),
        attributes: repeated('KeyValue', 3),
      },
    },
    Link: {
      fields: {
        traceId: one('bytes', 1),
        spanId: one('bytes', 2),
        traceState: one('string', 3),
        attributes: repeated('KeyValue', 4),
        flags: one('fixed32', 6),
      },
    },
    Status: { fields: { message: one('string', 2), code: one('int32', 3) } },
    KeyValue: { fields: { key: one('string', 1), value: one('AnyValue', 2) } },
    AnyValue: {
      oneofs: {
        value: {
          oneof: [
            'stringValue',
            'boolValue',
            'intValue',
            'doubleValue',
            'arrayValue',
            'kvlistValue',
            'bytesValue',
          ],
        },
      },
      fields: {
        stringValue: one('string', 1),
        boolValue: one('bool', 2),
        intValue: one('int64', 3),
        doubleValue: one('double', 4),
        arrayValue: one('ArrayValue', 5),
        kvlistValue: one('KeyValueList', 6),
        bytesValue: one('bytes', 7),
      },
    },
    ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
    KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
    RpcStatus: { fields: { code: one('int32', 1), message: one('string', 2) } },
  },
});

export const ExportRequest = otlpRoot.lookupType('ExportTraceServiceRequest');
export const ExportResponse = otlpRoot.lookupType('ExportTraceServiceResponse');
export const ScopeSpansType = otlpRoot.lookupType('ScopeSpans');
export const SpanType = otlpRoot.lookupType('Span');
export const KeyValueType = otlpRoot.lookupType('KeyValue');
export const RpcStatus = otlpRoot.lookupType('RpcStatus');

/** Encodes a plain object as `type` (protobufjs verifies nothing, it just writes). */
export function encode(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

/** Wire-level helpers for hand-made bytes: a tag, a varint, a length-delimited field. */
export function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

export function lengthDelimited(field: number, bytes: Uint8Array | number[]): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length), ...bytes]);
}

export function concatBytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return Uint8Array.from(out);
}

export function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
