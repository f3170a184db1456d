/**
 * The intake inside the real sidecar (`startSidecar` with the intake as a plugin, as main wires
 * it): the real gzip protobuf exporter sends to the sidecar's own `/v1/traces`, through the app's
 * router, and a call seen twice (the agent's client span and the sidecar's span) counts once.
 */
import { SpanKind } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SCOPE_SIDECAR } from '@switchyard/instrumentation/semconv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTraceIntake, type TraceIntake } from '../src/intake/trace-intake.js';
import { type RunningSidecar, startSidecar } from '../src/main.js';
import { RecordingSink, SpanFactory } from './intake-fixtures.js';

describe('span intake in the running sidecar', () => {
  const sink = new RecordingSink();
  const spans = new SpanFactory();
  let intake: TraceIntake | undefined;
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    sidecar = await startSidecar({
      argv: ['--port', '0', '--host', '127.0.0.1', '--upstream-url', 'http://127.0.0.1:9'],
      env: { SWITCHYARD_LOG_LEVEL: 'silent', SWITCHYARD_CACHE: 'false' },
      plugins: [
        {
          name: 'intake',
          createHandlers(ctx) {
            const own = createTraceIntake({ sink, now: ctx.now, maxBodyBytes: 64 * 1024 });
            intake = own;
            return { traceIntake: own.handle, close: () => own.close() };
          },
        },
      ],
    });
  });
  afterAll(async () => {
    await sidecar.close();
    await spans.shutdown();
  });

  function send(batch: ReadableSpan[]): Promise<ExportResult> {
    const exporter = new OTLPTraceExporter({
      url: `${sidecar.url}/v1/traces`,
      compression: CompressionAlgorithm.GZIP,
    });
    return new Promise<ExportResult>((resolve) => exporter.export(batch, resolve)).finally(() =>
      exporter.shutdown(),
    );
  }

  it('records the agent span of a proxied call once, and joins its feedback', async () => {
    const agentSpan = spans.chat({
      responseId: 'chatcmpl-proxied',
      servedModel: 'gpt-4o-mini',
      routeReason: 'rule',
    });
    // The sidecar's own span of the same call (its scope, SERVER kind as the proxy writes it).
    const sidecarSpan = spans.chat({
      responseId: 'chatcmpl-proxied',
      scope: SCOPE_SIDECAR,
      kind: SpanKind.SERVER,
    });
    const sidecarUpstream = spans.chat({ responseId: 'chatcmpl-proxied', scope: SCOPE_SIDECAR });
    const verdict = spans.feedback({ score: 0.6, responseId: 'chatcmpl-proxied' });
    const result = await send([sidecarSpan, sidecarUpstream, agentSpan, verdict]);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0]!.spanId).toBe(agentSpan.spanContext().spanId);
    expect(sink.calls[0]!.servedModel).toBe('gpt-4o-mini');
    expect(sink.verdicts).toHaveLength(1);
    expect(sink.verdicts[0]!.verdict.score).toBe(0.6);
  });

  it('refuses a batch over the limit with 413 through the sidecar', async () => {
    const res = await fetch(`${sidecar.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(100 * 1024),
    });
    expect(res.status).toBe(413);
    expect(intake!.stats().responses[413]).toBe(1);
  });
});
