/**
 * The sidecar's Prometheus metrics, served at `GET /metrics`. Names come from semconv.
 */
import {
  PROM_SWITCHYARD_CACHE_LOOKUPS,
  PROM_SWITCHYARD_COST_USD,
  PROM_SWITCHYARD_HTTP_DURATION,
  PROM_SWITCHYARD_HTTP_REQUESTS,
  PROM_SWITCHYARD_INFLIGHT,
  PROM_SWITCHYARD_REDIS_UP,
  PROM_SWITCHYARD_ROUTE_DECISIONS,
  PROM_SWITCHYARD_SAVED_USD,
  PROM_SWITCHYARD_UPSTREAM_ERRORS,
} from '@switchyard/instrumentation/semconv';
import { Counter, Histogram, PrometheusRegistry } from './prometheus-registry.js';

// Seconds; fine at the low end where the proxy's own overhead lives, coarse where LLMs live.
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/**
 * Every metric the sidecar records.
 *
 * @example
 * metrics.requests.inc(['/v1/chat/completions', '200']);
 * res.end(metrics.render());
 */
export class SidecarMetrics {
  readonly registry = new PrometheusRegistry();
  /** Labels: route, status. */
  readonly requests = this.registry.register(
    new Counter(PROM_SWITCHYARD_HTTP_REQUESTS, 'HTTP requests answered, by route and status.', [
      'route',
      'status',
    ]),
  );
  /** Labels: route. */
  readonly duration = this.registry.register(
    new Histogram(
      PROM_SWITCHYARD_HTTP_DURATION,
      'Time to answer a request (to the last byte), seconds.',
      ['route'],
      DURATION_BUCKETS,
    ),
  );
  /** Labels: reason (rule, canary, pin, default, fallback). */
  readonly routeDecisions = this.registry.register(
    new Counter(PROM_SWITCHYARD_ROUTE_DECISIONS, 'Routing decisions, by reason.', ['reason']),
  );
  /** Labels: status (hit-memory, hit-redis, miss, coalesced, bypass). */
  readonly cacheLookups = this.registry.register(
    new Counter(PROM_SWITCHYARD_CACHE_LOOKUPS, 'Cache outcomes, by tier.', ['status']),
  );
  /** Labels: provider, kind (connect, timeout, reset, status, circuit_open). */
  readonly upstreamErrors = this.registry.register(
    new Counter(
      PROM_SWITCHYARD_UPSTREAM_ERRORS,
      'Failed upstream attempts, by provider and kind.',
      ['provider', 'kind'],
    ),
  );
  /** Labels: model (served). */
  readonly costUsd = this.registry.register(
    new Counter(
      PROM_SWITCHYARD_COST_USD,
      'Cost of answered requests in USD at list prices, by served model.',
      ['model'],
    ),
  );
  /** Labels: reason (rule, canary, cache, ...). */
  readonly savedUsd = this.registry.register(
    new Counter(
      PROM_SWITCHYARD_SAVED_USD,
      'USD saved against serving the requested model uncached, by reason.',
      ['reason'],
    ),
  );
  readonly redisUp = this.registry.register(
    new Counter(
      PROM_SWITCHYARD_REDIS_UP,
      '1 when Redis is configured and reachable, else 0.',
      [],
      'gauge',
    ),
  );
  readonly inflight = this.registry.register(
    new Counter(PROM_SWITCHYARD_INFLIGHT, 'Requests being answered right now.', [], 'gauge'),
  );

  render(): string {
    return this.registry.render();
  }
}
