import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import { type FakeUpstream, startFakeUpstream, startTestSidecar } from './proxy-fixtures.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe("the sidecar's own spans", () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar;
  let client: OpenAI;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar(upstream, {
      tracer: provider.getTracer('@switchyard/sidecar'),
      file: {
        rules: [{ id: 'to-mini', match: { agent: 'research' }, targetModel: 'gpt-4o-mini' }],
      },
    });
    client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-SECRET', maxRetries: 0 });
  });
  afterAll(async () => {
    await sidecar.close();
    await upstream.close();
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());

  const byKind = (spans: ReadableSpan[], kind: SpanKind) => spans.filter((s) => s.kind === kind);

  it('continues the caller trace with a SERVER span and a CLIENT child carrying GenAI and route attributes', async () => {
    await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'PROMPT-SECRET' }], temperature: 0.2 },
      {
        headers: {
          traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
          'x-switchyard-agent': 'research',
          'x-switchyard-task': 'summarize',
        },
      },
    );
    const spans = exporter.getFinishedSpans();
    const [server] = byKind(spans, SpanKind.SERVER);
    const [upstreamSpan] = byKind(spans, SpanKind.CLIENT);
    expect(server?.spanContext().traceId).toBe(TRACE_ID);
    expect(server?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(server?.name).toBe('chat gpt-4o');
    expect(server?.instrumentationScope.name).toBe('@switchyard/sidecar');
    expect(server?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.agent.name': 'research',
      'switchyard.task.type': 'summarize',
      'switchyard.route.requested_model': 'gpt-4o',
      'switchyard.route.model': 'gpt-4o-mini',
      'switchyard.route.rule_id': 'to-mini',
      'switchyard.route.reason': 'rule',
      'switchyard.cache.status': 'bypass',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 500,
      'gen_ai.response.finish_reasons': ['stop'],
      'http.response.status_code': 200,
    });
    // gpt-4o-mini at 0.15/0.60 per million: 1000·0.15e-6 + 500·0.6e-6
    expect(server?.attributes['switchyard.cost.usd']).toBeCloseTo(0.00045, 9);
    // gpt-4o at 2.5/10: 0.0075; saved = 0.0075 − 0.00045
    expect(server?.attributes['switchyard.cost.saved_usd']).toBeCloseTo(0.00705, 9);
    expect(upstreamSpan?.name).toBe('chat gpt-4o-mini');
    expect(upstreamSpan?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(upstreamSpan?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'server.address': '127.0.0.1',
    });
    const everything = JSON.stringify(spans.map((s) => s.attributes));
    expect(everything).not.toContain('PROMPT-SECRET');
    expect(everything).not.toContain('sk-SECRET');
  });

  it('adds a cache lookup span and counts a hit as saving the whole cost', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'cache me' }],
    };
    await client.chat.completions.create(body);
    exporter.reset();
    await client.chat.completions.create(body);
    const spans = exporter.getFinishedSpans();
    const lookup = spans.find((s) => s.name === 'switchyard.cache.lookup');
    const [server] = byKind(spans, SpanKind.SERVER);
    expect(lookup?.attributes['switchyard.cache.status']).toBe('hit-memory');
    expect(lookup?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(byKind(spans, SpanKind.CLIENT)).toHaveLength(0);
    expect(server?.attributes['switchyard.cache.status']).toBe('hit-memory');
    expect(server?.attributes['switchyard.cost.usd']).toBe(0);
    expect(server?.attributes['switchyard.cost.saved_usd']).toBeCloseTo(0.0075, 9);
  });

  it('reads usage and finish reasons off a passing stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me' }],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from gpt-4o-mini');
    const [server] = byKind(exporter.getFinishedSpans(), SpanKind.SERVER);
    expect(server?.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.response.id': 'chatcmpl-stream',
    });
    // 10 input and 3 output tokens of gpt-4o-mini at 0.15/0.60 per million
    expect(server?.attributes['switchyard.cost.usd']).toBeCloseTo(10 * 0.15e-6 + 3 * 0.6e-6, 12);
  });

  it('marks a failed upstream call and the fallback', async () => {
    upstream.behavior = (rec, res) => {
      if (rec.body?.model !== 'gpt-4o-mini') return false;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        '{"error":{"message":"no such model","type":"invalid_request_error","param":null,"code":"model_not_found"}}',
      );
      return true;
    };
    try {
      await client.chat.completions.create(
        { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-switchyard-agent': 'research' } },
      );
    } finally {
      upstream.behavior = undefined;
    }
    const spans = exporter.getFinishedSpans();
    const clients = byKind(spans, SpanKind.CLIENT);
    expect(clients.map((s) => s.name)).toEqual(['chat gpt-4o-mini', 'chat gpt-4o']);
    expect(clients[0]?.attributes['error.type']).toBe('HTTP 404');
    expect(byKind(spans, SpanKind.SERVER)[0]?.attributes['switchyard.route.reason']).toBe(
      'fallback',
    );
  });
});
