export type { FeedbackOptions } from './feedback.js';
export { recordFeedback } from './feedback.js';
export type { GenAiCallMeasurement, GenAiMetrics } from './metrics.js';
export { createGenAiMetrics } from './metrics.js';
export type {
  CostBreakdown,
  ModelPrice,
  PriceTable,
  PriceTableOptions,
  TokenUsage,
} from './pricing/index.js';
export { createPriceTable, defaultPriceTable } from './pricing/index.js';
export type { RegisterOptions, Registration } from './register.js';
export { register } from './register.js';
export {
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_TASK_TYPE,
} from './semconv.js';
