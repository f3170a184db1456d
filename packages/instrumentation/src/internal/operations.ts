import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
  ATTR_GEN_AI_REQUEST_ENCODING_FORMATS,
  ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_P,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_OPERATION_RESPONSES,
  GEN_AI_OPERATION_TEXT_COMPLETION,
} from '../semconv.js';
import {
  type CapturedMessage,
  chatInputMessages,
  chatOutputMessages,
  promptInputMessages,
  responsesInputMessages,
  responsesOutputMessages,
  type TextBudget,
} from './content-capture.js';

type Obj = Record<string, unknown>;

/** What a call's answer said, filled from the whole body or chunk by chunk. */
export interface CallOutcome {
  responseId?: string;
  responseModel?: string;
  /** By choice index; holes are choices that have not finished (yet). */
  finishReasons?: string[];
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
  /** A failure the answer reported in-band (a Responses `response.failed` or `error` event). */
  failure?: { type: string; message: string };
  /** Streamed text by choice index, kept only while content capture is on. */
  streamText?: string[];
  /** The final Responses object of a stream, kept only while content capture is on. */
  finalResponse?: unknown;
}

/** How one covered method reads its request and its answer. */
export interface OperationSpec {
  readonly operation: string;
  /** Whether `stream_options.include_usage` applies to this endpoint. */
  readonly acceptsStreamUsage: boolean;
  requestAttributes(body: Obj, attributes: Attributes): void;
  readResult(result: unknown, out: CallOutcome): void;
  /** Reads one stream chunk; true when it is a usage-only chunk (no choices). */
  readChunk(chunk: unknown, out: CallOutcome, captureText: boolean): boolean;
  inputMessages(body: Obj, budget: TextBudget): CapturedMessage[];
  outputMessages(result: unknown, budget: TextBudget): CapturedMessage[];
  streamOutputMessages(out: CallOutcome, budget: TextBudget): CapturedMessage[];
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function setNum(attributes: Attributes, key: string, value: unknown): void {
  if (typeof value === 'number' && Number.isFinite(value)) attributes[key] = value;
}

function samplingAttributes(body: Obj, attributes: Attributes): void {
  setNum(attributes, ATTR_GEN_AI_REQUEST_TEMPERATURE, body.temperature);
  setNum(attributes, ATTR_GEN_AI_REQUEST_TOP_P, body.top_p);
}

function completionStyleAttributes(body: Obj, attributes: Attributes): void {
  setNum(attributes, ATTR_GEN_AI_REQUEST_MAX_TOKENS, body.max_completion_tokens ?? body.max_tokens);
  samplingAttributes(body, attributes);
  setNum(attributes, ATTR_GEN_AI_REQUEST_SEED, body.seed);
  setNum(attributes, ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY, body.frequency_penalty);
  setNum(attributes, ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY, body.presence_penalty);
  const stop = body.stop;
  if (typeof stop === 'string') attributes[ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = [stop];
  else if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) {
    attributes[ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = stop as string[];
  }
  const n = num(body.n);
  if (n !== undefined && n !== 1) attributes[ATTR_GEN_AI_REQUEST_CHOICE_COUNT] = n;
}

/** Usage in the Chat Completions / Completions / Embeddings shape. */
function readPromptCompletionUsage(usage: unknown, out: CallOutcome): void {
  if (!isObj(usage)) return;
  const input = num(usage.prompt_tokens);
  if (input !== undefined) out.inputTokens = input;
  const output = num(usage.completion_tokens);
  if (output !== undefined) out.outputTokens = output;
  if (isObj(usage.prompt_tokens_details)) {
    const cached = num(usage.prompt_tokens_details.cached_tokens);
    if (cached !== undefined) out.cachedInputTokens = cached;
  }
  if (isObj(usage.completion_tokens_details)) {
    const reasoning = num(usage.completion_tokens_details.reasoning_tokens);
    if (reasoning !== undefined) out.reasoningTokens = reasoning;
  }
}

function readIdAndModel(body: Obj, out: CallOutcome): void {
  if (typeof body.id === 'string') out.responseId = body.id;
  if (typeof body.model === 'string') out.responseModel = body.model;
}

function readChoices(choices: unknown, out: CallOutcome): void {
  if (!Array.isArray(choices)) return;
  for (let i = 0; i < choices.length; i++) {
    const choice: unknown = choices[i];
    if (!isObj(choice) || typeof choice.finish_reason !== 'string') continue;
    const index = num(choice.index) ?? i;
    if (out.finishReasons === undefined) out.finishReasons = [];
    out.finishReasons[index] = choice.finish_reason;
  }
}

function readStreamedChoices(choices: unknown[], out: CallOutcome, captureText: boolean): void {
  for (let i = 0; i < choices.length; i++) {
    const choice: unknown = choices[i];
    if (!isObj(choice)) continue;
    const index = num(choice.index) ?? i;
    if (typeof choice.finish_reason === 'string') {
      if (out.finishReasons === undefined) out.finishReasons = [];
      out.finishReasons[index] = choice.finish_reason;
    }
    if (captureText) {
      const text = isObj(choice.delta) ? choice.delta.content : choice.text;
      if (typeof text === 'string') {
        if (out.streamText === undefined) out.streamText = [];
        out.streamText[index] = (out.streamText[index] ?? '') + text;
      }
    }
  }
}

function readCompletionChunk(chunk: unknown, out: CallOutcome, captureText: boolean): boolean {
  if (!isObj(chunk)) return false;
  readIdAndModel(chunk, out);
  if (chunk.usage !== undefined && chunk.usage !== null)
    readPromptCompletionUsage(chunk.usage, out);
  const choices = chunk.choices;
  if (Array.isArray(choices) && choices.length > 0) {
    readStreamedChoices(choices, out, captureText);
    return false;
  }
  return isObj(chunk.usage);
}

function streamedChoices(out: CallOutcome, budget: TextBudget): CapturedMessage[] {
  const text = out.streamText ?? [];
  const count = Math.max(text.length, out.finishReasons?.length ?? 0);
  const messages: CapturedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const message: CapturedMessage = {
      role: 'assistant',
      parts: [{ type: 'text', content: budget.take(text[i] ?? '') }],
    };
    const reason = out.finishReasons?.[i];
    if (reason !== undefined) message.finish_reason = reason;
    messages.push(message);
  }
  return messages;
}

const NO_MESSAGES: CapturedMessage[] = [];

/** `chat.completions.create`. */
export const CHAT_COMPLETIONS: OperationSpec = {
  operation: GEN_AI_OPERATION_CHAT,
  acceptsStreamUsage: true,
  requestAttributes: completionStyleAttributes,
  readResult(result, out) {
    if (!isObj(result)) return;
    readIdAndModel(result, out);
    readChoices(result.choices, out);
    readPromptCompletionUsage(result.usage, out);
  },
  readChunk: readCompletionChunk,
  inputMessages: (body, budget) => chatInputMessages(body.messages, budget),
  outputMessages: (result, budget) =>
    isObj(result) ? chatOutputMessages(result.choices, budget) : NO_MESSAGES,
  streamOutputMessages: streamedChoices,
};

/** Legacy `completions.create`. */
export const TEXT_COMPLETIONS: OperationSpec = {
  ...CHAT_COMPLETIONS,
  operation: GEN_AI_OPERATION_TEXT_COMPLETION,
  inputMessages: (body, budget) => promptInputMessages(body.prompt, budget),
};

/** `embeddings.create`. */
export const EMBEDDINGS: OperationSpec = {
  operation: GEN_AI_OPERATION_EMBEDDINGS,
  acceptsStreamUsage: false,
  requestAttributes(body, attributes) {
    if (typeof body.encoding_format === 'string') {
      attributes[ATTR_GEN_AI_REQUEST_ENCODING_FORMATS] = [body.encoding_format];
    }
  },
  readResult(result, out) {
    if (!isObj(result)) return;
    if (typeof result.model === 'string') out.responseModel = result.model;
    readPromptCompletionUsage(result.usage, out);
  },
  readChunk: () => false,
  inputMessages: () => NO_MESSAGES,
  outputMessages: () => NO_MESSAGES,
  streamOutputMessages: () => NO_MESSAGES,
};

// The Responses API reports a status instead of per-choice finish reasons; map it onto the
// Chat Completions vocabulary so the learner reads truncation (`length`) the same way everywhere.
function responsesFinishReason(response: Obj): string | undefined {
  const status = response.status;
  if (status === 'completed') {
    const output = response.output;
    const calledTool =
      Array.isArray(output) && output.some((item) => isObj(item) && item.type === 'function_call');
    return calledTool ? 'tool_calls' : 'stop';
  }
  if (status === 'incomplete') {
    const reason = isObj(response.incomplete_details)
      ? response.incomplete_details.reason
      : undefined;
    if (reason === 'max_output_tokens') return 'length';
    return typeof reason === 'string' ? reason : 'incomplete';
  }
  if (status === 'failed') return 'error';
  return typeof status === 'string' ? status : undefined;
}

function readResponse(response: unknown, out: CallOutcome): void {
  if (!isObj(response)) return;
  readIdAndModel(response, out);
  const reason = responsesFinishReason(response);
  if (reason !== undefined) out.finishReasons = [reason];
  const usage = response.usage;
  if (isObj(usage)) {
    const input = num(usage.input_tokens);
    if (input !== undefined) out.inputTokens = input;
    const output = num(usage.output_tokens);
    if (output !== undefined) out.outputTokens = output;
    if (isObj(usage.input_tokens_details)) {
      const cached = num(usage.input_tokens_details.cached_tokens);
      if (cached !== undefined) out.cachedInputTokens = cached;
    }
    if (isObj(usage.output_tokens_details)) {
      const reasoning = num(usage.output_tokens_details.reasoning_tokens);
      if (reasoning !== undefined) out.reasoningTokens = reasoning;
    }
  }
  if (response.status === 'failed') {
    const error = isObj(response.error) ? response.error : {};
    out.failure = {
      type: typeof error.code === 'string' ? error.code : 'response_failed',
      message: typeof error.message === 'string' ? error.message : 'response failed',
    };
  }
}

/** `responses.create`. */
export const RESPONSES: OperationSpec = {
  operation: GEN_AI_OPERATION_RESPONSES,
  acceptsStreamUsage: false,
  requestAttributes(body, attributes) {
    setNum(attributes, ATTR_GEN_AI_REQUEST_MAX_TOKENS, body.max_output_tokens);
    samplingAttributes(body, attributes);
  },
  readResult: readResponse,
  readChunk(event, out, captureText) {
    if (!isObj(event)) return false;
    switch (event.type) {
      case 'response.created':
      case 'response.in_progress':
        if (isObj(event.response)) readIdAndModel(event.response, out);
        break;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        readResponse(event.response, out);
        if (captureText) out.finalResponse = event.response;
        break;
      case 'error':
        out.failure = {
          type: typeof event.code === 'string' ? event.code : 'error',
          message: typeof event.message === 'string' ? event.message : 'stream error',
        };
        break;
    }
    return false;
  },
  inputMessages: responsesInputMessages,
  outputMessages: responsesOutputMessages,
  streamOutputMessages: (out, budget) => responsesOutputMessages(out.finalResponse, budget),
};
