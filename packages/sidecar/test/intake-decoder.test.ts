/**
 * The protobuf and JSON decoders on their own: payloads built with a generic encoder
 * (protobufjs), hand-made bytes for what encoders never write but the format allows, and fuzzing.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_SWITCHYARD_COST_USD,
  SCOPE_SIDECAR,
} from '@switchyard/instrumentation/semconv';
import { describe, expect, it } from 'vitest';
import {
  OtlpDecodeError,
  SLOT_COST_USD,
  SLOT_FINISH_REASONS,
  SLOT_INPUT_TOKENS,
  SLOT_OPERATION,
  SLOT_REQUEST_MODEL,
} from '../src/intake/intake-span.js';
import { decodeOtlpJson } from '../src/intake/otlp-json-decoder.js';
import { OtlpProtobufDecoder } from '../src/intake/otlp-protobuf-decoder.js';
import { SpanFactory } from './intake-fixtures.js';
import {
  concatBytes,
  ExportRequest,
  encode,
  hexBytes,
  KeyValueType,
  lengthDelimited,
  ScopeSpansType,
  SpanType,
  varint,
} from './intake-otlp-schema.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function chatSpan(extra: Record<string, unknown> = {}) {
  return {
    traceId: hexBytes(TRACE),
    spanId: hexBytes(SPAN),
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: '1764000000123456789',
    endTimeUnixNano: '1764000001623456789',
    attributes: [
      str(ATTR_GEN_AI_OPERATION_NAME, 'chat'),
      str(ATTR_GEN_AI_REQUEST_MODEL, 'gpt-4o'),
      { key: ATTR_GEN_AI_USAGE_INPUT_TOKENS, value: { intValue: 1200 } },
      { key: ATTR_SWITCHYARD_COST_USD, value: { doubleValue: 0.0125 } },
      {
        key: ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
        value: { arrayValue: { values: [{ stringValue: 'stop' }, { intValue: 3 }] } },
      },
      { key: 'http.request.body.size', value: { intValue: 4096 } },
      { key: 'unrelated.kv', value: { kvlistValue: { values: [str('a', 'b')] } } },
    ],
    status: { code: 2, message: 'rate limited' },
    ...extra,
  };
}

describe('OtlpProtobufDecoder', () => {
  const decoder = new OtlpProtobufDecoder();

  it('reads what a generic encoder writes and skips spans without GenAI attributes', () => {
    const bytes = encode(ExportRequest, {
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', 'agents')] },
          scopeSpans: [
            {
              scope: { name: '@switchyard/instrumentation', version: '0.1.0' },
              spans: [
                chatSpan(),
                { traceId: hexBytes(TRACE), spanId: hexBytes(SPAN), name: 'GET /', kind: 2 },
              ],
            },
          ],
        },
      ],
    });
    const batch = decoder.decode(bytes);
    expect(batch.totalSpans).toBe(2);
    expect(batch.spans).toHaveLength(1);
    const span = batch.spans[0]!;
    expect(span.traceId).toBe(TRACE);
    expect(span.spanId).toBe(SPAN);
    expect(span.name).toBe('chat gpt-4o');
    expect(span.kind).toBe(3);
    expect(span.fromSidecar).toBe(false);
    expect(span.statusCode).toBe(2);
    expect(span.startTimeUnixMs).toBeCloseTo(1_764_000_000_123.457, 3);
    expect(span.durationMs).toBe(1500);
    expect(span.attrs[SLOT_OPERATION]).toBe('chat');
    expect(span.attrs[SLOT_REQUEST_MODEL]).toBe('gpt-4o');
    expect(span.attrs[SLOT_INPUT_TOKENS]).toBe(1200);
    expect(span.attrs[SLOT_COST_USD]).toBe(0.0125);
    expect(span.attrs[SLOT_FINISH_REASONS]).toEqual(['stop']);
  });

  it('accepts fields in any order, unknown fields of every wire type, and negative int64', () => {
    const unknown = concatBytes(
      [...varint((90 << 3) | 0), ...varint(300)],
      [(91 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((b, i) => (i === 0 ? varint(b) : [b])),
      lengthDelimited(92, [1, 2, 3]),
      [...varint((93 << 3) | 5), 9, 9, 9, 9],
    );
    // KeyValue with the value written before the key.
    const reversedKv = concatBytes(
      lengthDelimited(2, encode(otlpAny(), { intValue: -5 })),
      lengthDelimited(1, Buffer.from(ATTR_GEN_AI_USAGE_INPUT_TOKENS)),
    );
    const span = concatBytes(
      unknown,
      encode(SpanType, chatSpan({ attributes: [str(ATTR_GEN_AI_OPERATION_NAME, 'chat')] })),
      lengthDelimited(9, reversedKv),
      unknown,
    );
    // ScopeSpans with its spans before its scope.
    const request = (scope: string) =>
      concatBytes(
        unknown,
        lengthDelimited(
          1,
          lengthDelimited(
            2,
            concatBytes(
              lengthDelimited(2, span),
              unknown,
              encode(ScopeSpansType, { scope: { name: scope } }),
            ),
          ),
        ),
      );
    const batch = decoder.decode(request('@switchyard/instrumentation'));
    expect(batch.totalSpans).toBe(1);
    expect(batch.spans[0]!.fromSidecar).toBe(false);
    expect(batch.spans[0]!.attrs[SLOT_INPUT_TOKENS]).toBe(-5);
    expect(batch.spans[0]!.attrs[SLOT_OPERATION]).toBe('chat');
    // The scope read after the spans still applies to them: the sidecar's own spans are dropped.
    const own = decoder.decode(request(SCOPE_SIDECAR));
    expect(own.totalSpans).toBe(1);
    expect(own.spans).toHaveLength(0);
  });

  it('does not keep or trust the bytes of a body after decoding it (interned strings are copies)', () => {
    const bytes = Buffer.from(
      encode(ExportRequest, { resourceSpans: [{ scopeSpans: [{ spans: [chatSpan()] }] }] }),
    );
    expect(decoder.decode(bytes).spans[0]!.attrs[SLOT_REQUEST_MODEL]).toBe('gpt-4o');
    // The same memory reused for another body, as pooled buffers are.
    const at = bytes.indexOf('gpt-4o', bytes.indexOf(ATTR_GEN_AI_REQUEST_MODEL));
    bytes.write('gpt-4x', at, 'latin1');
    expect(decoder.decode(bytes).spans[0]!.attrs[SLOT_REQUEST_MODEL]).toBe('gpt-4x');
  });

  it('walks several resources and scopes, as a Collector batches them', () => {
    const scope = (name: string, n: number) => ({
      scope: { name },
      spans: Array.from({ length: n }, () => chatSpan()),
    });
    const bytes = encode(ExportRequest, {
      resourceSpans: [
        { scopeSpans: [scope('a', 2), scope(SCOPE_SIDECAR, 3)] },
        { scopeSpans: [scope('b', 1)] },
        { scopeSpans: [] },
      ],
    });
    const batch = decoder.decode(bytes);
    expect(batch.totalSpans).toBe(6);
    expect(batch.spans).toHaveLength(3);
    expect(batch.spans.every((span) => !span.fromSidecar)).toBe(true);
  });

  it('keeps empty ids empty when they are not 16 and 8 bytes', () => {
    const bytes = encode(ExportRequest, {
      resourceSpans: [
        { scopeSpans: [{ spans: [chatSpan({ traceId: hexBytes('0102'), spanId: [] })] }] },
      ],
    });
    const span = decoder.decode(bytes).spans[0]!;
    expect(span.traceId).toBe('');
    expect(span.spanId).toBe('');
  });

  it.each([
    ['a group wire type', Uint8Array.from([(1 << 3) | 3])],
    ['field number 0', Uint8Array.from([0x00, 0x01])],
    ['a length past the end', Uint8Array.from([0x0a, 0x05, 0x12, 0x00])],
    ['a known field with the wrong wire type', Uint8Array.from([0x08, 0x01])],
    ['an unterminated varint', Uint8Array.from([0x0a, 0xff, 0xff])],
    ['wire type 7', Uint8Array.from([(4 << 3) | 7])],
  ])('rejects %s with OtlpDecodeError', (_name, bytes) => {
    expect(() => decoder.decode(bytes)).toThrow(OtlpDecodeError);
  });

  it('never throws anything but OtlpDecodeError on random, truncated or mutated bytes', async () => {
    const factory = new SpanFactory();
    const real = ProtobufTraceSerializer.serializeRequest([
      factory.chat({ responseId: 'a' }),
      factory.feedback({ score: 1, responseId: 'a' }),
      factory.chat({ responseId: 'b', finishReasons: ['length'] }),
    ])!;
    await factory.shutdown();
    const random = seeded(42);
    const inputs: Uint8Array[] = [];
    for (let cut = 0; cut < real.length; cut++) inputs.push(real.subarray(0, cut));
    for (let i = 0; i < 3000; i++) {
      const copy = Uint8Array.from(real);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
        copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      }
      inputs.push(copy);
    }
    for (let i = 0; i < 3000; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 200));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      inputs.push(bytes);
    }
    let rejected = 0;
    for (const input of inputs) {
      try {
        decoder.decode(input);
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError);
        rejected++;
      }
    }
    // Most damaged payloads are caught; a cut that falls between two top-level messages is valid.
    expect(rejected).toBeGreaterThan(inputs.length / 2);
    expect(decoder.decode(real).spans).toHaveLength(3);
  });
});

describe('decodeOtlpJson', () => {
  it('never throws anything but OtlpDecodeError on truncated or mutated JSON', () => {
    const text = JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              scope: { name: 'x' },
              spans: [
                {
                  traceId: TRACE,
                  spanId: SPAN,
                  name: 'chat',
                  kind: 3,
                  attributes: [
                    { key: ATTR_GEN_AI_OPERATION_NAME, value: { stringValue: 'chat' } },
                    { key: ATTR_GEN_AI_USAGE_INPUT_TOKENS, value: { intValue: '12' } },
                  ],
                  links: [{ traceId: TRACE, spanId: SPAN }],
                  status: { code: 2 },
                },
              ],
            },
          ],
        },
      ],
    });
    const random = seeded(7);
    const inputs: string[] = [];
    for (let cut = 0; cut < text.length; cut++) inputs.push(text.slice(0, cut));
    const alphabet = '{}[]":,0123456789abcdefnulltrue-. ';
    for (let i = 0; i < 2000; i++) {
      const chars = text.split('');
      chars[Math.floor(random() * chars.length)] =
        alphabet[Math.floor(random() * alphabet.length)]!;
      inputs.push(chars.join(''));
    }
    inputs.push(
      '[]',
      'null',
      '{"resourceSpans":{}}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"constructor","attributes":{}}]}]}]}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[null,1,{"key":"gen_ai.operation.name","value":null}]}]}]}]}',
    );
    for (const input of inputs) {
      try {
        decodeOtlpJson(input);
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError);
      }
    }
  });
});

function otlpAny() {
  return KeyValueType.lookupType('AnyValue');
}

/** A small deterministic PRNG (mulberry32) so a failing fuzz case can be reproduced. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
