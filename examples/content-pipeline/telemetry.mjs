/**
 * The pipeline's OpenTelemetry setup, with the public API of `@switchyard/instrumentation` only:
 * `register()` starts the SDK (OTLP/HTTP span export through a batch processor, W3C trace-context
 * and baggage propagation), and `instrumentOpenAI(client)` instruments the client the pipeline
 * uses. The explicit client instrumentation keeps this file plain ESM without a loader hook
 * (`node --import @switchyard/instrumentation/hook` would patch `import 'openai'` instead).
 */
import { instrumentOpenAI, register } from '@switchyard/instrumentation';

/**
 * Starts telemetry. `endpoint` is the OTLP/HTTP base URL (a Collector, or the sidecar itself);
 * without it the standard `OTEL_EXPORTER_OTLP_ENDPOINT` applies (default http://localhost:4318).
 * `metrics: false` turns metric export off (the sidecar takes spans only, not `/v1/metrics`);
 * otherwise the standard `OTEL_METRICS_EXPORTER` variables decide.
 *
 * @example
 * const telemetry = startTelemetry({ serviceName: 'content-pipeline', endpoint: sidecar.url });
 * const openai = telemetry.instrument(new OpenAI({ baseURL: sidecar.baseURL }));
 * await telemetry.shutdown();
 */
export function startTelemetry({
  serviceName = 'content-pipeline',
  endpoint,
  metrics = true,
} = {}) {
  const registration = register({
    serviceName: process.env.OTEL_SERVICE_NAME ?? serviceName,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(metrics ? {} : { metricExporter: false }),
    // The client is instrumented explicitly below (no ESM loader hook needed).
    instrumentation: false,
    autoDetectResources: false,
  });
  return {
    /** Instruments an `openai` client: one GenAI span per call, streams included. */
    instrument: (client) => instrumentOpenAI(client, { includeStreamUsage: true }),
    /** Sends the buffered spans now. */
    flush: () => registration.forceFlush(),
    /** Sends what is left and stops the SDK. */
    shutdown: () => registration.shutdown(),
  };
}
