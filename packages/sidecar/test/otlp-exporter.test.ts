/**
 * End to end: spans made by the real SDK, exported by the real OTLP exporters (protobuf and
 * JSON, gzip or not) to the intake on a real socket, extracted and joined into a recording sink.
 */
import { SpanKind } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_OPERATION_INVOKE_AGENT,
  GEN_AI_OPERATION_TEXT_COMPLETION,
  SCOPE_SIDECAR,
} from '@switchyard/instrumentation/semconv';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type IntakeServer, RecordingSink, SpanFactory, startIntake } from './intake-fixtures.js';

type Variant = { name: string; make: (url: string) => SpanExporter };
const variants: Variant[] = [
  { name: 'protobuf', make: (url) => new ProtoExporter({ url }) },
  {
    name: 'protobuf+gzip',
    make: (url) => new ProtoExporter({ url, compression: CompressionAlgorithm.GZIP }),
  },
  { name: 'json', make: (url) => new JsonExporter({ url }) },
  {
    name: 'json+gzip',
    make: (url) => new JsonExporter({ url, compression: CompressionAlgorithm.GZIP }),
  },
];

function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe.each(variants)('intake fed by the real $name exporter', ({ make }) => {
  const spans = new SpanFactory();
  let sink: RecordingSink;
  let server: IntakeServer;
  let exporter: SpanExporter;

  afterAll(() => spans.shutdown());
  afterEach(async () => {
    await exporter.shutdown();
    await server.close();
  });

  async function start(): Promise<void> {
    sink = new RecordingSink();
    server = await startIntake({ sink, now: () => 1_000 });
    exporter = make(server.url);
  }

  it('extracts a chat call field by field', async () => {
    await start();
    const call = spans.chat({
      agent: 'outline',
      task: 'plan-sections',
      model: 'gpt-4o',
      servedModel: 'gpt-4o-mini',
      responseId: 'chatcmpl-abc',
      inputTokens: 1834,
      outputTokens: 412,
      cost: 0.000521,
      finishReasons: ['length', 'stop'],
      routeReason: 'rule',
      ruleId: 'rule-17',
      cacheStatus: 'miss',
      startMs: 1_764_000_000_250,
      endMs: 1_764_000_002_000,
    });
    const result = await exportWith(exporter, [call]);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(sink.calls).toHaveLength(1);
    const record = sink.calls[0]!;
    expect(record.traceId).toBe(call.spanContext().traceId);
    expect(record.spanId).toBe(call.spanContext().spanId);
    expect(record.responseId).toBe('chatcmpl-abc');
    expect(record.agent).toBe('outline');
    expect(record.task).toBe('plan-sections');
    expect(record.operation).toBe('chat');
    expect(record.requestedModel).toBe('gpt-4o');
    expect(record.servedModel).toBe('gpt-4o-mini');
    expect(record.routeReason).toBe('rule');
    expect(record.ruleId).toBe('rule-17');
    expect(record.cacheStatus).toBe('miss');
    expect(record.inputTokens).toBe(1834);
    expect(record.outputTokens).toBe(412);
    expect(record.costUsd).toBeCloseTo(0.000521, 12);
    expect(record.startTimeUnixMs).toBeCloseTo(1_764_000_000_250, 3);
    expect(record.durationMs).toBeCloseTo(1750, 3);
    expect(record.error).toBe(false);
    expect(record.errorType).toBeUndefined();
    expect(record.finishReasons).toEqual(['length', 'stop']);
    expect(server.intake.stats().responses[200]).toBe(1);
  });

  it('marks errors, falls back to the response model, and ignores spans that are not calls', async () => {
    await start();
    const failed = spans.chat({ error: true, errorType: 'RateLimitError', responseId: 'r-err' });
    const unrouted = spans.chat({ model: 'gpt-4o', responseId: 'r-plain' });
    const completion = spans.chat({
      extra: { [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_TEXT_COMPLETION },
      responseId: 'r-text',
    });
    const ignored = [
      // The sidecar's own span of the same call: counted from the agent's span only.
      spans.chat({ scope: SCOPE_SIDECAR, responseId: 'r-sidecar' }),
      spans.chat({ kind: SpanKind.SERVER, responseId: 'r-server' }),
      spans.chat({
        extra: { [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_EMBEDDINGS },
        responseId: 'r-emb',
      }),
      spans.span({
        name: 'invoke_agent research',
        attributes: { [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_INVOKE_AGENT },
      }),
      spans.span({ name: 'GET /health', kind: SpanKind.SERVER, attributes: { 'http.route': '/' } }),
    ];
    const result = await exportWith(exporter, [failed, ...ignored, unrouted, completion]);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(sink.calls.map((c) => c.responseId)).toEqual(['r-err', 'r-plain', 'r-text']);
    const [err, plain, text] = sink.calls;
    expect(err!.error).toBe(true);
    expect(err!.errorType).toBe('RateLimitError');
    expect(plain!.error).toBe(false);
    expect(plain!.servedModel).toBe('gpt-4o-2024-08-06');
    expect(plain!.routeReason).toBeUndefined();
    expect(text!.operation).toBe('text_completion');
    expect(server.intake.stats().spans).toBe(8);
  });

  it('joins feedback by link and by response id, call first or feedback first', async () => {
    await start();
    const a = spans.chat({ responseId: 'resp-a', agent: 'draft' });
    const b = spans.chat({ responseId: 'resp-b', agent: 'refine' });
    // Batch 1: call a, and feedback for b that arrives before b.
    const early = spans.feedback({ score: 0.25, source: 'validator', responseId: 'resp-b' });
    await exportWith(exporter, [a, early]);
    expect(sink.calls.map((c) => c.agent)).toEqual(['draft']);
    expect(sink.verdicts).toHaveLength(0);
    expect(server.intake.stats().pendingFeedback).toBe(1);
    // Batch 2: feedback for a by link (call came first), then call b (feedback came first).
    const late = spans.feedback({ score: 0.9, source: 'reviewer', call: a });
    await exportWith(exporter, [late, b]);
    expect(sink.calls.map((c) => c.agent)).toEqual(['draft', 'refine']);
    expect(sink.verdicts).toHaveLength(2);
    const byAgent = new Map(sink.verdicts.map((v) => [v.call.agent, v.verdict]));
    expect(byAgent.get('draft')).toMatchObject({ score: 0.9, source: 'reviewer' });
    expect(byAgent.get('refine')).toMatchObject({ score: 0.25, source: 'validator' });
    expect(byAgent.get('draft')!.timeUnixMs).toBeCloseTo(1_764_000_005_100, 3);
    expect(server.intake.stats()).toMatchObject({ verdicts: 2, pendingFeedback: 0, feedback: 2 });
  });

  it('counts a retried batch once', async () => {
    await start();
    const call = spans.chat({ responseId: 'resp-retry' });
    const fb = spans.feedback({ score: 1, call });
    await exportWith(exporter, [call, fb]);
    await exportWith(exporter, [call, fb]);
    expect(sink.calls).toHaveLength(1);
    expect(sink.verdicts).toHaveLength(1);
    expect(server.intake.stats()).toMatchObject({ duplicateCalls: 1, duplicateFeedback: 1 });
  });

  it('reports unusable spans as a partial success and keeps the rest', async () => {
    await start();
    const good = spans.chat({ responseId: 'resp-good' });
    const noModel = spans.chat({
      extra: { [ATTR_GEN_AI_REQUEST_MODEL]: '', [ATTR_GEN_AI_RESPONSE_MODEL]: '' },
      responseId: 'x',
    });
    const badScore = spans.feedback({ score: 7, responseId: 'resp-good' });
    const result = await exportWith(exporter, [good, noModel, badScore]);
    // The exporter treats partial success as success (it only logs the message).
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(sink.calls.map((c) => c.responseId)).toEqual(['resp-good']);
    expect(sink.verdicts).toHaveLength(0);
    expect(server.intake.stats().rejectedSpans).toBe(2);
  });
});

describe('backpressure against the real exporter', () => {
  it('the exporter retries after 429 + Retry-After and the batch lands once', async () => {
    const sink = new RecordingSink();
    let refusals = 1;
    const server = await startIntake({
      sink,
      retryAfterSeconds: 1,
      overloaded: () => refusals-- > 0,
    });
    const spans = new SpanFactory();
    const exporter = new ProtoExporter({ url: server.url });
    try {
      const result = await exportWith(exporter, [spans.chat({ responseId: 'after-retry' })]);
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(server.intake.stats().responses).toMatchObject({ 200: 1, 429: 1 });
      expect(sink.calls.map((c) => c.responseId)).toEqual(['after-retry']);
    } finally {
      await exporter.shutdown();
      await server.close();
      await spans.shutdown();
    }
  });
});
