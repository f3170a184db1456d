/**
 * Turns request and response bodies into the GenAI conventions' message JSON
 * (`[{ role, parts: [{ type: 'text', content }] }]`). Only ever called when the operator opted in
 * to content capture; the text budget keeps one call's capture bounded while the JSON stays valid.
 */

export interface MessagePart {
  type: string;
  content?: unknown;
  id?: unknown;
  name?: unknown;
  arguments?: unknown;
  response?: unknown;
}

export interface CapturedMessage {
  role: string;
  parts: MessagePart[];
  finish_reason?: string;
}

/** A character budget shared by every text of one direction of one call. */
export class TextBudget {
  constructor(private remaining: number) {}

  take(text: unknown): string {
    const value = typeof text === 'string' ? text : text === undefined ? '' : JSON.stringify(text);
    if (this.remaining <= 0) return '';
    const kept = value.length <= this.remaining ? value : value.slice(0, this.remaining);
    this.remaining -= kept.length;
    return kept;
  }
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null;
}

function textParts(content: unknown, budget: TextBudget): MessagePart[] {
  if (typeof content === 'string') return [{ type: 'text', content: budget.take(content) }];
  if (!Array.isArray(content)) return [];
  const parts: MessagePart[] = [];
  for (const part of content) {
    if (!isObj(part)) continue;
    const text = part.text ?? part.refusal;
    if (typeof text === 'string') parts.push({ type: 'text', content: budget.take(text) });
    else parts.push({ type: typeof part.type === 'string' ? part.type : 'unknown' });
  }
  return parts;
}

function toolCallParts(toolCalls: unknown, budget: TextBudget): MessagePart[] {
  if (!Array.isArray(toolCalls)) return [];
  const parts: MessagePart[] = [];
  for (const call of toolCalls) {
    if (!isObj(call)) continue;
    const fn = isObj(call.function) ? call.function : {};
    parts.push({
      type: 'tool_call',
      id: call.id,
      name: fn.name,
      arguments: budget.take(fn.arguments),
    });
  }
  return parts;
}

/** Chat Completions `messages` → input messages. */
export function chatInputMessages(messages: unknown, budget: TextBudget): CapturedMessage[] {
  if (!Array.isArray(messages)) return [];
  const out: CapturedMessage[] = [];
  for (const message of messages) {
    if (!isObj(message)) continue;
    const role = typeof message.role === 'string' ? message.role : 'user';
    if (role === 'tool') {
      out.push({
        role,
        parts: [
          {
            type: 'tool_call_response',
            id: message.tool_call_id,
            response: budget.take(message.content),
          },
        ],
      });
      continue;
    }
    out.push({
      role,
      parts: [...textParts(message.content, budget), ...toolCallParts(message.tool_calls, budget)],
    });
  }
  return out;
}

/** Chat Completions `choices` (whole or assembled from a stream) → output messages. */
export function chatOutputMessages(choices: unknown, budget: TextBudget): CapturedMessage[] {
  if (!Array.isArray(choices)) return [];
  const out: CapturedMessage[] = [];
  for (const choice of choices) {
    if (!isObj(choice)) continue;
    const message = isObj(choice.message) ? choice.message : {};
    const parts = [
      ...textParts(message.content ?? choice.text, budget),
      ...toolCallParts(message.tool_calls, budget),
    ];
    const captured: CapturedMessage = { role: 'assistant', parts };
    if (typeof choice.finish_reason === 'string') captured.finish_reason = choice.finish_reason;
    out.push(captured);
  }
  return out;
}

/** Legacy Completions `prompt` → one user message. */
export function promptInputMessages(prompt: unknown, budget: TextBudget): CapturedMessage[] {
  if (typeof prompt === 'string') return [{ role: 'user', parts: textParts(prompt, budget) }];
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) {
    return [
      { role: 'user', parts: prompt.map((p) => ({ type: 'text', content: budget.take(p) })) },
    ];
  }
  return [];
}

/** Responses API `instructions` + `input` → input messages. */
export function responsesInputMessages(body: Obj, budget: TextBudget): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  if (typeof body.instructions === 'string') {
    out.push({ role: 'system', parts: textParts(body.instructions, budget) });
  }
  const input = body.input;
  if (typeof input === 'string') {
    out.push({ role: 'user', parts: textParts(input, budget) });
  } else if (Array.isArray(input)) {
    for (const item of input) {
      if (!isObj(item)) continue;
      if (item.type === 'function_call_output') {
        out.push({
          role: 'tool',
          parts: [
            { type: 'tool_call_response', id: item.call_id, response: budget.take(item.output) },
          ],
        });
      } else if (item.type === 'function_call') {
        out.push({
          role: 'assistant',
          parts: [
            {
              type: 'tool_call',
              id: item.call_id,
              name: item.name,
              arguments: budget.take(item.arguments),
            },
          ],
        });
      } else {
        const role = typeof item.role === 'string' ? item.role : 'user';
        out.push({ role, parts: textParts(item.content, budget) });
      }
    }
  }
  return out;
}

/** Responses API `output` items → output messages. */
export function responsesOutputMessages(response: unknown, budget: TextBudget): CapturedMessage[] {
  if (!isObj(response) || !Array.isArray(response.output)) return [];
  const parts: MessagePart[] = [];
  for (const item of response.output) {
    if (!isObj(item)) continue;
    if (item.type === 'message') parts.push(...textParts(item.content, budget));
    else if (item.type === 'function_call') {
      parts.push({
        type: 'tool_call',
        id: item.call_id,
        name: item.name,
        arguments: budget.take(item.arguments),
      });
    }
  }
  return [{ role: 'assistant', parts }];
}
