/**
 * Whether a request's answer may be stored in and served from the cache.
 *
 * Precedence: the request's `x-switchyard-cache` header beats the matching rule's `cache`, which
 * beats the configured default. `'default'` at any level means "no opinion here" and defers to
 * the next level; when nobody has an opinion the request is cached only if it is deterministic
 * enough that a repeat would get the same answer anyway:
 * - `temperature` is 0, or a `seed` is set (OpenAI's reproducibility switch);
 * - embeddings requests (no `messages`, an `input`), which are deterministic by nature.
 * An absent temperature means the provider's default (1 for OpenAI), so it is not cached.
 *
 * `n > 1` is treated like any other request: the entry holds all `n` choices, so a hit returns
 * the same set of alternatives the first caller got, and that set only gets cached when the
 * request is deterministic (or forced) anyway.
 *
 * `force` caches whatever the request is (the operator accepts replaying one sample);
 * `no-store` neither reads nor writes the cache.
 */
import type { CacheMode } from '../routing/rule.js';

export type CacheDecision = 'store' | 'bypass';

/**
 * Decides `store` (look up, and store the answer on a miss) or `bypass`.
 *
 * @example
 * cacheDecision(body, headerMode, rule?.cache, config.cache.mode); // 'store' | 'bypass'
 */
export function cacheDecision(
  body: Readonly<Record<string, unknown>>,
  requestMode: CacheMode | undefined,
  ruleMode: CacheMode | undefined,
  defaultMode: CacheMode,
): CacheDecision {
  const mode =
    requestMode !== undefined && requestMode !== 'default'
      ? requestMode
      : ruleMode !== undefined && ruleMode !== 'default'
        ? ruleMode
        : defaultMode;
  if (mode === 'force') return 'store';
  if (mode === 'no-store') return 'bypass';
  return isDeterministic(body) ? 'store' : 'bypass';
}

/** True when a repeat of this request would get the same answer from the provider. */
export function isDeterministic(body: Readonly<Record<string, unknown>>): boolean {
  if (body.temperature === 0) return true;
  const seed = body.seed;
  if (typeof seed === 'number' && Number.isInteger(seed)) return true;
  return body.messages === undefined && body.input !== undefined;
}

/**
 * Parses an `x-switchyard-cache` request header value. Returns `undefined` when absent and
 * `null` when present but not one of the modes, so the caller can answer 400.
 */
export function parseCacheMode(value: string | undefined): CacheMode | undefined | null {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'default' || v === 'no-store' || v === 'force') return v;
  return null;
}
