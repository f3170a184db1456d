/**
 * Cheap views of a chat request's prompt for routing: the concatenated message text and a
 * token estimate. Neither is ever logged or put on a span.
 */

/**
 * Concatenates the text of every message (string content and `text` parts), newline-separated.
 *
 * @example
 * messageText([{ role: 'user', content: 'hi' }]); // 'hi'
 */
export function messageText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  let out = '';
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const content = (m as { content?: unknown }).content;
    if (typeof content === 'string') {
      out = out.length === 0 ? content : `${out}\n${content}`;
    } else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === 'string') out = out.length === 0 ? text : `${out}\n${text}`;
      }
    }
  }
  return out;
}

/**
 * Estimates prompt tokens as characters / 4 (OpenAI's rule of thumb for English), plus a few
 * tokens per message for the chat framing. Good enough to bucket prompts by size; not billing.
 */
export function estimatePromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  return Math.ceil(messageText(messages).length / 4) + 4 * messages.length;
}
