import { type Attributes, type Context, createContextKey } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_SWITCHYARD_TASK_TYPE,
  ATTR_SWITCHYARD_WORKFLOW_NAME,
} from '../semconv.js';

/**
 * Who is calling, as the innermost `withAgent` / `withTask` / `withWorkflow` left it in the
 * OpenTelemetry context. Built once per scope so a model call only reads it.
 */
export interface AgentScope {
  readonly agent: string | undefined;
  readonly agentId: string | undefined;
  readonly task: string | undefined;
  readonly workflow: string | undefined;
  readonly conversationId: string | undefined;
  /** The attributes every client span inside this scope carries. */
  readonly callAttributes: Attributes;
  /** `x-switchyard-agent` / `x-switchyard-task` values, already made header-safe. */
  readonly agentHeader: string | undefined;
  readonly taskHeader: string | undefined;
}

const AGENT_SCOPE_KEY = createContextKey('switchyard.agent-scope');

/** The scope active in `ctx`, if any. */
export function getAgentScope(ctx: Context): AgentScope | undefined {
  return ctx.getValue(AGENT_SCOPE_KEY) as AgentScope | undefined;
}

/** `ctx` with `scope` as the active agent scope. */
export function setAgentScope(ctx: Context, scope: AgentScope): Context {
  return ctx.setValue(AGENT_SCOPE_KEY, scope);
}

type ScopeFields = Pick<AgentScope, 'agent' | 'agentId' | 'task' | 'workflow' | 'conversationId'>;

/** Derives the precomputed parts of a scope from its fields. */
export function buildAgentScope(fields: ScopeFields): AgentScope {
  const callAttributes: Attributes = {};
  if (fields.agent !== undefined) callAttributes[ATTR_GEN_AI_AGENT_NAME] = fields.agent;
  if (fields.task !== undefined) callAttributes[ATTR_SWITCHYARD_TASK_TYPE] = fields.task;
  if (fields.workflow !== undefined)
    callAttributes[ATTR_SWITCHYARD_WORKFLOW_NAME] = fields.workflow;
  if (fields.conversationId !== undefined) {
    callAttributes[ATTR_GEN_AI_CONVERSATION_ID] = fields.conversationId;
  }
  return Object.freeze({
    ...fields,
    callAttributes: Object.freeze(callAttributes),
    agentHeader: fields.agent === undefined ? undefined : toHeaderValue(fields.agent),
    taskHeader: fields.task === undefined ? undefined : toHeaderValue(fields.task),
  });
}

// fetch refuses header values outside Latin-1 and HTTP forbids control characters, so a name with
// any character outside printable ASCII is percent-encoded (the receiver decodes with
// decodeURIComponent). Plain names go through unchanged and cost nothing.
const UNSAFE_HEADER_CHARS = /[^\x20-\x7e]/;

function toHeaderValue(value: string): string {
  return UNSAFE_HEADER_CHARS.test(value) ? encodeURIComponent(value) : value;
}
