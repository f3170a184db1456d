/**
 * The sidecar as a pure request handler: `createApp(deps)` wires config, router, cache,
 * upstream client, telemetry and the optional handlers of other parts (trace intake, rules API,
 * dashboard) into one `RequestHandler`. It opens no socket and reads no environment; `main.ts`
 * does that.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import {
  createPriceTable,
  defaultPriceTable,
  type PriceTable,
} from '@switchyard/instrumentation/pricing';
import { InFlight } from './cache/in-flight.js';
import { MemoryTier } from './cache/memory-tier.js';
import { TieredCache } from './cache/tiered-cache.js';
import { isLoopback } from './config/load-config.js';
import type { SidecarConfig } from './config/sidecar-config.js';
import { sendError } from './errors/error-response.js';
import { AuthenticationError, NotFoundError, SwitchyardError } from './errors/switchyard-error.js';
import type { RequestHandler } from './http/request-handler.js';
import { sendJson } from './http/send-json.js';
import { createCompletionHandler } from './proxy/completion-handler.js';
import { createModelsHandler } from './proxy/models-handler.js';
import type { ProducedAnswer } from './proxy/produced-answer.js';
import type { ProxyDeps } from './proxy/proxy-deps.js';
import type { RoutedAnswerHook } from './proxy/routed-answer.js';
import { MemoryRuleStore } from './routing/memory-rule-store.js';
import { Router } from './routing/router.js';
import type { RuleStore } from './routing/rule.js';
import { createLogger, type Logger } from './telemetry/request-logger.js';
import { SidecarMetrics } from './telemetry/sidecar-metrics.js';
import type { CancelSignal } from './upstream/cancellation.js';
import { CircuitBreakers } from './upstream/circuit-breaker.js';
import { ProviderRegistry } from './upstream/provider-registry.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface AppDeps {
  readonly config: SidecarConfig;
  /** Learned rules and pins. Defaults to an empty `MemoryRuleStore`. */
  readonly ruleStore?: RuleStore;
  /**
   * The answer cache. Defaults to a memory-only `TieredCache` sized by `config.cache` when the
   * cache is enabled; `null` turns it off whatever the config says.
   */
  readonly cache?: TieredCache | null;
  /** The Redis connection, for `/readyz`. Absent when Redis is not configured. */
  readonly redis?: { isReady(): boolean };
  /** Uniform in [0, 1): which requests a partial rule takes. Defaults to `Math.random`. */
  readonly random?: () => number;
  /** Uniform in [0, 1): retry jitter. Defaults to `random`. */
  readonly retryRandom?: () => number;
  /** Waits between retries. Defaults to a timer. */
  readonly sleep?: (ms: number, signal?: CancelSignal) => Promise<void>;
  /** Epoch ms. Defaults to `Date.now`. */
  readonly now?: () => number;
  /** Monotonic ms for latencies and breaker cooldowns. Defaults to `performance.now`. */
  readonly clock?: () => number;
  /** The sidecar's tracer; absent means no spans at all. */
  readonly tracer?: Tracer;
  readonly metrics?: SidecarMetrics;
  /** Defaults to a logger at `config.logLevel` on stdout. */
  readonly logger?: Logger;
  /** Defaults to the built-in prices with `config.prices` as overrides. */
  readonly prices?: PriceTable;
  readonly newRequestId?: () => string;
  /** `POST /v1/traces` (span intake). 404 when absent. */
  readonly traceIntake?: RequestHandler;
  /** Every `/switchyard/*` path (rules API). Guarded by the admin token check here. */
  readonly admin?: RequestHandler;
  /** `GET /` (dashboard). 404 when absent. */
  readonly dashboard?: RequestHandler;
  /** Told about routed, non-streamed chat answers (shadow judging). Absent: no work at all. */
  readonly routedAnswer?: RoutedAnswerHook;
}

export interface SidecarApp {
  /** The `node:http` request listener. */
  readonly handle: RequestHandler;
  readonly metrics: SidecarMetrics;
  readonly router: Router;
  readonly ruleStore: RuleStore;
  readonly cache: TieredCache | undefined;
  readonly breakers: CircuitBreakers;
  readonly logger: Logger;
  /** Requests being answered now. */
  inFlight(): number;
  /** Marks the app as shutting down: `/readyz` says 503 and connections are not kept alive. */
  beginDrain(): void;
  /** Releases upstream sockets. Does not close injected dependencies. */
  close(): Promise<void>;
}

function methodNotAllowed(allow: string): SwitchyardError {
  return new SwitchyardError(405, 'invalid_request_error', `Method not allowed; use ${allow}.`, {
    code: 'method_not_allowed',
    headers: { allow },
  });
}

/**
 * Builds the sidecar's request handler.
 *
 * @example
 * const app = createApp({ config: loadConfig() });
 * http.createServer(app.handle).listen(config.port, config.host);
 */
export function createApp(deps: AppDeps): SidecarApp {
  const config = deps.config;
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const clock = deps.clock ?? (() => performance.now());
  const metrics = deps.metrics ?? new SidecarMetrics();
  const logger = deps.logger ?? createLogger(config.logLevel);
  const newRequestId = deps.newRequestId ?? randomUUID;
  const ruleStore = deps.ruleStore ?? new MemoryRuleStore({ now });
  const prices =
    deps.prices ??
    (Object.keys(config.prices).length > 0
      ? createPriceTable({ overrides: { ...config.prices } })
      : defaultPriceTable);
  const cache =
    deps.cache === null || !config.cache.enabled
      ? undefined
      : (deps.cache ??
        new TieredCache({
          memory: new MemoryTier({
            maxBytes: config.cache.memoryMaxBytes,
            ttlMs: config.cache.ttlMs,
          }),
          now,
        }));
  const router = new Router({
    staticRules: config.rules,
    pins: config.pins,
    store: ruleStore,
    random,
  });
  const providers = new ProviderRegistry({
    upstreamUrl: config.upstreamUrl,
    providers: config.providers,
    maxSockets: config.upstream.maxSockets,
  });
  const breakers = new CircuitBreakers({
    failureThreshold: config.upstream.breakerFailureThreshold,
    cooldownMs: config.upstream.breakerCooldownMs,
    now: clock,
  });
  const upstream = new UpstreamClient({
    config: config.upstream,
    breakers,
    random: deps.retryRandom ?? random,
    now,
    ...(deps.sleep !== undefined ? { sleep: deps.sleep } : {}),
    onFailure: (e) => metrics.upstreamErrors.inc([e.target.name, e.kind]),
  });
  const redis = deps.redis;
  if (redis !== undefined) metrics.redisUp.set([], redis.isReady() ? 1 : 0);

  const proxyDeps: ProxyDeps = {
    config,
    providers,
    upstream,
    router,
    cache,
    inFlight: new InFlight<ProducedAnswer>(),
    metrics,
    logger,
    tracer: deps.tracer,
    prices,
    now,
    clock,
    newRequestId,
    ...(deps.routedAnswer !== undefined ? { routedAnswer: deps.routedAnswer } : {}),
  };
  const chat = createCompletionHandler(proxyDeps, 'chat');
  const embeddings = createCompletionHandler(proxyDeps, 'embeddings');
  const models = createModelsHandler({ providers, upstream, newRequestId, now });
  const adminOpen = isLoopback(config.host) && config.adminToken === undefined;
  const expectedAuth =
    config.adminToken === undefined ? undefined : Buffer.from(`Bearer ${config.adminToken}`);
  let draining = false;
  let active = 0;

  function adminAllowed(req: IncomingMessage): boolean {
    if (adminOpen) return true;
    if (expectedAuth === undefined) return false; // beyond loopback without a token: closed
    const given = req.headers.authorization;
    if (typeof given !== 'string') return false;
    const g = Buffer.from(given);
    return g.length === expectedAuth.length && timingSafeEqual(g, expectedAuth);
  }

  function adminRequired(): AuthenticationError {
    return new AuthenticationError(
      'The rules API and dashboard need "Authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>".',
      { headers: { 'www-authenticate': 'Bearer' } },
    );
  }

  function readiness(res: ServerResponse): void {
    const redisState = redis === undefined ? 'not-configured' : redis.isReady() ? 'up' : 'down';
    if (redis !== undefined) metrics.redisUp.set([], redisState === 'up' ? 1 : 0);
    // A Redis outage degrades the sidecar to its memory tier but fails no request, so the
    // replica stays ready (a failing probe on every replica at once would take the whole
    // service out); the body and `switchyard_redis_up` say it is degraded. Only draining is 503.
    sendJson(res, draining ? 503 : 200, {
      status: draining ? 'draining' : redisState === 'down' ? 'degraded' : 'ready',
      redis: redisState,
    });
  }

  function route(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    switch (path) {
      // The completion handlers answer every error themselves and never reject, so their
      // promise needs no catch (one allocation less per request).
      case '/v1/chat/completions':
        if (method !== 'POST') throw methodNotAllowed('POST');
        void chat(req, res);
        return;
      case '/v1/embeddings':
        if (method !== 'POST') throw methodNotAllowed('POST');
        void embeddings(req, res);
        return;
      case '/v1/models':
        if (method !== 'GET') throw methodNotAllowed('GET');
        return models(req, res, undefined);
      case '/v1/traces':
        if (deps.traceIntake === undefined) break;
        return deps.traceIntake(req, res);
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz':
        readiness(res);
        return;
      case '/metrics':
        if (method !== 'GET') throw methodNotAllowed('GET');
        if (redis !== undefined) metrics.redisUp.set([], redis.isReady() ? 1 : 0);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(metrics.render());
        return;
      case '/':
        if (deps.dashboard === undefined) break;
        // The dashboard shows spend and rules: the same guard as the rules API.
        if (!adminAllowed(req)) throw adminRequired();
        return deps.dashboard(req, res);
      default:
        if (path.startsWith('/v1/models/') && path.length > 11) {
          if (method !== 'GET') throw methodNotAllowed('GET');
          let id: string;
          try {
            id = decodeURIComponent(path.slice(11));
          } catch {
            throw new NotFoundError('Malformed model id in the path.', { code: 'unknown_url' });
          }
          return models(req, res, id);
        }
        if (path === '/switchyard' || path.startsWith('/switchyard/')) {
          if (deps.admin === undefined) break;
          if (!adminAllowed(req)) throw adminRequired();
          return deps.admin(req, res);
        }
    }
    // Drain whatever body came with the unknown request so the connection stays usable.
    req.resume();
    throw new NotFoundError(`Unknown path: ${method} ${path.slice(0, 200)}`, {
      code: 'unknown_url',
    });
  }

  // One shared listener: nothing is allocated per request to count requests in flight.
  const onResponseClose = (): void => {
    active--;
  };
  const handle: RequestHandler = (req, res) => {
    active++;
    res.on('close', onResponseClose);
    if (draining) res.shouldKeepAlive = false;
    try {
      const out = route(req, res);
      if (out !== undefined) {
        return out.catch((error: unknown) => sendError(res, error));
      }
    } catch (error) {
      sendError(res, error);
    }
  };

  return {
    handle,
    metrics,
    router,
    ruleStore,
    cache,
    breakers,
    logger,
    inFlight: () => active,
    beginDrain() {
      draining = true;
    },
    async close() {
      upstream.close();
      providers.close();
    },
  };
}
