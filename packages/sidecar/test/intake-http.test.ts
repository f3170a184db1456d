/**
 * The intake's HTTP behaviour on a real socket, per the OTLP/HTTP spec: answers in the request's
 * encoding, partial success, 400/405/413/415/429/503, hand-written JSON payloads as a Collector
 * or other SDKs send them, and random bytes that must never take the process down.
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_TASK_TYPE,
  SPAN_NAME_FEEDBACK,
} from '@switchyard/instrumentation/semconv';
import { afterEach, describe, expect, it } from 'vitest';
import { type IntakeServer, RecordingSink, SpanFactory, startIntake } from './intake-fixtures.js';
import { ExportResponse, RpcStatus } from './intake-otlp-schema.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

let server: IntakeServer | undefined;
let sink: RecordingSink;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<Parameters<typeof startIntake>[0]> = {}) {
  sink = new RecordingSink();
  server = await startIntake({ sink, now: () => 0, ...options });
  return server;
}

describe('OTLP/HTTP answers', () => {
  it('answers a protobuf batch with an empty protobuf ExportTraceServiceResponse', async () => {
    const { url } = await start();
    const spans = new SpanFactory();
    const body = ProtobufTraceSerializer.serializeRequest([spans.chat({})])!;
    const reply = await post(url, body, PROTO);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/x-protobuf');
    expect(reply.body.length).toBe(0);
    expect(sink.calls).toHaveLength(1);
    await spans.shutdown();
  });

  it('reports rejected spans as partial_success in protobuf, readable by the exporter', async () => {
    const { url } = await start();
    const spans = new SpanFactory();
    const body = ProtobufTraceSerializer.serializeRequest([
      spans.chat({ responseId: 'ok' }),
      spans.feedback({ score: 1.5, responseId: 'ok' }),
      spans.feedback({ score: 0.5 }),
    ])!;
    const reply = await post(url, body, PROTO);
    expect(reply.status).toBe(200);
    // Decoded twice: by the exporter's own response reader and by a generic protobuf decoder.
    const viaExporter = ProtobufTraceSerializer.deserializeResponse(reply.body);
    expect(Number(viaExporter.partialSuccess?.rejectedSpans)).toBe(2);
    expect(viaExporter.partialSuccess?.errorMessage).toMatch(/2 of 3 spans rejected.*score/);
    const generic = ExportResponse.toObject(ExportResponse.decode(reply.body), { longs: Number });
    expect(generic.partialSuccess.rejectedSpans).toBe(2);
    await spans.shutdown();
  });

  it('reports partial success in JSON with int64 as a string', async () => {
    const { url } = await start();
    const payload = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'aa'.repeat(16),
                  spanId: 'bb'.repeat(8),
                  name: 'chat',
                  kind: 3,
                  attributes: [{ key: ATTR_GEN_AI_OPERATION_NAME, value: { stringValue: 'chat' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const reply = await post(url, JSON.stringify(payload), JSON_TYPE);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const parsed = JSON.parse(reply.body.toString());
    expect(parsed.partialSuccess.rejectedSpans).toBe('1');
    expect(parsed.partialSuccess.errorMessage).toMatch(/gen_ai\.request\.model/);
  });

  it('answers {} to a JSON batch with nothing rejected', async () => {
    const { url } = await start();
    const reply = await post(url, '{"resourceSpans":[]}', {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({});
  });
});

describe('JSON payloads written by hand per the OTLP/JSON spec', () => {
  const callSpan = (times: { start: string | number; end: string | number }, tokens: unknown) => ({
    traceId: '5B8EFFF798038103D269B633813FC60C',
    spanId: 'EEE19B7EC3C1B174',
    parentSpanId: 'EEE19B7EC3C1B173',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: times.start,
    endTimeUnixNano: times.end,
    droppedAttributesCount: 0,
    attributes: [
      { key: ATTR_GEN_AI_OPERATION_NAME, value: { stringValue: 'chat' } },
      { key: ATTR_GEN_AI_REQUEST_MODEL, value: { stringValue: 'gpt-4o' } },
      { key: ATTR_GEN_AI_RESPONSE_ID, value: { stringValue: 'chatcmpl-json' } },
      { key: ATTR_GEN_AI_AGENT_NAME, value: { stringValue: 'research' } },
      { key: ATTR_SWITCHYARD_TASK_TYPE, value: { stringValue: 'web-search' } },
      { key: ATTR_GEN_AI_USAGE_INPUT_TOKENS, value: { intValue: tokens } },
      { key: ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, value: { intValue: tokens } },
      { key: ATTR_SWITCHYARD_COST_USD, value: { doubleValue: 0.02 } },
      { key: ATTR_SWITCHYARD_ROUTE_REASON, value: { stringValue: 'canary' } },
      {
        key: ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
        value: { arrayValue: { values: [{ stringValue: 'length' }] } },
      },
      { key: 'http.response.header.x', value: { kvlistValue: { values: [] } } },
    ],
    events: [{ timeUnixNano: '1764000000500000000', name: 'retry' }],
    status: { code: 2, message: 'upstream 500' },
    someFutureField: { ignored: true },
  });

  it.each([
    ['strings', { start: '1764000000100000000', end: '1764000000850000000' }, '9007199254740993'],
    ['numbers', { start: 1764000000100000000, end: 1764000000850000000 }, 77],
  ])('reads 64-bit integers written as %s', async (_kind, times, tokens) => {
    const { url } = await start();
    const payload = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agents' } }] },
          scopeSpans: [
            { scope: { name: 'my-sdk', version: '1' }, spans: [callSpan(times, tokens)] },
          ],
          schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
        },
      ],
    };
    const reply = await post(url, JSON.stringify(payload), JSON_TYPE);
    expect(reply.status).toBe(200);
    expect(sink.calls).toHaveLength(1);
    const call = sink.calls[0]!;
    expect(call.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(call.spanId).toBe('eee19b7ec3c1b174');
    expect(call.agent).toBe('research');
    expect(call.task).toBe('web-search');
    expect(call.inputTokens).toBe(typeof tokens === 'string' ? 9007199254740992 : 77);
    expect(call.costUsd).toBe(0.02);
    expect(call.routeReason).toBe('canary');
    expect(call.finishReasons).toEqual(['length']);
    expect(call.error).toBe(true);
    expect(call.startTimeUnixMs).toBeCloseTo(1_764_000_000_100, 3);
    expect(call.durationMs).toBeCloseTo(750, 3);
  });

  it('joins Collector-style feedback (hex link, enum names, gzip) to its call', async () => {
    const { url } = await start();
    const feedback = {
      traceId: '11111111111111111111111111111111',
      spanId: '2222222222222222',
      name: SPAN_NAME_FEEDBACK,
      kind: 'SPAN_KIND_INTERNAL',
      startTimeUnixNano: '1764000009000000000',
      endTimeUnixNano: '1764000009000000000',
      attributes: [
        { key: ATTR_SWITCHYARD_FEEDBACK_SCORE, value: { doubleValue: 0.75 } },
        { key: ATTR_SWITCHYARD_FEEDBACK_SOURCE, value: { stringValue: 'user' } },
      ],
      links: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' }],
      status: { code: 'STATUS_CODE_UNSET' },
    };
    const first = { resourceSpans: [{ scopeSpans: [{ spans: [feedback] }] }] };
    const second = {
      resourceSpans: [
        {
          scopeSpans: [
            { spans: [callSpan({ start: '1764000000000000000', end: '1764000001000000000' }, 5)] },
          ],
        },
      ],
    };
    const gz = { ...JSON_TYPE, 'content-encoding': 'gzip' };
    expect((await post(url, gzipSync(JSON.stringify(first)), gz)).status).toBe(200);
    expect(sink.verdicts).toHaveLength(0);
    expect((await post(url, gzipSync(JSON.stringify(second)), gz)).status).toBe(200);
    expect(sink.verdicts).toHaveLength(1);
    expect(sink.verdicts[0]!.call.responseId).toBe('chatcmpl-json');
    expect(sink.verdicts[0]!.verdict).toEqual({
      score: 0.75,
      source: 'user',
      timeUnixMs: 1_764_000_009_000,
    });
  });
});

describe('refusals', () => {
  it.each([
    ['protobuf', PROTO, Buffer.from([0x0a, 0x7f, 0x01])],
    ['json', JSON_TYPE, Buffer.from('{"resourceSpans": [')],
    ['gzip that is not gzip', { ...PROTO, 'content-encoding': 'gzip' }, Buffer.from('nope')],
  ])(
    'answers a malformed %s payload with 400 and a google.rpc.Status',
    async (_n, headers, body) => {
      const { url, intake } = await start();
      const reply = await post(url, body, headers);
      expect(reply.status).toBe(400);
      if (headers['content-type'] === 'application/json') {
        const status = JSON.parse(reply.body.toString());
        expect(status.code).toBe(3);
        expect(status.message).toMatch(/JSON/);
      } else {
        const status = RpcStatus.toObject(RpcStatus.decode(reply.body));
        expect(status.code).toBe(3);
        expect(status.message.length).toBeGreaterThan(0);
      }
      expect(intake.stats().responses[400]).toBe(1);
    },
  );

  it('answers 415 to an unknown content type or content encoding', async () => {
    const { url } = await start();
    const a = await post(url, 'x', { 'content-type': 'text/plain' });
    expect(a.status).toBe(415);
    expect(JSON.parse(a.body.toString()).message).toMatch(/application\/x-protobuf/);
    const b = await post(url, 'x', { ...PROTO, 'content-encoding': 'br' });
    expect(b.status).toBe(415);
    expect(RpcStatus.decode(b.body).toJSON().message).toMatch(/content-encoding/);
  });

  it('answers 405 to anything but POST', async () => {
    const { url } = await start();
    const reply = await post(url, '', PROTO, 'PUT');
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('POST');
  });

  it('answers 413 to a declared, a streamed and an inflated body over the limit', async () => {
    const { url, intake } = await start({ maxBodyBytes: 4096 });
    const big = Buffer.alloc(10_000, 1);
    const declared = await post(url, big, PROTO);
    expect(declared.status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: PROTO }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // No content-length: chunked, so only counting while reading can catch it.
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1000, 1));
      req.end();
    });
    expect(streamed).toBe(413);
    // A gzip bomb: about 2 KB on the wire, 2 MB once inflated.
    const bomb = gzipSync(Buffer.alloc(2_000_000));
    expect(bomb.length).toBeLessThan(4096);
    const inflated = await post(url, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(RpcStatus.decode(inflated.body).toJSON().message).toMatch(/inflated/);
    expect(intake.stats().responses[413]).toBe(3);
  });

  it('answers 429 with Retry-After when its queue is full, and serves again once it drains', async () => {
    const { url, intake } = await start({ maxQueue: 1, retryAfterSeconds: 3 });
    const spans = new SpanFactory();
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest([spans.chat({})])!);
    // Hold one request open half-sent: it occupies the only slot.
    let slowStatus = 0;
    const slow = request(url, {
      method: 'POST',
      headers: { ...PROTO, 'content-length': String(body.length) },
    });
    const slowDone = new Promise<void>((resolve, reject) => {
      slow.on('response', (res) => {
        slowStatus = res.statusCode ?? 0;
        res.resume();
        res.on('end', resolve);
      });
      slow.on('error', reject);
    });
    slow.write(body.subarray(0, 10));
    while (intake.stats().inFlight < 1) await new Promise((r) => setTimeout(r, 5));
    const busy = await post(url, body, PROTO);
    expect(busy.status).toBe(429);
    expect(busy.headers['retry-after']).toBe('3');
    expect(RpcStatus.decode(busy.body).toJSON().code).toBe(8);
    slow.end(body.subarray(10));
    await slowDone;
    expect(slowStatus).toBe(200);
    expect((await post(url, body, PROTO)).status).toBe(200);
    expect(intake.stats().responses[429]).toBe(1);
    expect(sink.calls).toHaveLength(1);
    await spans.shutdown();
  });

  it('answers 429 while the learner signals backpressure', async () => {
    let busy = true;
    const { url } = await start({ overloaded: () => busy });
    expect((await post(url, '{}', JSON_TYPE)).status).toBe(429);
    busy = false;
    expect((await post(url, '{}', JSON_TYPE)).status).toBe(200);
  });

  it('keeps serving when the backpressure probe or the learner throws', async () => {
    const intake = await startIntake({
      sink: {
        recordCall: () => {
          throw new Error('learner bug');
        },
        recordVerdict: () => {},
      },
      overloaded: () => {
        throw new Error('probe bug');
      },
    });
    server = intake;
    const spans = new SpanFactory();
    const body = ProtobufTraceSerializer.serializeRequest([spans.chat({})])!;
    expect((await post(intake.url, body, PROTO)).status).toBe(200);
    expect(intake.intake.stats()).toMatchObject({ sinkErrors: 1, calls: 0 });
    await spans.shutdown();
  });

  it('close() waits for the batch in flight, however often it is called', async () => {
    const { url, intake } = await start();
    const body = Buffer.from('{"resourceSpans":[]}');
    const slow = request(url, {
      method: 'POST',
      headers: { ...JSON_TYPE, 'content-length': String(body.length) },
    });
    const answered = new Promise<number>((resolve, reject) => {
      slow.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      slow.on('error', reject);
    });
    slow.write(body.subarray(0, 5));
    while (intake.stats().inFlight < 1) await new Promise((r) => setTimeout(r, 5));
    let closed = 0;
    const first = intake.close().then(() => closed++);
    const second = intake.close().then(() => closed++);
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(0);
    expect((await post(url, body, JSON_TYPE)).status).toBe(503);
    slow.end(body.subarray(5));
    expect(await answered).toBe(200);
    await Promise.all([first, second]);
    expect(closed).toBe(2);
  });

  it('answers 503 with Retry-After once closed', async () => {
    const { url, intake } = await start();
    await intake.close();
    const reply = await post(url, '{}', JSON_TYPE);
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('2');
  });
});

describe('hostile input over HTTP', () => {
  it('answers random and truncated payloads with 400 (or 200 when still valid) and stays up', async () => {
    const { url, intake } = await start();
    const spans = new SpanFactory();
    const real = ProtobufTraceSerializer.serializeRequest([
      spans.chat({ responseId: 'r1' }),
      spans.chat({ responseId: 'r2' }),
    ])!;
    let seed = 99;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const bytes = Buffer.alloc(1 + Math.floor(random() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      const type = i % 2 === 0 ? PROTO : JSON_TYPE;
      const gzip = i % 3 === 0;
      const headers = gzip ? { ...type, 'content-encoding': 'gzip' } : type;
      statuses.push((await post(url, gzip ? gzipSync(bytes) : bytes, headers)).status);
    }
    for (let cut = 1; cut < real.length; cut += 7) {
      statuses.push((await post(url, Buffer.from(real.subarray(0, cut)), PROTO)).status);
    }
    expect(statuses.every((s) => s === 200 || s === 400)).toBe(true);
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThan(statuses.length * 0.8);
    // Still serving, and nothing half-decoded reached the learner.
    expect((await post(url, Buffer.from(real), PROTO)).status).toBe(200);
    expect(sink.calls.map((c) => c.responseId)).toContain('r1');
    expect(intake.stats().responses[500]).toBeUndefined();
    await spans.shutdown();
  });
});
