import { type DiagLogger, DiagLogLevel, diag, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPriceTable, SwitchyardOpenAIInstrumentation, withAgent } from '../src/index.js';
import type { PriceTable } from '../src/pricing/index.js';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_PRICING_VERSION,
  ATTR_SWITCHYARD_TASK_TYPE,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_SWITCHYARD_CLIENT_COST,
} from '../src/semconv.js';
import { type FakeOpenAIServer, startFakeOpenAIServer } from './fixtures/fake-openai-server.js';
import { type AnyOpenAI, loadOpenAI } from './fixtures/openai-majors.js';
import { setupTracing } from './fixtures/tracing.js';

const tracing = setupTracing();
const instrumentation = new SwitchyardOpenAIInstrumentation({ moduleNames: ['openai'] });
instrumentation.setTracerProvider(tracing.provider);

const diagErrors: unknown[][] = [];
const logger: DiagLogger = {
  error: (...args) => diagErrors.push(args),
  warn: () => {},
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
diag.setLogger(logger, DiagLogLevel.ERROR);

let server: FakeOpenAIServer;
let client: AnyOpenAI;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
  client = new (loadOpenAI('openai').OpenAI)({
    apiKey: 'sk-test',
    baseURL: server.baseURL,
    maxRetries: 0,
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  tracing.reset();
  diagErrors.length = 0;
  instrumentation.setConfig({ moduleNames: ['openai'] });
});

const MESSAGES = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Say hello to the whole wide world' },
];

describe('telemetry never changes the call', () => {
  it('a throwing price table is reported through diag; the caller gets the SDK answer', async () => {
    const exploding: PriceTable = {
      version: 'broken',
      cost: () => {
        throw new Error('price lookup exploded');
      },
      price: () => undefined,
      resolve: () => undefined,
    };
    instrumentation.setConfig({ moduleNames: ['openai'], priceTable: exploding });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: MESSAGES,
    });
    expect(completion.choices[0].message.content).toBe('Hello there');
    expect(diagErrors).toHaveLength(1);
    expect(String(diagErrors[0]?.[1])).toContain('price lookup exploded');
    // The span is still ended (once), so nothing leaks.
    expect(tracing.spans()).toHaveLength(1);
  });

  it('a tracer that throws at span start: the call goes out untraced and diag hears of it', async () => {
    const broken = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('tracer exploded');
        },
        startActiveSpan: () => {
          throw new Error('tracer exploded');
        },
      }),
    };
    instrumentation.setTracerProvider(broken as unknown as typeof tracing.provider);
    try {
      const completion = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: MESSAGES,
      });
      expect(completion.id).toBe('chatcmpl-1');
    } finally {
      instrumentation.setTracerProvider(tracing.provider);
    }
    expect(diagErrors).toHaveLength(1);
    expect(String(diagErrors[0]?.[1])).toContain('tracer exploded');
  });

  it('returns the SDK promise object itself (its own methods stay callable)', async () => {
    const { APIPromise } = loadOpenAI('openai/core/api-promise');
    const promise = client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    expect(promise).toBeInstanceOf(APIPromise);
    const { data, request_id } = await promise.withResponse();
    expect(data.id).toBe('chatcmpl-1');
    expect(request_id).toBe('req_fake');
  });

  it('an invalid option fails at construction with a message naming it', () => {
    expect(
      () => new SwitchyardOpenAIInstrumentation({ moduleNames: [], maxContentLength: -1 }),
    ).toThrow(/maxContentLength must be a non-negative integer/);
  });
});

describe('cost and metrics at span end', () => {
  it('a custom price table prices the response model; unknown models get no cost', async () => {
    const table = createPriceTable({
      base: {},
      overrides: { 'gpt-4o-mini': { input: 1, output: 2 } },
      version: 'test-prices',
      warn: () => {},
    });
    instrumentation.setConfig({ moduleNames: ['openai'], priceTable: table });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    await client.chat.completions.create({ model: 'mystery-model', messages: MESSAGES });
    const [known, unknown] = tracing.spans();
    const expected = table.cost('gpt-4o-mini-2024-07-18', {
      inputTokens: 12,
      outputTokens: 5,
      cacheReadInputTokens: 4,
    });
    expect(expected?.totalUsd).toBeGreaterThan(0);
    expect(known?.attributes[ATTR_SWITCHYARD_COST_USD]).toBe(expected?.totalUsd);
    expect(known?.attributes[ATTR_SWITCHYARD_PRICING_VERSION]).toBe('test-prices');
    expect(unknown?.attributes[ATTR_SWITCHYARD_COST_USD]).toBeUndefined();
    expect(unknown?.attributes[ATTR_SWITCHYARD_PRICING_VERSION]).toBeUndefined();
  });

  it('records duration, tokens and cost with agent and task', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    instrumentation.setMeterProvider(meterProvider);
    try {
      await withAgent({ name: 'writer', task: 'draft' }, () =>
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES }),
      );
      await reader.forceFlush();
      const metrics = exporter
        .getMetrics()
        .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
      const byName = new Map(metrics.map((m) => [m.descriptor.name, m]));
      const duration = byName.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
      expect(duration?.dataPoints).toHaveLength(1);
      expect(duration?.dataPoints[0]?.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe('writer');
      expect(duration?.dataPoints[0]?.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe('draft');
      const tokens = byName.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
      const sums = tokens?.dataPoints.map((p) => (p.value as { sum: number }).sum).sort();
      expect(sums).toEqual([12, 5].sort());
      const cost = byName.get(METRIC_SWITCHYARD_CLIENT_COST);
      const call = tracing.spans().find((s) => s.kind === SpanKind.CLIENT);
      expect(call?.attributes[ATTR_SWITCHYARD_COST_USD]).toBeGreaterThan(0);
      expect(cost?.dataPoints[0]?.value).toBe(call?.attributes[ATTR_SWITCHYARD_COST_USD]);
    } finally {
      await meterProvider.shutdown();
    }
  });
});

describe('content capture', () => {
  it('is off by default', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    const span = tracing.spans()[0];
    expect(span?.attributes[ATTR_GEN_AI_INPUT_MESSAGES]).toBeUndefined();
    expect(JSON.stringify(span?.attributes)).not.toContain('wide world');
  });

  it('captureMessageContent records input and output messages, truncated to the bound', async () => {
    instrumentation.setConfig({
      moduleNames: ['openai'],
      captureMessageContent: true,
      maxContentLength: 20,
    });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    const span = tracing.spans()[0];
    expect(JSON.parse(String(span?.attributes[ATTR_GEN_AI_INPUT_MESSAGES]))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      // 9 characters went to the system prompt, so 11 remain of the 20.
      { role: 'user', parts: [{ type: 'text', content: 'Say hello t' }] },
    ]);
    expect(JSON.parse(String(span?.attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'Hello there' }],
        finish_reason: 'stop',
      },
    ]);
  });

  it('captures streamed output and the Responses API too', async () => {
    instrumentation.setConfig({ moduleNames: ['openai'], captureMessageContent: true });
    for await (const _ of await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: MESSAGES,
      stream: true,
    })) {
      // drain
    }
    await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Say hi',
      instructions: 'Be kind',
    });
    const [chat, responses] = tracing.spans();
    expect(JSON.parse(String(chat?.attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'stop' },
    ]);
    expect(JSON.parse(String(responses?.attributes[ATTR_GEN_AI_INPUT_MESSAGES]))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be kind' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Say hi' }] },
    ]);
    expect(JSON.parse(String(responses?.attributes[ATTR_GEN_AI_OUTPUT_MESSAGES]))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hi there' }] },
    ]);
    expect(responses?.attributes[ATTR_GEN_AI_RESPONSE_ID]).toBe('resp_1');
  });

  it('the environment variable turns it on', async () => {
    process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';
    try {
      instrumentation.setConfig({ moduleNames: ['openai'] });
    } finally {
      delete process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
    }
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    expect(String(tracing.spans()[0]?.attributes[ATTR_GEN_AI_INPUT_MESSAGES])).toContain(
      'wide world',
    );
  });

  it('the span status stays unset on success', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    expect(tracing.spans()[0]?.status.code).toBe(SpanStatusCode.UNSET);
  });
});
