import { type Attributes, context, diag, metrics, propagation, trace } from '@opentelemetry/api';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { SwitchyardOpenAIInstrumentation } from './openai-instrumentation.js';
import type { SwitchyardInstrumentationConfig } from './types.js';

/** OTLP encodings over HTTP. gRPC is not bundled (it would pull in @grpc/grpc-js). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Options of {@link register}. Each says its default and the environment variable it replaces. */
export interface RegisterOptions {
  /** `service.name` of this process. Defaults to `process.env.OTEL_SERVICE_NAME`. */
  serviceName?: string;
  /** `service.version`. No default. */
  serviceVersion?: string;
  /** More resource attributes; `OTEL_RESOURCE_ATTRIBUTES` is read as well. */
  resourceAttributes?: Attributes;
  /**
   * Base URL of the OTLP/HTTP receiver (a Collector, or the sidecar's `/v1/traces`), without the
   * `/v1/...` path. Defaults to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`
   * (full URLs) or `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4318`.
   */
  endpoint?: string;
  /** Extra headers on every export request; merged over `OTEL_EXPORTER_OTLP_HEADERS`. */
  headers?: Record<string, string>;
  /**
   * Encoding of export requests. Defaults to `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` /
   * `..._METRICS_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`.
   */
  protocol?: OtlpProtocol;
  /**
   * Where spans go instead of OTLP (e.g. an `InMemorySpanExporter` in tests), or `false` for no
   * span export. Defaults to OTLP, or what `OTEL_TRACES_EXPORTER` names (`otlp`, `console`, `none`).
   */
  traceExporter?: SpanExporter | false;
  /**
   * Where metrics go instead of OTLP, or `false` for none. Defaults to OTLP, or what
   * `OTEL_METRICS_EXPORTER` names (`otlp`, `console`, `none`).
   */
  metricExporter?: PushMetricExporter | false;
  /** How often metrics are exported. Defaults to `OTEL_METRIC_EXPORT_INTERVAL`, else 60000 ms. */
  metricExportIntervalMillis?: number;
  /** Sampler. Defaults to what `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` say, else parent-based always-on. */
  sampler?: Sampler;
  /**
   * Options of the `openai` instrumentation that `register` installs, or `false` to leave it out.
   * Defaults to `{}` (see {@link SwitchyardInstrumentationConfig} for each option's default).
   */
  instrumentation?: SwitchyardInstrumentationConfig | false;
  /** More instrumentations to register beside Switchyard's (http, express, …). */
  instrumentations?: Instrumentation[];
  /** Detect host, process and `OTEL_RESOURCE_ATTRIBUTES` resources. Defaults to `true`. */
  autoDetectResources?: boolean;
}

/** What {@link register} started. */
export interface Registration {
  /** Exports what is buffered now, without stopping. */
  forceFlush(): Promise<void>;
  /** Exports what is buffered and stops everything `register` started. Call it before exit. */
  shutdown(): Promise<void>;
}

/** Reads the environment; injectable so tests need not touch `process.env`. */
export type EnvReader = (name: string) => string | undefined;

const DEFAULT_PROTOCOL: OtlpProtocol = 'http/protobuf';
const DEFAULT_METRIC_INTERVAL_MS = 60_000;
const DEFAULT_METRIC_TIMEOUT_MS = 30_000;

let active: Registration | undefined;

/**
 * Starts the OpenTelemetry Node SDK in one call: OTLP/HTTP span export through a batch span
 * processor, OTLP/HTTP metric export on a periodic reader, W3C trace-context and baggage
 * propagation, {@link SwitchyardOpenAIInstrumentation} and any other instrumentations given. Standard `OTEL_*` variables are honoured; explicit
 * options win over them. Calling it again while started returns the running registration.
 *
 * Call it before the code that uses `openai` is loaded (CommonJS `require` is patched as it loads;
 * an ESM app also starts node with `--import @switchyard/instrumentation/hook`), and `shutdown()`
 * before the process exits so the last spans are sent.
 *
 * @example
 * import { register } from '@switchyard/instrumentation';
 * const telemetry = register({ serviceName: 'research-agent', endpoint: 'http://127.0.0.1:8080' });
 * process.on('SIGTERM', () => telemetry.shutdown().finally(() => process.exit(0)));
 */
export function register(
  options: RegisterOptions = {},
  env: EnvReader = readProcessEnv,
): Registration {
  if (active !== undefined) {
    diag.warn('@switchyard/instrumentation: register() called twice; keeping the first setup');
    return active;
  }
  if (env('OTEL_SDK_DISABLED')?.trim().toLowerCase() === 'true') {
    return { forceFlush: async () => {}, shutdown: async () => {} };
  }

  const spanProcessors: SpanProcessor[] = [];
  const traceExporter = resolveTraceExporter(options, env);
  if (traceExporter !== undefined) spanProcessors.push(new BatchSpanProcessor(traceExporter));

  const metricReaders: IMetricReader[] = [];
  const metricExporter = resolveMetricExporter(options, env);
  let metricReader: PeriodicExportingMetricReader | undefined;
  if (metricExporter !== undefined) {
    const interval = positiveMillis(
      options.metricExportIntervalMillis,
      'metricExportIntervalMillis',
      env('OTEL_METRIC_EXPORT_INTERVAL'),
      'OTEL_METRIC_EXPORT_INTERVAL',
      DEFAULT_METRIC_INTERVAL_MS,
    );
    const timeout = positiveMillis(
      undefined,
      '',
      env('OTEL_METRIC_EXPORT_TIMEOUT'),
      'OTEL_METRIC_EXPORT_TIMEOUT',
      DEFAULT_METRIC_TIMEOUT_MS,
    );
    metricReader = new PeriodicExportingMetricReader({
      exporter: metricExporter,
      exportIntervalMillis: interval,
      exportTimeoutMillis: Math.min(timeout, interval),
    });
    metricReaders.push(metricReader);
  }

  const resourceAttributes: Attributes = { ...options.resourceAttributes };
  if (options.serviceVersion !== undefined)
    resourceAttributes['service.version'] = options.serviceVersion;

  const instrumentations: Instrumentation[] = [];
  if (options.instrumentation !== false) {
    instrumentations.push(new SwitchyardOpenAIInstrumentation(options.instrumentation ?? {}));
  }
  instrumentations.push(...(options.instrumentations ?? []));
  const sdk = new NodeSDK({
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
    ...(Object.keys(resourceAttributes).length > 0
      ? { resource: resourceFromAttributes(resourceAttributes) }
      : {}),
    autoDetectResources: options.autoDetectResources ?? true,
    spanProcessors,
    // An empty list keeps NodeSDK from building its own readers from the environment.
    metricReaders,
    ...(options.sampler !== undefined ? { sampler: options.sampler } : {}),
    // Logs are not part of this setup unless the operator asked for them by environment.
    ...(env('OTEL_LOGS_EXPORTER') === undefined ? { logRecordProcessors: [] } : {}),
    instrumentations,
  });
  sdk.start();

  let stopped: Promise<void> | undefined;
  const registration: Registration = {
    async forceFlush() {
      await Promise.all([...spanProcessors.map((p) => p.forceFlush()), metricReader?.forceFlush()]);
    },
    shutdown() {
      stopped ??= sdk.shutdown().finally(() => {
        // Undo the global registrations too, so the process is as before register() and a later
        // register() (tests, reload) starts cleanly instead of hitting "duplicate registration".
        for (const instrumentation of instrumentations) instrumentation.disable();
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
        if (active === registration) active = undefined;
      });
      return stopped;
    },
  };
  active = registration;
  return registration;
}

function resolveTraceExporter(options: RegisterOptions, env: EnvReader): SpanExporter | undefined {
  if (options.traceExporter === false) return undefined;
  if (options.traceExporter !== undefined) return options.traceExporter;
  const kind = exporterKind(env, 'OTEL_TRACES_EXPORTER');
  if (kind === 'none') return undefined;
  if (kind === 'console') return new ConsoleSpanExporter();
  const protocol = resolveProtocol(options, env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  const config = exporterConfig(options, 'v1/traces');
  return protocol === 'http/json'
    ? new OTLPJsonTraceExporter(config)
    : new OTLPProtoTraceExporter(config);
}

function resolveMetricExporter(
  options: RegisterOptions,
  env: EnvReader,
): PushMetricExporter | undefined {
  if (options.metricExporter === false) return undefined;
  if (options.metricExporter !== undefined) return options.metricExporter;
  const kind = exporterKind(env, 'OTEL_METRICS_EXPORTER');
  if (kind === 'none') return undefined;
  if (kind === 'console') return new ConsoleMetricExporter();
  const protocol = resolveProtocol(options, env, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL');
  const config = exporterConfig(options, 'v1/metrics');
  return protocol === 'http/json'
    ? new OTLPJsonMetricExporter(config)
    : new OTLPProtoMetricExporter(config);
}

// Only what the caller set explicitly goes into the exporter config: everything else is left to
// the exporter, which reads the standard OTEL_EXPORTER_OTLP_* variables itself.
function exporterConfig(
  options: RegisterOptions,
  path: string,
): { url?: string; headers?: Record<string, string> } {
  const config: { url?: string; headers?: Record<string, string> } = {};
  if (options.endpoint !== undefined) config.url = joinUrl(options.endpoint, path);
  if (options.headers !== undefined) config.headers = { ...options.headers };
  return config;
}

function joinUrl(base: string, path: string): string {
  let url: URL | undefined;
  try {
    url = new URL(base);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `register: endpoint must be an absolute http(s) URL such as http://localhost:4318, got "${base}"`,
    );
  }
  const prefix = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = `${prefix}${path}`;
  return url.toString();
}

function exporterKind(env: EnvReader, name: string): 'otlp' | 'console' | 'none' {
  const raw = env(name)?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'otlp') return 'otlp';
  if (raw === 'console' || raw === 'none') return raw;
  throw new Error(
    `register: ${name}=${raw} is not supported; use otlp, console or none, ` +
      'or pass an exporter to register()',
  );
}

function resolveProtocol(
  options: RegisterOptions,
  env: EnvReader,
  signalVar: string,
): OtlpProtocol {
  if (options.protocol !== undefined) return checkProtocol(options.protocol, 'options.protocol');
  const signal = env(signalVar)?.trim();
  if (signal) return checkProtocol(signal, signalVar);
  const general = env('OTEL_EXPORTER_OTLP_PROTOCOL')?.trim();
  if (general) return checkProtocol(general, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  return DEFAULT_PROTOCOL;
}

function checkProtocol(value: string, setting: string): OtlpProtocol {
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new Error(
    `register: ${setting}=${value} is not supported; use http/protobuf or http/json ` +
      '(for gRPC, export to a Collector over HTTP)',
  );
}

function positiveMillis(
  option: number | undefined,
  optionName: string,
  envValue: string | undefined,
  envName: string,
  fallback: number,
): number {
  if (option !== undefined) {
    if (!Number.isFinite(option) || option <= 0) {
      throw new RangeError(`register: ${optionName} must be a positive number of milliseconds`);
    }
    return option;
  }
  if (envValue === undefined || envValue.trim() === '') return fallback;
  const n = Number(envValue);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(
      `register: ${envName}=${envValue} must be a positive number of milliseconds`,
    );
  }
  return n;
}

function readProcessEnv(name: string): string | undefined {
  return process.env[name];
}
