// The telemetry pipeline every instrumentation benchmark gives each variant, in one place so the
// benchmarks measure the same thing: a tracer provider with a BatchSpanProcessor and a meter
// provider with a periodic reader, both feeding exporters that drop what they receive (real
// processing, no network), then the variant's instrumentation. Call it before loading `openai`
// with require, so the instrumentation's require hook patches it.
//
//   const { tracerProvider, meterProvider } = await installVariantTelemetry('ours');
import { metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const VARIANTS = ['none', 'contrib', 'ours'];

export async function installVariantTelemetry(variant) {
  if (!VARIANTS.includes(variant)) {
    throw new Error(`unknown variant '${variant}': expected one of ${VARIANTS.join(', ')}`);
  }
  const spanExporter = {
    export: (_spans, done) => done({ code: 0 }),
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const metricExporter = {
    export: (_metrics, done) => done({ code: 0 }),
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const tracerProvider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
  });
  tracerProvider.register();
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 10_000 }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  if (variant === 'contrib') {
    const { OpenAIInstrumentation } = await import('@opentelemetry/instrumentation-openai');
    registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
  } else if (variant === 'ours') {
    const ours = await import('@switchyard/instrumentation');
    if (typeof ours.SwitchyardOpenAIInstrumentation !== 'function') {
      throw new Error(
        '@switchyard/instrumentation has no SwitchyardOpenAIInstrumentation export; run `npm run build`',
      );
    }
    registerInstrumentations({ instrumentations: [new ours.SwitchyardOpenAIInstrumentation()] });
  }
  return { tracerProvider, meterProvider };
}
