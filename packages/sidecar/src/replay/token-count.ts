/**
 * Token counts for replay rows that carry text but no recorded usage.
 *
 * Counts use OpenAI's cl100k_base encoding (GPT-4 and GPT-4 Turbo) through `gpt-tokenizer`, for
 * every model: the recorded sets do not say how other vendors' tokenizers split the text, and
 * one tokenizer for all models keeps the comparison about the model choice, not the tokenizer.
 */
import { countTokens, encodeChat } from 'gpt-tokenizer/encoding/cl100k_base';

/** A chat message as sent in a replay request. */
export interface ReplayMessage {
  readonly role: string;
  readonly content: string;
}

// Dataset text may contain strings such as "<|endoftext|>"; count them as text, never throw.
const asPlainText = { disallowedSpecial: new Set<string>() };

/** Tokens of a plain text (a completion). */
export function countTextTokens(text: string): number {
  if (text === '') return 0;
  return countTokens(text, asPlainText);
}

/**
 * Tokens of a chat prompt including the per-message framing OpenAI's chat format adds, which is
 * what `usage.prompt_tokens` reports.
 */
export function countChatTokens(messages: readonly ReplayMessage[]): number {
  const chat = messages.map((m) => ({
    role: normaliseRole(m.role),
    content: m.content,
  }));
  return encodeChat(chat, 'gpt-4', asPlainText).length;
}

function normaliseRole(role: string): 'system' | 'user' | 'assistant' {
  return role === 'system' || role === 'assistant' ? role : 'user';
}
