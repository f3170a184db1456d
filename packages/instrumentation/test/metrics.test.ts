import { createNoopMeter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createGenAiMetrics } from '../src/metrics.js';
import {
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_USAGE_BUCKETS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_SWITCHYARD_CLIENT_COST,
} from '../src/semconv.js';

const providers: MeterProvider[] = [];

function setup() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  providers.push(provider);
  const metrics = createGenAiMetrics(provider.getMeter('test'));
  async function collect(): Promise<Map<string, MetricData>> {
    await reader.forceFlush();
    const out = new Map<string, MetricData>();
    for (const rm of exporter.getMetrics()) {
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
    }
    return out;
  }
  return { metrics, collect };
}

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
});

describe('createGenAiMetrics', () => {
  it('records duration, input/output tokens and cost with the conventions attributes and buckets', async () => {
    const { metrics, collect } = setup();
    metrics.record({
      operation: 'chat',
      provider: 'openai',
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024-08-06',
      agent: 'research',
      task: 'summarize',
      durationS: 0.25,
      inputTokens: 1200,
      outputTokens: 300,
      costUsd: 0.006,
    });
    const all = await collect();

    const base = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.agent.name': 'research',
      'switchyard.task.type': 'summarize',
    };

    const duration = all.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION) as HistogramMetricData;
    expect(duration.descriptor.unit).toBe('s');
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration.dataPoints).toHaveLength(1);
    const d = duration.dataPoints[0]!;
    expect(d.attributes).toEqual(base);
    expect(d.value.buckets.boundaries).toEqual([...GEN_AI_DURATION_BUCKETS]);
    expect(d.value.sum).toBeCloseTo(0.25);
    expect(d.value.count).toBe(1);

    const tokens = all.get(METRIC_GEN_AI_CLIENT_TOKEN_USAGE) as HistogramMetricData;
    expect(tokens.descriptor.unit).toBe('{token}');
    const byType = new Map(tokens.dataPoints.map((p) => [p.attributes['gen_ai.token.type'], p]));
    expect([...byType.keys()].sort()).toEqual(['input', 'output']);
    expect(byType.get('input')?.attributes).toEqual({ ...base, 'gen_ai.token.type': 'input' });
    expect(byType.get('input')?.value.sum).toBe(1200);
    expect(byType.get('output')?.value.sum).toBe(300);
    expect(byType.get('input')?.value.buckets.boundaries).toEqual([...GEN_AI_TOKEN_USAGE_BUCKETS]);

    const cost = all.get(METRIC_SWITCHYARD_CLIENT_COST) as SumMetricData;
    expect(cost.descriptor.unit).toBe('USD');
    expect(cost.dataPointType).toBe(DataPointType.SUM);
    expect(cost.isMonotonic).toBe(true);
    expect(cost.dataPoints[0]?.attributes).toEqual(base);
    expect(cost.dataPoints[0]?.value).toBeCloseTo(0.006);
  });

  it('adds error.type on failures and leaves out what is unknown', async () => {
    const { metrics, collect } = setup();
    metrics.record({
      operation: 'chat',
      provider: 'openai',
      requestModel: 'gpt-4o-mini',
      errorType: '429',
      durationS: 0.01,
    });
    const all = await collect();
    const duration = all.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION) as HistogramMetricData;
    expect(duration.dataPoints[0]?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'error.type': '429',
    });
    // No tokens and no cost were known: nothing is recorded for them (not a zero).
    expect(all.has(METRIC_GEN_AI_CLIENT_TOKEN_USAGE)).toBe(false);
    expect(all.has(METRIC_SWITCHYARD_CLIENT_COST)).toBe(false);
  });

  it('aggregates calls of the same agent and task into one series', async () => {
    const { metrics, collect } = setup();
    for (let i = 0; i < 3; i++) {
      metrics.record({
        operation: 'chat',
        provider: 'openai',
        requestModel: 'gpt-4o',
        agent: 'draft',
        durationS: 1,
        inputTokens: 10,
        outputTokens: 5,
        costUsd: 0.5,
      });
    }
    const all = await collect();
    const cost = all.get(METRIC_SWITCHYARD_CLIENT_COST) as SumMetricData;
    expect(cost.dataPoints).toHaveLength(1);
    expect(cost.dataPoints[0]?.value).toBeCloseTo(1.5);
    const duration = all.get(METRIC_GEN_AI_CLIENT_OPERATION_DURATION) as HistogramMetricData;
    expect(duration.dataPoints[0]?.value.count).toBe(3);
  });

  it('ignores negative or non-finite values instead of corrupting a series', async () => {
    const { metrics, collect } = setup();
    metrics.record({
      operation: 'chat',
      provider: 'openai',
      requestModel: 'gpt-4o',
      durationS: Number.NaN,
      inputTokens: -1,
      outputTokens: Number.POSITIVE_INFINITY,
      costUsd: -2,
    });
    const all = await collect();
    expect(all.size).toBe(0);
  });

  it('does nothing, without throwing, on a no-op meter', () => {
    const metrics = createGenAiMetrics(createNoopMeter());
    expect(() =>
      metrics.record({ operation: 'chat', provider: 'openai', requestModel: 'x', durationS: 1 }),
    ).not.toThrow();
    // One shared no-op object: nothing is built per meter or per call when metrics are off.
    expect(createGenAiMetrics(createNoopMeter())).toBe(metrics);
  });
});
