import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { buildAgentScope, getAgentScope, setAgentScope } from './internal/agent-scope.js';
import { isApiPromise } from './internal/openai-shapes.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_SWITCHYARD_TASK_TYPE,
  ATTR_SWITCHYARD_WORKFLOW_NAME,
  BAGGAGE_SWITCHYARD_AGENT,
  BAGGAGE_SWITCHYARD_TASK,
  GEN_AI_OPERATION_INVOKE_AGENT,
  SCOPE_INSTRUMENTATION,
} from './semconv.js';
import type { AgentOptions } from './types.js';
import { PACKAGE_VERSION } from './version.js';

// The global tracer is a proxy: it follows whatever provider is registered later.
const tracer = trace.getTracer(SCOPE_INSTRUMENTATION, PACKAGE_VERSION);

/**
 * Runs `fn` as one step of an agent: opens an `invoke_agent {name}` span (kind INTERNAL) and makes
 * every openai call inside, however deeply awaited, carry `gen_ai.agent.name` and
 * `switchyard.task.type` on its span, in W3C baggage and in `x-switchyard-agent` /
 * `x-switchyard-task` headers. The span ends when `fn` returns or its promise settles.
 *
 * @example
 * const outline = await withAgent({ name: 'outline', task: 'plan' }, () =>
 *   openai.chat.completions.create({ model: 'gpt-4o', messages }),
 * );
 */
export function withAgent<T>(options: AgentOptions, fn: (span: Span) => T): T {
  const name = requireName('withAgent', 'options.name', options?.name);
  const parent = context.active();
  const outer = getAgentScope(parent);
  const task = optionalString('withAgent', 'options.task', options.task) ?? outer?.task;
  const conversationId =
    optionalString('withAgent', 'options.conversationId', options.conversationId) ??
    outer?.conversationId;
  const agentId = optionalString('withAgent', 'options.id', options.id);
  const scope = buildAgentScope({
    agent: name,
    agentId,
    task,
    workflow: outer?.workflow,
    conversationId,
  });
  const attributes: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_INVOKE_AGENT,
    [ATTR_GEN_AI_AGENT_NAME]: name,
  };
  if (agentId !== undefined) attributes[ATTR_GEN_AI_AGENT_ID] = agentId;
  if (task !== undefined) attributes[ATTR_SWITCHYARD_TASK_TYPE] = task;
  if (conversationId !== undefined) attributes[ATTR_GEN_AI_CONVERSATION_ID] = conversationId;
  if (scope.workflow !== undefined) attributes[ATTR_SWITCHYARD_WORKFLOW_NAME] = scope.workflow;
  const span = tracer.startSpan(
    `${GEN_AI_OPERATION_INVOKE_AGENT} ${name}`,
    { kind: SpanKind.INTERNAL, attributes },
    parent,
  );
  const ctx = withBaggage(setAgentScope(trace.setSpan(parent, span), scope), name, task);
  return runInSpan(ctx, span, fn);
}

/**
 * Runs `fn` with `task` as the task type of every openai call inside (span attribute
 * `switchyard.task.type`, baggage `switchyard.task`, header `x-switchyard-task`). Opens no span:
 * a task labels the calls of the agent step it runs in.
 *
 * @example
 * await withTask('classify', () => openai.chat.completions.create({ model, messages }));
 */
export function withTask<T>(task: string, fn: () => T): T {
  const value = requireName('withTask', 'task', task);
  const parent = context.active();
  const outer = getAgentScope(parent);
  const scope = buildAgentScope({
    agent: outer?.agent,
    agentId: outer?.agentId,
    task: value,
    workflow: outer?.workflow,
    conversationId: outer?.conversationId,
  });
  const ctx = withBaggage(setAgentScope(parent, scope), undefined, value);
  return context.with(ctx, fn);
}

/**
 * Runs `fn` as one run of a workflow: opens a `workflow {name}` span (kind INTERNAL) with
 * `switchyard.workflow.name`, which every agent step and openai call inside carries too.
 *
 * @example
 * await withWorkflow('content-pipeline', async () => {
 *   await withAgent({ name: 'research', task: 'search' }, research);
 *   await withAgent({ name: 'draft', task: 'write' }, draft);
 * });
 */
export function withWorkflow<T>(name: string, fn: (span: Span) => T): T {
  const value = requireName('withWorkflow', 'name', name);
  const parent = context.active();
  const outer = getAgentScope(parent);
  const scope = buildAgentScope({
    agent: outer?.agent,
    agentId: outer?.agentId,
    task: outer?.task,
    workflow: value,
    conversationId: outer?.conversationId,
  });
  const span = tracer.startSpan(
    `workflow ${value}`,
    { kind: SpanKind.INTERNAL, attributes: { [ATTR_SWITCHYARD_WORKFLOW_NAME]: value } },
    parent,
  );
  return runInSpan(setAgentScope(trace.setSpan(parent, span), scope), span, fn);
}

function runInSpan<T>(ctx: Context, span: Span, fn: (span: Span) => T): T {
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span);
  } catch (error) {
    failSpan(span, error);
    span.end();
    throw error;
  }
  if (isApiPromise(result)) {
    // The SDK's APIPromise parses its body on `then`; calling it would consume a body the caller
    // may want raw (`asResponse()`). The step ends when the answer arrives instead.
    result.responsePromise.then(
      () => span.end(),
      (error: unknown) => {
        failSpan(span, error);
        span.end();
      },
    );
  } else if (isThenable(result)) {
    // Observe the caller's promise without replacing it: they get back exactly what fn returned.
    result.then(
      () => span.end(),
      (error: unknown) => {
        failSpan(span, error);
        span.end();
      },
    );
  } else {
    span.end();
  }
  return result;
}

function withBaggage(ctx: Context, agent: string | undefined, task: string | undefined): Context {
  let baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  if (agent !== undefined) baggage = baggage.setEntry(BAGGAGE_SWITCHYARD_AGENT, { value: agent });
  if (task !== undefined) baggage = baggage.setEntry(BAGGAGE_SWITCHYARD_TASK, { value: task });
  return propagation.setBaggage(ctx, baggage);
}

function failSpan(span: Span, error: unknown): void {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  span.setAttribute(ATTR_ERROR_TYPE, name);
  span.recordException({ name, message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function requireName(fnName: string, param: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${fnName}: ${param} must be a non-empty string, got ${String(value)}`);
  }
  return value;
}

function optionalString(fnName: string, param: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return requireName(fnName, param, value);
}
