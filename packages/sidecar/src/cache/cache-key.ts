/**
 * The cache key: a SHA-256 over a canonical form of everything that changes the answer.
 *
 * Which fields count. Every field of the request body counts, except the few listed in
 * `IGNORED_FIELDS` that are known not to change the answer (bookkeeping for OpenAI's stored
 * completions and prompt-cache routing hints). Listing what to ignore rather than what to keep
 * means a field we have never heard of (a new sampling knob, `prediction`, `audio`, ...) makes
 * the key different, which costs at worst a miss; the opposite choice could serve a wrong answer.
 * So the key covers `messages`, `tools`, `tool_choice`, `functions`, `function_call`,
 * `response_format`, `temperature`, `top_p`, `max_tokens`, `max_completion_tokens`, `seed`,
 * `stop`, `n`, `logit_bias`, `logprobs`, `top_logprobs`, `presence_penalty`,
 * `frequency_penalty`, `reasoning_effort`, `parallel_tool_calls`, `modalities`, `user`, and for
 * embeddings `input`, `dimensions`, `encoding_format`.
 * - `model` is the ROUTED model (the `model` argument), never the body's: the same prompt sent
 *   to two models has two answers, and a request the router downgraded must not read the strong
 *   model's entry.
 * - `stream` counts: a streamed answer is stored as its SSE transcript and a plain one as JSON,
 *   so they are different entries. `stream_options` counts too (`include_usage` adds a chunk).
 * - The tenant (the caller's credential or tenant id) counts, so one tenant never reads another's
 *   answer; only its hash inside the key ever reaches Redis, never the credential itself.
 * - The endpoint counts, so a chat body and an embeddings body can never collide.
 *
 * Canonical form: JSON with object keys sorted at every depth, arrays in order. Key order in the
 * client's JSON therefore never matters, while anything that changes a value does.
 */
import { createHash } from 'node:crypto';

/** Body fields that never change the answer and so stay out of the key. */
export const IGNORED_FIELDS: ReadonlySet<string> = new Set([
  'model', // replaced by the routed model
  'metadata', // tags for OpenAI's stored completions
  'store', // whether OpenAI keeps a copy
  'prompt_cache_key', // a hint for the provider's prompt cache
  'safety_identifier', // abuse-monitoring id
]);

// Bump to orphan every existing entry when the canonical form changes.
const KEY_VERSION = 'k1';

/** What the key is computed from. */
export interface CacheKeyInput {
  /** The caller's credential or tenant id. Hashed into the key, never stored. */
  readonly tenant: string;
  /** The API path, e.g. `/v1/chat/completions`. */
  readonly endpoint: string;
  /** The model the request will be sent to after routing. */
  readonly model: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Returns the cache key (64 hex characters) for a request.
 *
 * @example
 * const key = cacheKey({ tenant: authorization, endpoint: '/v1/chat/completions', model: routed, body });
 */
export function cacheKey(input: CacheKeyInput): string {
  // Strings go through JSON.stringify so no value can forge a separator.
  let out = `${KEY_VERSION}\n${JSON.stringify(input.tenant)}\n${JSON.stringify(input.endpoint)}\n${JSON.stringify(input.model)}\n{`;
  const body = input.body;
  const keys = Object.keys(body).sort();
  let first = true;
  for (const k of keys) {
    if (IGNORED_FIELDS.has(k)) continue;
    const v = body[k];
    if (v === undefined) continue; // JSON would drop it too
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k);
    out += ':';
    out = writeCanonical(out, v);
  }
  out += '}';
  return createHash('sha256').update(out).digest('hex');
}

/** Appends the canonical JSON of `value` to `out`. Mirrors JSON.stringify except key order. */
function writeCanonical(out: string, value: unknown): string {
  if (value === null) return `${out}null`;
  switch (typeof value) {
    case 'string':
      return out + JSON.stringify(value);
    case 'number':
      return out + (Number.isFinite(value) ? String(value) : 'null');
    case 'boolean':
      return out + (value ? 'true' : 'false');
    case 'object':
      break;
    default:
      return `${out}null`; // functions, symbols, bigint cannot come from parsed JSON
  }
  if (Array.isArray(value)) {
    out += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out = item === undefined ? `${out}null` : writeCanonical(out, item);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // Bodies are small objects that usually arrive with keys in the same few orders; checking
  // whether they are already sorted is cheaper than always sorting a copy.
  if (!isSorted(keys)) keys.sort();
  out += '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k);
    out += ':';
    out = writeCanonical(out, v);
  }
  return `${out}}`;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  }
  return true;
}
