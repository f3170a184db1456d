/**
 * The sidecar's validated, frozen configuration. `loadConfig` builds it once at start-up; every
 * other module reads it and never looks at `process.env` itself.
 */
import type { ModelPrice } from '@switchyard/instrumentation/pricing';
import type { CacheMode, Pin, Rule } from '../routing/rule.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** One OpenAI-compatible upstream. A request goes to the first provider that lists its model. */
export interface ProviderConfig {
  readonly name: string;
  /** Base URL including the version path, e.g. `https://api.openai.com/v1`. */
  readonly baseURL: string;
  /** Environment variable holding this provider's key; when set, client keys are not forwarded. */
  readonly apiKeyEnv?: string;
  /** The key read from `apiKeyEnv` at start-up. Never logged. */
  readonly apiKey?: string;
  /** Models served by this provider (also what `GET /v1/models` lists). */
  readonly models: readonly string[];
}

export interface UpstreamConfig {
  /** Time allowed for the upstream to send response headers (ms). */
  readonly timeoutMs: number;
  /** Time allowed to open a TCP/TLS connection (ms). */
  readonly connectTimeoutMs: number;
  /** Longest pause between two chunks of a streamed answer (ms). */
  readonly streamIdleTimeoutMs: number;
  /** Retries after the first attempt on 429, 5xx and connection errors. */
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error goes back to the client. */
  readonly maxRetryAfterMs: number;
  /** Sockets per upstream host in the keep-alive pool. */
  readonly maxSockets: number;
  /** Consecutive failures that open a model's circuit breaker. */
  readonly breakerFailureThreshold: number;
  /** How long an open breaker refuses calls before it lets one trial call through (ms). */
  readonly breakerCooldownMs: number;
}

export interface CacheConfig {
  readonly enabled: boolean;
  readonly memoryMaxBytes: number;
  readonly ttlMs: number;
  /** Policy when neither the request nor the rule says: `default` caches deterministic requests. */
  readonly mode: CacheMode;
}

/**
 * Options of the learner (issue 4). The fields here are the ones the proxy knows about; `raw`
 * is the whole `learning` object of the config file so the learner can read its own extra keys.
 */
export interface LearningConfig {
  readonly mode: 'per-task' | 'budget';
  /** Allowed quality loss, 0..1 (0.05 = 5%). */
  readonly tolerance: number;
  /** Candidate models per baseline, cheapest last or first as the learner documents. */
  readonly ladders: Readonly<Record<string, readonly string[]>>;
  /** Learn and report, but do not apply learned rules. */
  readonly dryRun: boolean;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface TelemetryConfig {
  /** True when an OTLP endpoint or `OTEL_TRACES_EXPORTER` is configured. */
  readonly tracesEnabled: boolean;
  readonly serviceName: string;
}

export interface SidecarConfig {
  readonly port: number;
  readonly host: string;
  /** Where requests go when no provider lists the model. */
  readonly upstreamUrl: string;
  readonly configFile: string | undefined;
  readonly providers: readonly ProviderConfig[];
  readonly prices: Readonly<Record<string, ModelPrice>>;
  readonly rules: readonly Rule[];
  readonly pins: readonly Pin[];
  readonly cache: CacheConfig;
  readonly maxBodyBytes: number;
  readonly upstream: UpstreamConfig;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly adminToken: string | undefined;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /** Where file-backed state (rule snapshots) lives when Redis is not used. */
  readonly stateDir: string;
  readonly learning: LearningConfig;
  readonly telemetry: TelemetryConfig;
}
