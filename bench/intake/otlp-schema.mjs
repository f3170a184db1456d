// The OTLP trace request as a protobufjs schema (field numbers from opentelemetry-proto:
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto), so the benchmark
// can run a generic, complete protobuf decode of the same bytes as a floor.
import protobuf from 'protobufjs';

const repeated = (type, id) => ({ rule: 'repeated', type, id });
const one = (type, id) => ({ type, id });

const root = protobuf.Root.fromJSON({
  nested: {
    ExportTraceServiceRequest: { fields: { resourceSpans: repeated('ResourceSpans', 1) } },
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
        droppedAttributesCount: one('uint32', 4),
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
        droppedAttributesCount: one('uint32', 4),
      },
    },
    Link: {
      fields: {
        traceId: one('bytes', 1),
        spanId: one('bytes', 2),
        traceState: one('string', 3),
        attributes: repeated('KeyValue', 4),
        droppedAttributesCount: one('uint32', 5),
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
  },
});

export const ExportTraceServiceRequest = root.lookupType('ExportTraceServiceRequest');
