/**
 * The sidecar's Prometheus metrics, served at `GET /metrics`. Names come from semconv.
 */
import {
  PROM_SWITCHYARD_CACHE_LOOKUPS,
  PROM_SWITCHYARD_COST_USD,
  PROM_SWITCHYARD_HTTP_DURATION,
  PROM_SWITCHYARD_HTTP_REQUESTS,
  PROM_SWITCHYARD_INFLIGHT,
  PROM_SWITCHYARD_INTAKE_BYTES,
  PROM_SWITCHYARD_INTAKE_CALLS,
  PROM_SWITCHYARD_INTAKE_FEEDBACK,
  PROM_SWITCHYARD_INTAKE_REQUESTS,
  PROM_SWITCHYARD_INTAKE_SPANS,
  PROM_SWITCHYARD_INTAKE_WAITING,
  PROM_SWITCHYARD_REDIS_CACHE_OPERATIONS,
  PROM_SWITCHYARD_REDIS_UP,
  PROM_SWITCHYARD_ROUTE_DECISIONS,
  PROM_SWITCHYARD_SAVED_USD,
  PROM_SWITCHYARD_SHADOW_JUDGE_OUTCOMES,
  PROM_SWITCHYARD_SHADOW_JUDGE_SPENT_USD,
  PROM_SWITCHYARD_UPSTREAM_ERRORS,
} from '@switchyard/instrumentation/semconv';
import type { RedisTierStats } from '../cache/redis-tier.js';
import type { TraceIntakeStats } from '../intake/trace-intake.js';
import type { ShadowJudging } from '../learning/shadow-judging.js';
import { CollectedMetric, Counter, Histogram, PrometheusRegistry } from './prometheus-registry.js';

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

  /**
   * Exports the Redis cache tier's own counts, read at each scrape: `outcome` is hit, miss,
   * error, timeout, corrupt (present but undecodable, served as a miss), skipped (connection not
   * ready) or write. Errors and timeouts here are what a Redis outage looks like to the proxy,
   * which keeps answering from memory meanwhile.
   */
  watchRedisTier(stats: Readonly<RedisTierStats>): void {
    this.registry.register(
      new CollectedMetric(
        PROM_SWITCHYARD_REDIS_CACHE_OPERATIONS,
        'Redis cache tier commands, by outcome.',
        ['outcome'],
        'counter',
        () => [
          [['hit'], stats.hits],
          [['miss'], stats.misses],
          [['error'], stats.errors],
          [['timeout'], stats.timeouts],
          [['corrupt'], stats.corrupt],
          [['skipped'], stats.skipped],
          [['write'], stats.writes],
        ],
      ),
    );
  }

  /** Exports the span intake's counts (`POST /v1/traces`), read at each scrape. */
  watchTraceIntake(stats: () => TraceIntakeStats): void {
    const r = this.registry;
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_REQUESTS,
        'OTLP export requests to /v1/traces, by answer status.',
        ['status'],
        'counter',
        () => Object.entries(stats().responses).map(([status, n]) => [[status], n] as const),
      ),
    );
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_SPANS,
        'Spans in accepted OTLP batches, by outcome (accepted, rejected as partial success).',
        ['outcome'],
        'counter',
        () => {
          const s = stats();
          return [
            [['accepted'], s.spans - s.rejectedSpans],
            [['rejected'], s.rejectedSpans],
          ];
        },
      ),
    );
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_BYTES,
        'Body bytes of accepted OTLP batches, before inflating.',
        [],
        'counter',
        () => [[[], stats().bytes]],
      ),
    );
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_CALLS,
        'Model calls found in spans: recorded for learning, or duplicates of a retried batch.',
        ['outcome'],
        'counter',
        () => {
          const s = stats();
          return [
            [['recorded'], s.calls],
            [['duplicate'], s.duplicateCalls],
            [['sink_error'], s.sinkErrors],
          ];
        },
      ),
    );
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_FEEDBACK,
        'Feedback spans: joined to their call (a verdict), duplicates, or never joined.',
        ['outcome'],
        'counter',
        () => {
          const s = stats();
          return [
            [['joined'], s.verdicts],
            [['duplicate'], s.duplicateFeedback],
            [['unjoined'], s.unjoinedFeedback],
          ];
        },
      ),
    );
    r.register(
      new CollectedMetric(
        PROM_SWITCHYARD_INTAKE_WAITING,
        'What the intake holds now: calls remembered for joining, feedback waiting for its call, requests in flight.',
        ['kind'],
        'gauge',
        () => {
          const s = stats();
          return [
            [['remembered_calls'], s.rememberedCalls],
            [['pending_feedback'], s.pendingFeedback],
            [['inflight_requests'], s.inFlight],
          ];
        },
      ),
    );
  }

  /** Exports shadow-judging outcomes (judged, skipped-budget, …) and its spend, read at each scrape. */
  watchShadowJudging(judging: Pick<ShadowJudging, 'outcomes' | 'spentUsd'>): void {
    this.registry.register(
      new CollectedMetric(
        PROM_SWITCHYARD_SHADOW_JUDGE_OUTCOMES,
        'Routed answers offered to shadow judging, by outcome.',
        ['outcome'],
        'counter',
        () => Object.entries(judging.outcomes()).map(([outcome, n]) => [[outcome], n] as const),
      ),
    );
    this.registry.register(
      new CollectedMetric(
        PROM_SWITCHYARD_SHADOW_JUDGE_SPENT_USD,
        'USD spent on shadow judging (baseline answers and judge calls) in the last 24 hours, the window of its daily cap.',
        [],
        'gauge',
        () => [[[], judging.spentUsd()]],
      ),
    );
  }

  render(): string {
    return this.registry.render();
  }
}
