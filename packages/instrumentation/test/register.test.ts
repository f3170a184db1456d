import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGenAiMetrics } from '../src/metrics.js';
import { register } from '../src/register.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const FAKE_COMPLETION = {
  id: 'chatcmpl-register-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 },
};

/** A minimal OTLP/HTTP receiver on a real socket: records each export and answers 200. */
async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url === '/v1/chat/completions') {
        // Doubles as a fake OpenAI upstream for the end-to-end test.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(FAKE_COMPLETION));
        return;
      }
      received.push({ path: req.url ?? '', headers: req.headers, body });
      const json = req.headers['content-type']?.includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
let receiver: Receiver;
const savedEnv = { ...process.env };

beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

function emitOneSpanAndOneCall() {
  trace.getTracer('register-test').startSpan('unit-of-work').end();
  createGenAiMetrics(metrics.getMeter('register-test')).record({
    operation: 'chat',
    provider: 'openai',
    requestModel: 'gpt-4o-mini',
    agent: 'research',
    durationS: 0.2,
    inputTokens: 12,
    outputTokens: 3,
    costUsd: 0.0001,
  });
}

interface JsonAttr {
  key: string;
  value: { stringValue?: string };
}

describe('register', () => {
  it('delivers spans and metrics as OTLP/JSON to the endpoint, with the service name and headers', async () => {
    const telemetry = register({
      serviceName: 'checkout-agent',
      serviceVersion: '1.2.3',
      endpoint: receiver.url,
      protocol: 'http/json',
      headers: { 'x-tenant': 'acme' },
      autoDetectResources: false,
    });
    emitOneSpanAndOneCall();
    await telemetry.shutdown();

    const traces = receiver.received.filter((r) => r.path === '/v1/traces');
    const metricExports = receiver.received.filter((r) => r.path === '/v1/metrics');
    expect(traces).toHaveLength(1);
    expect(metricExports.length).toBeGreaterThanOrEqual(1);
    expect(traces[0]?.headers['content-type']).toContain('application/json');
    expect(traces[0]?.headers['x-tenant']).toBe('acme');

    const body = JSON.parse(traces[0]!.body.toString('utf8'));
    const resourceSpans = body.resourceSpans[0];
    const attrs = new Map(
      (resourceSpans.resource.attributes as JsonAttr[]).map((a) => [a.key, a.value.stringValue]),
    );
    expect(attrs.get('service.name')).toBe('checkout-agent');
    expect(attrs.get('service.version')).toBe('1.2.3');
    expect(resourceSpans.scopeSpans[0].spans[0].name).toBe('unit-of-work');

    const metricNames = metricExports.flatMap((m) =>
      JSON.parse(m.body.toString('utf8')).resourceMetrics.flatMap(
        (rm: { scopeMetrics: { metrics: { name: string }[] }[] }) =>
          rm.scopeMetrics.flatMap((sm) => sm.metrics.map((x) => x.name)),
      ),
    );
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'gen_ai.client.operation.duration',
        'gen_ai.client.token.usage',
        'switchyard.client.cost',
      ]),
    );
  });

  it('instruments the openai SDK: its calls arrive as spans with cost, and as metrics', async () => {
    const telemetry = register({
      serviceName: 'e2e-agent',
      endpoint: receiver.url,
      protocol: 'http/json',
      autoDetectResources: false,
    });
    // Loaded after register(), through require, so the instrumentation's require hook patches it.
    const { OpenAI } = createRequire(import.meta.url)('openai') as typeof import('openai');
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${receiver.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.id).toBe('chatcmpl-register-1');
    await telemetry.shutdown();

    const spans = receiver.received
      .filter((r) => r.path === '/v1/traces')
      .flatMap((r) =>
        JSON.parse(r.body.toString('utf8')).resourceSpans.flatMap(
          (rs: { scopeSpans: { spans: { name: string; attributes: JsonAttr[] }[] }[] }) =>
            rs.scopeSpans.flatMap((ss) => ss.spans),
        ),
      );
    const chat = spans.find((s: { name: string }) => s.name === 'chat gpt-4o-mini');
    expect(chat).toBeDefined();
    const attrs = new Map(
      (chat.attributes as { key: string; value: Record<string, unknown> }[]).map((a) => [
        a.key,
        Object.values(a.value)[0],
      ]),
    );
    expect(attrs.get('gen_ai.response.id')).toBe('chatcmpl-register-1');
    // gpt-4o-mini: 1000 in at $0.15/M + 100 out at $0.60/M.
    expect(attrs.get('switchyard.cost.usd')).toBeCloseTo(0.00021, 10);
    expect(attrs.get('switchyard.pricing.version')).toMatch(/^\d{4}-\d{2}-\d{2}/);

    const metricNames = receiver.received
      .filter((r) => r.path === '/v1/metrics')
      .flatMap((m) =>
        JSON.parse(m.body.toString('utf8')).resourceMetrics.flatMap(
          (rm: { scopeMetrics: { metrics: { name: string }[] }[] }) =>
            rm.scopeMetrics.flatMap((sm) => sm.metrics.map((x) => x.name)),
        ),
      );
    expect(metricNames).toContain('switchyard.client.cost');
  });

  it('honours OTEL_* variables: endpoint, headers, service name, protobuf by default', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'authorization=Bearer%20abc';
    process.env.OTEL_SERVICE_NAME = 'env-named-service';
    const telemetry = register();
    emitOneSpanAndOneCall();
    await telemetry.shutdown();

    const traces = receiver.received.filter((r) => r.path === '/v1/traces');
    expect(traces).toHaveLength(1);
    expect(traces[0]?.headers['content-type']).toBe('application/x-protobuf');
    expect(traces[0]?.headers.authorization).toBe('Bearer abc');
    // Protobuf carries strings as raw UTF-8: the names must be in the payload.
    const payload = traces[0]!.body.toString('latin1');
    expect(payload).toContain('env-named-service');
    expect(payload).toContain('unit-of-work');
    expect(receiver.received.some((r) => r.path === '/v1/metrics')).toBe(true);
  });

  it('propagates W3C trace context and baggage after setup', async () => {
    const telemetry = register({
      traceExporter: new InMemorySpanExporter(),
      metricExporter: false,
    });
    const span = trace.getTracer('t').startSpan('outgoing');
    const ctx = propagation.setBaggage(
      trace.setSpan(context.active(), span),
      propagation.createBaggage({ 'switchyard.agent': { value: 'draft' } }),
    );
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    span.end();
    await telemetry.shutdown();
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(carrier.baggage).toBe('switchyard.agent=draft');
  });

  it('flushes on demand without stopping', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = register({ traceExporter: exporter, metricExporter: false });
    trace.getTracer('t').startSpan('first').end();
    await telemetry.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['first']);
    trace.getTracer('t').startSpan('second').end();
    await telemetry.shutdown();
  });

  it('returns the running setup when called twice, and can start again after shutdown', async () => {
    const first = register({ traceExporter: new InMemorySpanExporter(), metricExporter: false });
    expect(register()).toBe(first);
    await first.shutdown();
    const second = register({ traceExporter: new InMemorySpanExporter(), metricExporter: false });
    expect(second).not.toBe(first);
    await second.shutdown();
  });

  it('does nothing when OTEL_SDK_DISABLED=true', async () => {
    const env = (name: string) => ({ OTEL_SDK_DISABLED: 'true' })[name];
    const telemetry = register({ endpoint: receiver.url, protocol: 'http/json' }, env);
    emitOneSpanAndOneCall();
    await telemetry.shutdown();
    expect(receiver.received).toHaveLength(0);
  });

  it('rejects unsupported settings with messages that name the setting', () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    expect(() => register({}, env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }))).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported/,
    );
    expect(() => register({}, env({ OTEL_TRACES_EXPORTER: 'zipkin' }))).toThrow(
      /OTEL_TRACES_EXPORTER=zipkin/,
    );
    expect(() => register({}, env({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' }))).toThrow(
      /OTEL_METRIC_EXPORT_INTERVAL=soon/,
    );
    expect(() => register({ endpoint: 'localhost:4318' })).toThrow(/absolute http\(s\) URL/);
  });
});
