// The telemetry pipeline every instrumentation benchmark gives each variant, in one place so the
// benchmarks measure the same thing: a tracer provider with a BatchSpanProcessor and a meter
// provider with a periodic reader, both feeding exporters that drop what they receive (real
// processing, no network), then the variant's instrumentation. Call it before loading `openai`
// with require, so the instrumentation's require hook patches it, then hand the client to
// `prepareClient` (only the floor variant does anything there).
//
//   const { tracerProvider, meterProvider, prepareClient, exportedSpans } =
//     await installVariantTelemetry('ours');
//
// Variants: none (the pipeline, no instrumentation), floor (see installFloor below), contrib
// (@opentelemetry/instrumentation-openai) and ours (@switchyard/instrumentation).
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const VARIANTS = ['none', 'floor', 'contrib', 'ours'];
/** Opt-in diagnostic variants (`--variants none,als,...`), not run by default. */
export const EXTRA_VARIANTS = ['als'];

/** The non-streaming chat completion every benchmark's fake server or fetch answers with. */
export const COMPLETION_BODY = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'pong' },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
});

const FAKE_SPAN_CONTEXT = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 0,
};

export async function installVariantTelemetry(variant) {
  const known = [...VARIANTS, ...EXTRA_VARIANTS];
  if (!known.includes(variant)) {
    throw new Error(`unknown variant '${variant}': expected one of ${known.join(', ')}`);
  }
  let exported = 0;
  const spanExporter = {
    export: (spans, done) => {
      exported += spans.length;
      done({ code: 0 });
    },
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

  if (variant === 'als') {
    // `none` plus the context manager's AsyncLocalStorage switched on, as the BatchSpanProcessor
    // does the first time it exports (it runs the exporter in a suppressed context) and as any
    // instrumentation that makes a span active does. On Node 20 that enables async hooks for every
    // promise the process creates afterwards; on Node 24 AsyncLocalStorage no longer uses them.
    context.with(
      trace.setSpan(context.active(), trace.wrapSpanContext(FAKE_SPAN_CONTEXT)),
      () => {},
    );
  } else if (variant === 'contrib') {
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
  const prepareClient = variant === 'floor' ? installFloor : () => {};
  // Spans that reached the exporter so far (after a forceFlush), so a benchmark can check that a
  // variant it timed really emitted telemetry.
  const exportedSpans = async () => {
    await tracerProvider.forceFlush();
    return exported;
  };
  return { tracerProvider, meterProvider, prepareClient, exportedSpans };
}

// The floor: the least any instrumentation meeting the GenAI conventions must do per call through
// this same SDK pipeline, written by hand around one client's `chat.completions.create` with no
// patching machinery: one CLIENT span (started in the caller's context and made active for the
// call, so HTTP spans would nest under it) with the request attributes and, at the end, the
// response id, model, finish reason and token counts; the duration histogram and the two token
// histograms. Streams see every chunk through one extra reaction per chunk, the least that can read
// a chunk. It does not keep the SDK's promise or stream objects, propagate headers, price calls or
// survive errors gracefully: it is a lower bound to compare with, not an instrumentation.
function installFloor(client) {
  const tracer = trace.getTracer('bench-floor');
  const meter = metrics.getMeter('bench-floor');
  const duration = meter.createHistogram('gen_ai.client.operation.duration', { unit: 's' });
  const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  const completions = client.chat.completions;
  const create = completions.create;
  completions.create = function floorCreate(body, options) {
    const startedAt = performance.now();
    const parent = context.active();
    const base = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': body.model,
    };
    const span = tracer.startSpan(
      `chat ${body.model}`,
      { kind: SpanKind.CLIENT, attributes: { ...base } },
      parent,
    );
    let ended = false;
    const end = (id, model, finish, usage) => {
      if (ended) return;
      ended = true;
      const attributes = {};
      if (id !== undefined) attributes['gen_ai.response.id'] = id;
      if (model !== undefined) attributes['gen_ai.response.model'] = model;
      if (finish != null) attributes['gen_ai.response.finish_reasons'] = [finish];
      if (usage != null) {
        attributes['gen_ai.usage.input_tokens'] = usage.prompt_tokens;
        attributes['gen_ai.usage.output_tokens'] = usage.completion_tokens;
      }
      span.setAttributes(attributes);
      span.end();
      duration.record((performance.now() - startedAt) / 1000, base);
      if (usage != null) {
        tokens.record(usage.prompt_tokens, { ...base, 'gen_ai.token.type': 'input' });
        tokens.record(usage.completion_tokens, { ...base, 'gen_ai.token.type': 'output' });
      }
    };
    const promise = context.with(trace.setSpan(parent, span), () =>
      create.call(this, body, options),
    );
    return promise.then(
      (result) => {
        if (!body.stream) {
          end(result.id, result.model, result.choices?.[0]?.finish_reason, result.usage);
          return result;
        }
        return tappedStream(result, end);
      },
      (error) => {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw error;
      },
    );
  };
}

function tappedStream(stream, end) {
  let id;
  let model;
  let finish;
  let usage;
  const onStep = (step) => {
    if (step.done) return end(id, model, finish, usage);
    const chunk = step.value;
    id = chunk.id;
    model = chunk.model;
    if (chunk.usage != null) usage = chunk.usage;
    const reason = chunk.choices[0]?.finish_reason;
    if (reason != null) finish = reason;
  };
  return {
    [Symbol.asyncIterator]() {
      const inner = stream[Symbol.asyncIterator]();
      return {
        next() {
          const step = inner.next();
          step.then(onStep, () => {});
          return step;
        },
        return(value) {
          end(id, model, finish, usage);
          return inner.return ? inner.return(value) : Promise.resolve({ done: true, value });
        },
      };
    },
  };
}
