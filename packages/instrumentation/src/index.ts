export { withAgent, withTask, withWorkflow } from './agent-context.js';
export type { FeedbackOptions } from './feedback.js';
export { recordFeedback } from './feedback.js';
export type { InstrumentOpenAIOptions } from './instrument-openai.js';
export { instrumentOpenAI, uninstrumentOpenAI } from './instrument-openai.js';
export type { GenAiCallMeasurement, GenAiMetrics } from './metrics.js';
export { createGenAiMetrics } from './metrics.js';
export { SwitchyardOpenAIInstrumentation } from './openai-instrumentation.js';
export type {
  CostBreakdown,
  ModelPrice,
  PriceTable,
  PriceTableOptions,
  TokenUsage,
} from './pricing/index.js';
export { createPriceTable, defaultPriceTable } from './pricing/index.js';
export type { EnvReader, OtlpProtocol, RegisterOptions, Registration } from './register.js';
export { register } from './register.js';
export {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_TASK_TYPE,
  ATTR_SWITCHYARD_WORKFLOW_NAME,
  SCOPE_INSTRUMENTATION,
} from './semconv.js';
export type { AgentOptions, SwitchyardInstrumentationConfig } from './types.js';
