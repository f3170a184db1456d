import type { Tracer } from '@opentelemetry/api';
import type { PriceTable } from '@switchyard/instrumentation/pricing';
import type { CachedResponse } from '../cache/cached-response.js';
import type { InFlight } from '../cache/in-flight.js';
import type { TieredCache } from '../cache/tiered-cache.js';
import type { SidecarConfig } from '../config/sidecar-config.js';
import type { Router } from '../routing/router.js';
import type { Logger } from '../telemetry/request-logger.js';
import type { SidecarMetrics } from '../telemetry/sidecar-metrics.js';
import type { ProviderRegistry } from '../upstream/provider-registry.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { ProducedAnswer } from './produced-answer.js';
import type { RoutedAnswerHook } from './routed-answer.js';

/** Everything the proxy handlers need, built once by `createApp`. */
export interface ProxyDeps {
  readonly config: SidecarConfig;
  readonly providers: ProviderRegistry;
  readonly upstream: UpstreamClient;
  readonly router: Router;
  /** Absent when the cache is off. */
  readonly cache: TieredCache | undefined;
  readonly inFlight: InFlight<ProducedAnswer>;
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  /** Absent when tracing is off: every span call is skipped. */
  readonly tracer: Tracer | undefined;
  readonly prices: PriceTable;
  /** Epoch ms (cache `storedAt`). */
  readonly now: () => number;
  /** Monotonic ms (latencies). */
  readonly clock: () => number;
  readonly newRequestId: () => string;
  /** Shadow judging's hook on routed, non-streamed chat answers; absent costs one check. */
  readonly routedAnswer?: RoutedAnswerHook;
}

export type { CachedResponse };
