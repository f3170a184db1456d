/**
 * `@switchyard/instrumentation/pricing`: model prices and cost arithmetic. Free of the
 * OpenTelemetry SDK (only `@opentelemetry/api`'s diag logger), so the sidecar can use it too.
 */
export type {
  CostBreakdown,
  ModelPrice,
  PriceTable,
  PriceTableOptions,
  TokenUsage,
} from './price-table.js';
export { computeCost, createPriceTable, defaultPriceTable } from './price-table.js';
export type { PriceSource } from './prices.js';
export { PRICE_SOURCES, PRICES, PRICES_VERSION } from './prices.js';
