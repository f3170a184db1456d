/**
 * A `RuleMatch` compiled once (regex built, flags precomputed) so that testing it on a request
 * costs a few string comparisons.
 */
import type { RuleMatch } from './rule.js';

/** What a request offers to matchers. Text and token count are computed lazily, once. */
export interface MatchSubject {
  readonly agent: string | undefined;
  readonly task: string | undefined;
  readonly model: string;
  promptTokens(): number;
  messageText(): string;
}

export interface CompiledMatch {
  readonly needsText: boolean;
  readonly needsTokens: boolean;
  test(subject: MatchSubject): boolean;
}

/**
 * Compiles `match`. An invalid `messagePattern` (possible in learned rules that bypassed config
 * validation) makes the matcher never match rather than throw on every request.
 */
export function compileMatch(match: RuleMatch): CompiledMatch {
  const { agent, task, model, minPromptTokens, maxPromptTokens, messagePattern } = match;
  let pattern: RegExp | null | undefined;
  if (messagePattern !== undefined) {
    try {
      pattern = new RegExp(messagePattern);
    } catch {
      pattern = null;
    }
  }
  const needsTokens = minPromptTokens !== undefined || maxPromptTokens !== undefined;
  return {
    needsText: pattern !== undefined,
    needsTokens,
    test(s: MatchSubject): boolean {
      if (agent !== undefined && s.agent !== agent) return false;
      if (task !== undefined && s.task !== task) return false;
      if (model !== undefined && s.model !== model) return false;
      if (needsTokens) {
        const t = s.promptTokens();
        if (minPromptTokens !== undefined && t < minPromptTokens) return false;
        if (maxPromptTokens !== undefined && t > maxPromptTokens) return false;
      }
      if (pattern === null) return false;
      if (pattern !== undefined && !pattern.test(s.messageText())) return false;
      return true;
    },
  };
}
