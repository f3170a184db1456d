import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { PriceTable } from './pricing/price-table.js';

/**
 * Options of {@link SwitchyardOpenAIInstrumentation} and {@link instrumentOpenAI}.
 * Every option has a default; the environment is read once, at construction.
 */
export interface SwitchyardInstrumentationConfig extends InstrumentationConfig {
  /**
   * Record prompts and answers as `gen_ai.input.messages` / `gen_ai.output.messages`.
   * Defaults to `process.env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'] === 'true'`,
   * else `false`: content can hold personal data, so it is never captured unless asked for.
   */
  captureMessageContent?: boolean;
  /**
   * Upper bound, in characters, of the text captured per call and direction when
   * `captureMessageContent` is on. Defaults to 16384.
   */
  maxContentLength?: number;
  /**
   * Add `stream_options: { include_usage: true }` to streamed chat and completion requests, so
   * streamed calls report tokens and cost. The extra usage chunk is hidden from callers that did
   * not ask for it themselves. Defaults to `false` (some OpenAI-compatible servers reject the option).
   */
  includeStreamUsage?: boolean;
  /** Prices used for `switchyard.cost.*`. Defaults to `defaultPriceTable`. */
  priceTable?: PriceTable;
  /**
   * Module names to patch when they are loaded. Defaults to `['openai']`; add npm aliases
   * (`"openai-v4": "npm:openai@4"`) here so they are patched as well.
   */
  moduleNames?: readonly string[];
}

/** Who is calling: the agent step that {@link withAgent} opens. */
export interface AgentOptions {
  /** Agent name, e.g. `research`. Low cardinality: it becomes a metric attribute. */
  name: string;
  /** Task type the agent works on, e.g. `summarize`; the learner keys its rules by it. */
  task?: string;
  /** Identifier of this agent instance (`gen_ai.agent.id`). */
  id?: string;
  /** Conversation or session the step belongs to (`gen_ai.conversation.id`). */
  conversationId?: string;
}
