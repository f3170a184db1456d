export type { AppDeps, SidecarApp } from './app.js';
export { createApp } from './app.js';
export { ConfigError } from './config/config-error.js';
export { startHelpText } from './config/help-text.js';
export type { LoadConfigOptions } from './config/load-config.js';
export { isLoopback, loadConfig } from './config/load-config.js';
export type { OptionSpec } from './config/option-table.js';
export { OPTION_SPECS } from './config/option-table.js';
export type {
  CacheConfig,
  LearningConfig,
  LogLevel,
  ProviderConfig,
  SidecarConfig,
  TelemetryConfig,
  UpstreamConfig,
} from './config/sidecar-config.js';
export type { OpenAiErrorBody } from './errors/error-response.js';
export { errorBody, sendError, toSwitchyardError } from './errors/error-response.js';
export type { SwitchyardErrorOptions } from './errors/switchyard-error.js';
export {
  AuthenticationError,
  BadRequestError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  SwitchyardError,
  UnavailableError,
  UpstreamError,
} from './errors/switchyard-error.js';
export { readBody } from './http/read-body.js';
export type { RequestHandler } from './http/request-handler.js';
export { sendJson } from './http/send-json.js';
export type { LearningPluginOptions } from './learning/learning-plugin.js';
export { createLearningPlugin } from './learning/learning-plugin.js';
export type { LearningSink, LlmCallRecord, QualityVerdict } from './learning/llm-call.js';
export type {
  RunningSidecar,
  SidecarPlugin,
  SidecarPluginContext,
  SidecarPluginHandlers,
  StartSidecarOptions,
} from './main.js';
export { startSidecar } from './main.js';
export type { MemoryRuleStoreOptions } from './routing/memory-rule-store.js';
export { MemoryRuleStore } from './routing/memory-rule-store.js';
export type { RouteDecision, RouteInput, RouterOptions } from './routing/router.js';
export { Router } from './routing/router.js';
export type {
  Pin,
  Rule,
  RuleChange,
  RuleEvidence,
  RuleMatch,
  RuleSnapshot,
  RuleStore,
} from './routing/rule.js';
export type { Logger, RequestLogFields } from './telemetry/request-logger.js';
export { createLogger } from './telemetry/request-logger.js';
export { SidecarMetrics } from './telemetry/sidecar-metrics.js';
