/**
 * The one module with side effects: it reads the configuration, connects Redis, builds the app,
 * listens, and shuts down gracefully. Importing it does nothing; `startSidecar()` does it all,
 * for the CLI (`switchyard start`), for end-to-end tests and for embedding.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import { createApp, type SidecarApp } from './app.js';
import { MemoryTier } from './cache/memory-tier.js';
import { RedisTier } from './cache/redis-tier.js';
import { TieredCache } from './cache/tiered-cache.js';
import { loadConfig } from './config/load-config.js';
import type { SidecarConfig } from './config/sidecar-config.js';
import type { RequestHandler } from './http/request-handler.js';
import type { RoutedAnswerHook } from './proxy/routed-answer.js';
import {
  createRedisConnection,
  type RedisConnection,
  redactRedisUrl,
} from './redis/redis-connection.js';
import { MemoryRuleStore } from './routing/memory-rule-store.js';
import type { RuleStore } from './routing/rule.js';
import { createLogger, type Logger } from './telemetry/request-logger.js';
import { SidecarMetrics } from './telemetry/sidecar-metrics.js';
import { createSidecarTracing, type SidecarTracing } from './telemetry/sidecar-tracing.js';
import type { CancelSignal } from './upstream/cancellation.js';

/** What a plugin (learner, span intake, rules API, dashboard) is given to build itself. */
export interface SidecarPluginContext {
  readonly config: SidecarConfig;
  readonly logger: Logger;
  readonly metrics: SidecarMetrics;
  /** The shared Redis connection when `REDIS_URL` is set. */
  readonly redis: RedisConnection | undefined;
  /** Epoch ms. */
  readonly now: () => number;
}

/** Handlers a plugin contributes. */
export interface SidecarPluginHandlers {
  readonly traceIntake?: RequestHandler;
  readonly admin?: RequestHandler;
  readonly dashboard?: RequestHandler;
  /** Told about routed, non-streamed chat answers (shadow judging). */
  readonly routedAnswer?: RoutedAnswerHook;
  /** Called on shutdown, after in-flight requests finished, before Redis closes. */
  close?(): Promise<void>;
}

/**
 * A part of the sidecar built outside the proxy core. `createRuleStore` of the first plugin that
 * has one replaces the default in-memory store; `createHandlers` runs once the store exists.
 */
export interface SidecarPlugin {
  readonly name: string;
  createRuleStore?(ctx: SidecarPluginContext): RuleStore | Promise<RuleStore>;
  createHandlers?(
    ctx: SidecarPluginContext & { readonly ruleStore: RuleStore },
  ): SidecarPluginHandlers | Promise<SidecarPluginHandlers>;
}

export interface StartSidecarOptions {
  /** A ready config; otherwise it is loaded from `argv` and `env`. */
  readonly config?: SidecarConfig;
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly plugins?: readonly SidecarPlugin[];
  /** Replaces the default rule store (and any plugin's). */
  readonly ruleStore?: RuleStore;
  /** Overrides the tracer built from `OTEL_*` (tests pass one with an in-memory exporter). */
  readonly tracer?: Tracer;
  readonly random?: () => number;
  readonly retryRandom?: () => number;
  readonly sleep?: (ms: number, signal?: CancelSignal) => Promise<void>;
  readonly now?: () => number;
  readonly clock?: () => number;
}

export interface RunningSidecar {
  readonly config: SidecarConfig;
  readonly app: SidecarApp;
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** What an OpenAI client takes as `baseURL`: `http://host:port/v1`. */
  readonly baseURL: string;
  readonly redis: RedisConnection | undefined;
  readonly ruleStore: RuleStore;
  /**
   * Graceful shutdown: stop accepting, let in-flight requests and streams finish (up to
   * `config.shutdownTimeoutMs`), then close everything. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts the sidecar and resolves once it listens.
 *
 * @example
 * const sidecar = await startSidecar({ argv: ['--port', '0'], env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'silent' } });
 * const client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-...' });
 * await sidecar.close();
 */
export async function startSidecar(options: StartSidecarOptions = {}): Promise<RunningSidecar> {
  const env = options.env ?? process.env;
  const config = options.config ?? loadConfig({ argv: options.argv ?? [], env });
  const logger = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  const metrics = new SidecarMetrics();

  let redis: RedisConnection | undefined;
  let lastRedisError = '';
  if (config.redisUrl !== undefined) {
    const shown = redactRedisUrl(config.redisUrl);
    metrics.redisUp.set([], 0);
    redis = createRedisConnection(config.redisUrl, {
      onStateChange: (up) => {
        metrics.redisUp.set([], up ? 1 : 0);
        logger.log(
          up ? 'info' : 'warn',
          up ? 'redis ready' : 'redis unavailable; serving from memory',
          { redis: shown },
        );
        if (up) lastRedisError = '';
      },
      onError: (error) => {
        // ioredis reports every reconnect attempt; log each distinct message once per outage.
        if (error.message === lastRedisError) return;
        lastRedisError = error.message;
        logger.log('warn', 'redis error', { redis: shown, error: error.message });
      },
    });
  }

  const ctx: SidecarPluginContext = { config, logger, metrics, redis, now };
  const plugins = options.plugins ?? [];
  const cleanups: Array<() => Promise<void>> = [];
  let tracing: SidecarTracing | undefined;
  let server: Server | undefined;
  try {
    let ruleStore = options.ruleStore;
    for (const p of plugins) {
      if (ruleStore !== undefined) break;
      if (p.createRuleStore !== undefined) ruleStore = await p.createRuleStore(ctx);
    }
    ruleStore ??= new MemoryRuleStore({ now });
    const store = ruleStore;
    cleanups.push(() => store.close());

    const handlers: {
      traceIntake?: RequestHandler;
      admin?: RequestHandler;
      dashboard?: RequestHandler;
      routedAnswer?: RoutedAnswerHook;
    } = {};
    for (const p of plugins) {
      if (p.createHandlers === undefined) continue;
      const h = await p.createHandlers({ ...ctx, ruleStore: store });
      if (h.traceIntake !== undefined) handlers.traceIntake = h.traceIntake;
      if (h.admin !== undefined) handlers.admin = h.admin;
      if (h.dashboard !== undefined) handlers.dashboard = h.dashboard;
      if (h.routedAnswer !== undefined) handlers.routedAnswer = h.routedAnswer;
      if (h.close !== undefined) cleanups.unshift(() => (h.close as () => Promise<void>)());
    }

    let cache: TieredCache | null = null;
    if (config.cache.enabled) {
      const redisTier =
        redis === undefined
          ? undefined
          : new RedisTier({
              connection: redis,
              prefix: `${config.redisKeyPrefix}cache:`,
              ttlMs: config.cache.ttlMs,
              now,
            });
      if (redisTier !== undefined) metrics.watchRedisTier(redisTier.stats);
      cache = new TieredCache({
        memory: new MemoryTier({
          maxBytes: config.cache.memoryMaxBytes,
          ttlMs: config.cache.ttlMs,
        }),
        ...(redisTier !== undefined ? { redis: redisTier } : {}),
        now,
      });
    }

    let tracer = options.tracer;
    if (tracer === undefined) {
      tracing = createSidecarTracing(config.telemetry, env);
      tracer = tracing?.tracer;
    }

    const app = createApp({
      config,
      ruleStore: store,
      cache,
      ...(redis !== undefined ? { redis } : {}),
      metrics,
      logger,
      now,
      ...(tracer !== undefined ? { tracer } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
      ...(options.retryRandom !== undefined ? { retryRandom: options.retryRandom } : {}),
      ...(options.sleep !== undefined ? { sleep: options.sleep } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...handlers,
    });

    const srv = createServer({ keepAliveTimeout: 5_000 }, app.handle);
    server = srv;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(
          new Error(
            error.code === 'EADDRINUSE'
              ? `Port ${config.port} on ${config.host} is already in use; pick another with --port or SWITCHYARD_PORT.`
              : `Cannot listen on ${config.host}:${config.port}: ${error.message}`,
          ),
        );
      };
      srv.once('error', onError);
      srv.listen(config.port, config.host, () => {
        srv.off('error', onError);
        resolve();
      });
    });
    const address = srv.address() as AddressInfo;
    const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${hostForUrl}:${address.port}`;
    logger.log('info', 'switchyard sidecar listening', {
      url,
      upstream: config.upstreamUrl,
      cache: config.cache.enabled,
      redis: redis !== undefined,
      traces: tracer !== undefined,
    });

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        app.beginDrain();
        srv.close();
        srv.closeIdleConnections();
        const deadline = Date.now() + config.shutdownTimeoutMs;
        while (app.inFlight() > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        srv.closeAllConnections();
        for (const c of cleanups) {
          try {
            await c();
          } catch (error) {
            logger.log('warn', 'error during shutdown', {
              error: error instanceof Error ? error.name : 'unknown',
            });
          }
        }
        await redis?.close();
        await tracing?.shutdown().catch(() => undefined);
        await app.close();
        logger.log('info', 'switchyard sidecar stopped');
        logger.flush?.();
      })();
      return closing;
    };

    return {
      config,
      app,
      server: srv,
      host: address.address,
      port: address.port,
      url,
      baseURL: `${url}/v1`,
      redis,
      ruleStore: store,
      close,
    };
  } catch (error) {
    server?.close();
    for (const c of cleanups) await c().catch(() => undefined);
    await redis?.close();
    await tracing?.shutdown().catch(() => undefined);
    throw error;
  }
}
