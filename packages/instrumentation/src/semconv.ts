/**
 * Every attribute, span and metric name Switchyard reads or writes, in one place.
 *
 * The OpenTelemetry GenAI conventions are still "development", so the names are pinned here
 * instead of imported from `@opentelemetry/semantic-conventions/incubating`: a rename upstream
 * must be a deliberate change in this file, never a surprise in a minor bump.
 * Source: https://opentelemetry.io/docs/specs/semconv/gen-ai/ (gen-ai-spans, gen-ai-metrics,
 * gen-ai-agent-spans), read 2026-11.
 *
 * The sidecar imports these constants; no other file retypes an attribute string.
 */

// --- GenAI conventions: operation and provider -------------------------------------------------
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_GEN_AI_OUTPUT_TYPE = 'gen_ai.output.type';

export const GEN_AI_OPERATION_CHAT = 'chat';
export const GEN_AI_OPERATION_TEXT_COMPLETION = 'text_completion';
export const GEN_AI_OPERATION_EMBEDDINGS = 'embeddings';
export const GEN_AI_OPERATION_INVOKE_AGENT = 'invoke_agent';
/** The Responses API has no operation of its own in the conventions; it is a chat. */
export const GEN_AI_OPERATION_RESPONSES = GEN_AI_OPERATION_CHAT;
export const GEN_AI_PROVIDER_OPENAI = 'openai';

// --- GenAI conventions: request -----------------------------------------------------------------
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const ATTR_GEN_AI_REQUEST_TOP_P = 'gen_ai.request.top_p';
export const ATTR_GEN_AI_REQUEST_SEED = 'gen_ai.request.seed';
export const ATTR_GEN_AI_REQUEST_STOP_SEQUENCES = 'gen_ai.request.stop_sequences';
export const ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY = 'gen_ai.request.frequency_penalty';
export const ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY = 'gen_ai.request.presence_penalty';
export const ATTR_GEN_AI_REQUEST_CHOICE_COUNT = 'gen_ai.request.choice.count';
export const ATTR_GEN_AI_REQUEST_ENCODING_FORMATS = 'gen_ai.request.encoding_formats';

// --- GenAI conventions: response and usage ------------------------------------------------------
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';

// --- GenAI conventions: agents ------------------------------------------------------------------
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const ATTR_GEN_AI_AGENT_ID = 'gen_ai.agent.id';

// --- GenAI conventions: opt-in content ----------------------------------------------------------
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';

// --- General conventions ------------------------------------------------------------------------
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';

// --- GenAI metrics ------------------------------------------------------------------------------
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const GEN_AI_TOKEN_TYPE_INPUT = 'input';
export const GEN_AI_TOKEN_TYPE_OUTPUT = 'output';
/** Bucket boundaries the conventions advise for `gen_ai.client.token.usage` (tokens). */
export const GEN_AI_TOKEN_USAGE_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** Bucket boundaries the conventions advise for `gen_ai.client.operation.duration` (seconds). */
export const GEN_AI_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

// --- Switchyard's own (no convention exists yet) ------------------------------------------------
export const ATTR_SWITCHYARD_TASK_TYPE = 'switchyard.task.type';
export const ATTR_SWITCHYARD_WORKFLOW_NAME = 'switchyard.workflow.name';
export const ATTR_SWITCHYARD_COST_USD = 'switchyard.cost.usd';
export const ATTR_SWITCHYARD_COST_INPUT_USD = 'switchyard.cost.input_usd';
export const ATTR_SWITCHYARD_COST_OUTPUT_USD = 'switchyard.cost.output_usd';
export const ATTR_SWITCHYARD_COST_CACHE_READ_USD = 'switchyard.cost.cache_read_usd';
export const ATTR_SWITCHYARD_COST_SAVED_USD = 'switchyard.cost.saved_usd';
export const ATTR_SWITCHYARD_PRICING_VERSION = 'switchyard.pricing.version';
export const ATTR_SWITCHYARD_ROUTE_REQUESTED_MODEL = 'switchyard.route.requested_model';
export const ATTR_SWITCHYARD_ROUTE_MODEL = 'switchyard.route.model';
export const ATTR_SWITCHYARD_ROUTE_RULE_ID = 'switchyard.route.rule_id';
export const ATTR_SWITCHYARD_ROUTE_REASON = 'switchyard.route.reason';
export const ATTR_SWITCHYARD_CACHE_STATUS = 'switchyard.cache.status';
export const ATTR_SWITCHYARD_FEEDBACK_SCORE = 'switchyard.feedback.score';
export const ATTR_SWITCHYARD_FEEDBACK_SOURCE = 'switchyard.feedback.source';
/** On a feedback span: the `gen_ai.response.id` of the call it judges, when joined by id. */
export const ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID = 'switchyard.feedback.response_id';
/** Time from sending a streamed request to its first chunk, in seconds. */
export const ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK = 'switchyard.stream.time_to_first_chunk';
export const METRIC_SWITCHYARD_CLIENT_COST = 'switchyard.client.cost';
export const SPAN_NAME_FEEDBACK = 'switchyard.feedback';

export const ROUTE_REASONS = ['rule', 'canary', 'pin', 'default', 'fallback'] as const;
export type RouteReason = (typeof ROUTE_REASONS)[number];
export const CACHE_STATUSES = ['hit-memory', 'hit-redis', 'miss', 'coalesced', 'bypass'] as const;
export type CacheStatus = (typeof CACHE_STATUSES)[number];

// --- Propagation: what crosses the wire from agent to sidecar -----------------------------------
export const BAGGAGE_SWITCHYARD_AGENT = 'switchyard.agent';
export const BAGGAGE_SWITCHYARD_TASK = 'switchyard.task';
export const HEADER_SWITCHYARD_AGENT = 'x-switchyard-agent';
export const HEADER_SWITCHYARD_TASK = 'x-switchyard-task';
export const HEADER_SWITCHYARD_MODEL = 'x-switchyard-model';
export const HEADER_SWITCHYARD_RULE = 'x-switchyard-rule';
export const HEADER_SWITCHYARD_CACHE = 'x-switchyard-cache';
export const HEADER_REQUEST_ID = 'x-request-id';
/** The route reason of the answer (rule, canary, pin, default, fallback). */
export const HEADER_SWITCHYARD_ROUTE_REASON = 'x-switchyard-route-reason';
/** Per-request cache policy a caller may send: `no-store` or `force`. */
export const HEADER_SWITCHYARD_CACHE_CONTROL = 'x-switchyard-cache';

// --- Instrumentation scopes: the learner counts a call once, from the agent's client span -------
export const SCOPE_INSTRUMENTATION = '@switchyard/instrumentation';
export const SCOPE_SIDECAR = '@switchyard/sidecar';

// --- Sidecar: tenant header and Prometheus metrics (GET /metrics) --------------------------------
/** Optional request header naming the cache tenant; defaults to a hash of `Authorization`. */
export const HEADER_SWITCHYARD_TENANT = 'x-switchyard-tenant';
export const PROM_SWITCHYARD_HTTP_REQUESTS = 'switchyard_http_requests_total';
export const PROM_SWITCHYARD_HTTP_DURATION = 'switchyard_http_request_duration_seconds';
export const PROM_SWITCHYARD_ROUTE_DECISIONS = 'switchyard_route_decisions_total';
export const PROM_SWITCHYARD_CACHE_LOOKUPS = 'switchyard_cache_lookups_total';
export const PROM_SWITCHYARD_UPSTREAM_ERRORS = 'switchyard_upstream_errors_total';
export const PROM_SWITCHYARD_COST_USD = 'switchyard_cost_usd_total';
export const PROM_SWITCHYARD_SAVED_USD = 'switchyard_saved_usd_total';
export const PROM_SWITCHYARD_REDIS_UP = 'switchyard_redis_up';
export const PROM_SWITCHYARD_INFLIGHT = 'switchyard_inflight_requests';
export const PROM_SWITCHYARD_REDIS_CACHE_OPERATIONS = 'switchyard_redis_cache_operations_total';
export const PROM_SWITCHYARD_INTAKE_REQUESTS = 'switchyard_intake_requests_total';
export const PROM_SWITCHYARD_INTAKE_SPANS = 'switchyard_intake_spans_total';
export const PROM_SWITCHYARD_INTAKE_BYTES = 'switchyard_intake_bytes_total';
export const PROM_SWITCHYARD_INTAKE_CALLS = 'switchyard_intake_calls_total';
export const PROM_SWITCHYARD_INTAKE_FEEDBACK = 'switchyard_intake_feedback_total';
export const PROM_SWITCHYARD_INTAKE_WAITING = 'switchyard_intake_waiting';
export const PROM_SWITCHYARD_SHADOW_JUDGE_OUTCOMES = 'switchyard_shadow_judge_outcomes_total';
export const PROM_SWITCHYARD_SHADOW_JUDGE_SPENT_USD = 'switchyard_shadow_judge_spent_usd_24h';
/** The sidecar's child span around a cache lookup (INTERNAL kind). */
export const SPAN_NAME_SIDECAR_CACHE_LOOKUP = 'switchyard.cache.lookup';
