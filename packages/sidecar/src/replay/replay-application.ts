/**
 * The application side of the replay: what a real agent service runs. An `openai` client
 * instrumented by `@switchyard/instrumentation`, each call made inside `withAgent` with the row's
 * agent and task, every span exported by the standard OTLP/HTTP protobuf exporter (batched) to the
 * sidecar's `/v1/traces`, and each answer's quality reported with `recordFeedback`.
 *
 * It registers the OpenTelemetry globals (tracer provider, async context, W3C propagators) once
 * per process, as an application's start-up would; each run points the exporter at its sidecar.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  type ExportResult,
  ExportResultCode,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { instrumentOpenAI, recordFeedback, withAgent } from '@switchyard/instrumentation';
import {
  HEADER_SWITCHYARD_CACHE_CONTROL,
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
} from '@switchyard/instrumentation/semconv';
import type OpenAI from 'openai';
import type { ReplayRow } from './replay-dataset.js';
import type { ReplayPricing } from './replay-pricing.js';
import { REPLAY_USER_PREFIX } from './replay-provider.js';
import type { ReplayApplication, ReplayCallResult } from './replay-run.js';

/** The `recordFeedback` source of replayed scores. */
export const REPLAY_FEEDBACK_SOURCE = 'replay';

export interface ReplayApplicationOptions {
  readonly sidecarUrl: string;
  readonly tracesUrl: string;
  readonly pricing: ReplayPricing;
  /** Export delay of the batch span processor. Default 200 ms, so the learner hears soon. */
  readonly exportDelayMs?: number;
}

/**
 * Starts the instrumented application side. Only one may run per process at a time.
 *
 * @example
 * const app = await startReplayApplication({ sidecarUrl, tracesUrl, pricing });
 * const r = await app.call(row, 'gpt-4-1106-preview');
 * app.feedback(r.responseId, row.outcomes[r.servedModel].score);
 */
export async function startReplayApplication(
  options: ReplayApplicationOptions,
): Promise<ReplayApplication> {
  // `openai` is loaded only when a replay runs: the proxy itself never needs the SDK.
  const { default: OpenAIClient } = (await import('openai')) as { default: typeof OpenAI };
  const telemetry = processTelemetry(options.exportDelayMs ?? 200);
  if (telemetry.exporter.target !== undefined) {
    throw new Error(
      'replay: another replay is running in this process; run them one after another',
    );
  }
  telemetry.exporter.target = new OTLPTraceExporter({ url: options.tracesUrl });
  const provider = telemetry.provider;

  const client = instrumentOpenAI(
    new OpenAIClient({ baseURL: options.sidecarUrl, apiKey: 'replay', maxRetries: 2 }),
    { priceTable: options.pricing.table, tracerProvider: provider },
  );

  async function call(row: ReplayRow, model: string): Promise<ReplayCallResult> {
    return withAgent({ name: row.agent, task: row.task }, async () => {
      const { data, response } = await client.chat.completions
        .create(
          {
            model,
            messages: row.messages.map((m) => ({
              role: m.role as 'user',
              content: m.content,
            })),
            user: `${REPLAY_USER_PREFIX}${row.id}`,
          },
          // Routing is what is measured: answers are not served from the sidecar's cache.
          { headers: { [HEADER_SWITCHYARD_CACHE_CONTROL]: 'no-store' } },
        )
        .withResponse();
      const servedModel = response.headers.get(HEADER_SWITCHYARD_MODEL) ?? data.model;
      const routeReason = response.headers.get(HEADER_SWITCHYARD_ROUTE_REASON) ?? undefined;
      const ruleId = response.headers.get(HEADER_SWITCHYARD_RULE) ?? undefined;
      return {
        responseId: data.id,
        servedModel,
        ...(routeReason ? { routeReason } : {}),
        ...(ruleId ? { ruleId } : {}),
      };
    });
  }

  return {
    call,
    feedback(responseId, score) {
      recordFeedback(responseId, score, { source: REPLAY_FEEDBACK_SOURCE });
    },
    flush: () => provider.forceFlush(),
    async close() {
      await provider.forceFlush().catch(() => {});
      const target = telemetry.exporter.target;
      telemetry.exporter.target = undefined;
      await target?.shutdown().catch(() => {});
    },
  };
}

/**
 * A span exporter whose destination can change: each replay run points it at its own sidecar.
 * Spans exported while no run is active are dropped (there is nobody to send them to).
 */
class RetargetableExporter implements SpanExporter {
  target: SpanExporter | undefined;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.target === undefined) {
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.target.export(spans, done);
  }
  async shutdown(): Promise<void> {
    await this.target?.shutdown();
  }
  async forceFlush(): Promise<void> {
    await this.target?.forceFlush?.();
  }
}

interface ProcessTelemetry {
  readonly provider: BasicTracerProvider;
  readonly exporter: RetargetableExporter;
}

// Owner: this module, for the life of the process. The OpenTelemetry API's proxy tracers keep
// the first provider they resolve (withAgent's and recordFeedback's tracers are created at
// import), so a second provider registered for a second run would never receive their spans.
// One provider per process, like an application's start-up, with a retargetable exporter.
let telemetryOfProcess: ProcessTelemetry | undefined;

function processTelemetry(exportDelayMs: number): ProcessTelemetry {
  if (telemetryOfProcess !== undefined) return telemetryOfProcess;
  const exporter = new RetargetableExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'switchyard-replay' }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: exportDelayMs,
        maxQueueSize: 65_536,
        maxExportBatchSize: 2_048,
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager)) {
    contextManager.disable();
    throw new Error(
      'replay: another OpenTelemetry context manager is registered in this process; run the replay in its own process',
    );
  }
  if (!trace.setGlobalTracerProvider(provider)) {
    throw new Error(
      'replay: another OpenTelemetry tracer provider is registered in this process; run the replay in its own process',
    );
  }
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  telemetryOfProcess = { provider, exporter };
  return telemetryOfProcess;
}
