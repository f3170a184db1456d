import {
  type Attributes,
  context,
  diag,
  propagation,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  GEN_AI_PROVIDER_OPENAI,
  HEADER_SWITCHYARD_AGENT,
  HEADER_SWITCHYARD_TASK,
} from '../semconv.js';
import { getAgentScope } from './agent-scope.js';
import { TextBudget } from './content-capture.js';
import { type CallSettings, ModelCall } from './model-call.js';
import type { CreateMethod, ResourceLike } from './openai-shapes.js';
import type { OperationSpec } from './operations.js';
import { mergeRequestHeaders } from './request-headers.js';
import { serverAddressOf } from './server-address.js';

/** What a wrapped `create` needs from the instrumentation that owns it, read at call time. */
export interface CallTracer {
  isEnabled(): boolean;
  tracer(): Tracer;
  settings(): CallSettings;
}

/** Marks our wrappers, so a method is never wrapped twice and can be unwrapped again. */
export const ORIGINAL_METHOD = Symbol.for('switchyard.instrumentation.original');

type Wrapped = CreateMethod & { [ORIGINAL_METHOD]?: CreateMethod };

/** True when `method` is one of our wrappers. */
export function isWrapped(method: unknown): boolean {
  return typeof method === 'function' && (method as Wrapped)[ORIGINAL_METHOD] !== undefined;
}

/** The method a wrapper stands for. */
export function originalOf(method: CreateMethod): CreateMethod {
  return (method as Wrapped)[ORIGINAL_METHOD] ?? method;
}

type Obj = Record<string, unknown>;

/**
 * Wraps one SDK `create` method: one CLIENT span per call, propagation headers added through the
 * per-request `headers` option, and the SDK's own return value handed back untouched.
 */
export function wrapCreate(
  owner: CallTracer,
  spec: OperationSpec,
  original: CreateMethod,
): CreateMethod {
  const wrapped: Wrapped = function switchyardCreate(this: unknown, ...args: unknown[]) {
    const body = args[0];
    if (!owner.isEnabled() || typeof body !== 'object' || body === null) {
      return original.apply(this, args as [unknown, unknown]);
    }
    let call: ModelCall;
    try {
      call = prepareCall(owner, spec, this as ResourceLike, body as Obj, args);
    } catch (error) {
      diag.error(
        '@switchyard/instrumentation: could not start a span; calling openai untraced',
        error,
      );
      return original.apply(this, args as [unknown, unknown]);
    }
    let result: unknown;
    try {
      // Inside the span's context, so HTTP-level instrumentation nests under the model call. The
      // request body and options are the (possibly amended) first two arguments.
      result = context.with(call.context, original, this, ...(args as [unknown, unknown]));
    } catch (error) {
      call.run(call.fail, error);
      throw error;
    }
    call.observe(result);
    return result;
  };
  wrapped[ORIGINAL_METHOD] = original;
  return wrapped;
}

/**
 * Starts the span and returns its call. `args` is the wrapper's own rest-parameter array (never
 * the caller's objects): its first two slots are replaced by the body and options to send.
 */
function prepareCall(
  owner: CallTracer,
  spec: OperationSpec,
  resource: ResourceLike,
  body: Obj,
  args: unknown[],
): ModelCall {
  const settings = owner.settings();
  const startedAt = settings.now();
  const parent = context.active();
  const scope = getAgentScope(parent);
  const model = typeof body.model === 'string' ? body.model : '';

  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: spec.operation,
    [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_OPENAI,
  };
  if (model !== '') attributes[ATTR_GEN_AI_REQUEST_MODEL] = model;
  const server = serverAddressOf(resource?._client);
  if (server !== undefined) {
    attributes[ATTR_SERVER_ADDRESS] = server.address;
    attributes[ATTR_SERVER_PORT] = server.port;
  }
  spec.requestAttributes(body, attributes);
  if (scope !== undefined) Object.assign(attributes, scope.callAttributes);
  if (settings.captureContent) {
    const messages = spec.inputMessages(body, new TextBudget(settings.maxContentLength));
    if (messages.length > 0) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify(messages);
  }

  let sentBody: Obj = body;
  let hideUsageChunk = false;
  if (body.stream === true && settings.includeStreamUsage && spec.acceptsStreamUsage) {
    const streamOptions = body.stream_options;
    const asked =
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as Obj).include_usage === true;
    if (!asked) {
      // A copy: the caller's request object is never modified.
      sentBody = {
        ...body,
        stream_options: { ...(streamOptions as Obj | undefined), include_usage: true },
      };
      hideUsageChunk = true;
    }
  }

  const span = owner
    .tracer()
    .startSpan(
      model === '' ? spec.operation : `${spec.operation} ${model}`,
      { kind: SpanKind.CLIENT, attributes },
      parent,
    );
  const callContext = trace.setSpan(parent, span);
  const headers: Record<string, string> = {};
  propagation.inject(callContext, headers);
  if (scope?.agentHeader !== undefined) headers[HEADER_SWITCHYARD_AGENT] = scope.agentHeader;
  if (scope?.taskHeader !== undefined) headers[HEADER_SWITCHYARD_TASK] = scope.taskHeader;

  const options = args[1];
  const sentOptions =
    typeof options === 'object' && options !== null
      ? { ...options, headers: mergeRequestHeaders((options as Obj).headers, headers) }
      : { headers };
  args[0] = sentBody;
  args[1] = sentOptions;
  return new ModelCall(settings, spec, span, callContext, startedAt, model, scope, hideUsageChunk);
}
