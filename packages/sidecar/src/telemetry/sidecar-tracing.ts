/**
 * The sidecar's own tracer. Built only when the operator configured an exporter through the
 * standard `OTEL_*` variables; otherwise there is no tracer at all and the request path skips
 * every span call behind one `undefined` check.
 *
 * Contexts are passed explicitly (no global context manager): the server span continues the
 * caller's `traceparent`, and child spans are started under it by hand.
 */

import type { IncomingHttpHeaders } from 'node:http';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { SCOPE_SIDECAR } from '@switchyard/instrumentation/semconv';
import type { TelemetryConfig } from '../config/sidecar-config.js';

export interface SidecarTracing {
  readonly tracer: Tracer;
  /** Flushes pending spans and stops the exporter. */
  shutdown(): Promise<void>;
}

/**
 * Creates the tracer when traces are enabled, else `undefined`.
 *
 * @example
 * const tracing = createSidecarTracing(config.telemetry, process.env);
 * const app = createApp({ ...deps, tracer: tracing?.tracer });
 */
export function createSidecarTracing(
  telemetry: TelemetryConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
  version = '0.1.0',
): SidecarTracing | undefined {
  if (!telemetry.tracesEnabled) return undefined;
  const kind = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',')[0]?.trim().toLowerCase();
  const exporter: SpanExporter =
    kind === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': telemetry.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return {
    tracer: provider.getTracer(SCOPE_SIDECAR, version),
    shutdown: () => provider.shutdown(),
  };
}

const propagator = new W3CTraceContextPropagator();

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  get(carrier, key) {
    return carrier[key];
  },
  keys(carrier) {
    return Object.keys(carrier);
  },
};

/** The caller's trace context from `traceparent`/`tracestate`, or the root context. */
export function extractParentContext(headers: IncomingHttpHeaders): Context {
  if (headers.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** Starts a SERVER span continuing the caller's trace. */
export function startServerSpan(
  tracer: Tracer,
  name: string,
  headers: IncomingHttpHeaders,
): { span: Span; context: Context } {
  const parent = extractParentContext(headers);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
  return { span, context: trace.setSpan(parent, span) };
}
