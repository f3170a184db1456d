import type { ModelPrice } from './price-table.js';

/**
 * Built-in model prices, kept as data. USD per million tokens.
 *
 * Rules for editing this file:
 * - Every entry names its source (a provider page or, for the replay data, the paper's README) and
 *   the date it was read. A price that could not be sourced is left out: an unknown model gets no
 *   cost and one warning, never a guess.
 * - Keys are lower-case model names. Dated snapshots (`gpt-4o-2024-08-06`) resolve to the undated
 *   key; a snapshot priced differently from its base is listed under its full name.
 * - `cachedInput` is the provider's prompt-cache read price. Where it could not be sourced it is
 *   left out, and cached tokens are then priced at the input price (the most the call can cost).
 * - Bump {@link PRICES_VERSION} whenever a number changes: spans carry it, so a cost can always
 *   be traced to the table that produced it.
 */
export const PRICES_VERSION = '2026-11-25';

/** Where a price was read, and when. */
export interface PriceSource {
  readonly url: string;
  /** The date the page was read, or the date the page itself states. */
  readonly date: string;
  readonly note?: string;
}

const OPENAI: PriceSource = {
  url: 'https://platform.openai.com/docs/pricing',
  date: '2026-11-25',
  note:
    'Standard tier, text tokens. Read from a transcription of the pricing page and checked on ' +
    'the model pages https://developers.openai.com/api/docs/models/<model> where those were ' +
    'available (gpt-5, gpt-5-nano, gpt-4.1-nano).',
};
const OPENAI_LEGACY: PriceSource = {
  url: 'https://platform.openai.com/docs/pricing',
  date: '2026-11-25',
  note:
    'Legacy models (GPT-4, GPT-4 Turbo previews, GPT-3.5 snapshots) at the rates OpenAI ' +
    'published for them; its current page no longer lists all of them, so each was cross-checked ' +
    'against several independent open-source price tables that agree.',
};
const OPENAI_EMBEDDINGS: PriceSource = {
  url: 'https://platform.openai.com/docs/pricing',
  date: '2026-11-25',
  note: 'Embeddings section; embeddings have no output tokens.',
};
const ANTHROPIC: PriceSource = {
  url: 'https://platform.claude.com/docs/en/about-claude/pricing',
  date: '2026-11-25',
  note: 'Base input, "cache hits and refreshes" and output columns. Cache writes are not modelled.',
};
const ANTHROPIC_HISTORICAL: PriceSource = {
  url: 'https://www.anthropic.com/news/claude-3-family',
  date: '2024-03-04',
  note: 'Retired Claude 3 / 3.5 Sonnet models: launch prices (3.5 Sonnet launched at the same rate).',
};
const GOOGLE: PriceSource = {
  url: 'https://ai.google.dev/gemini-api/docs/pricing',
  date: '2026-11-25',
  note:
    'Paid tier, text. Pro models charge a higher rate on every token of a call whose prompt ' +
    'exceeds 200k (2.5) or 128k (1.5) tokens: modelled as longContext. Gemini 1.5 rates are ' +
    'those after the September 2024 price cut.',
};
const MISTRAL: PriceSource = {
  url: 'https://mistral.ai/pricing#api-pricing',
  date: '2026-11-25',
  note: 'Current rates of the -latest models, cross-checked against independent price tables.',
};
const ROUTELLM: PriceSource = {
  url: 'https://github.com/lm-sys/RouteLLM#readme',
  date: '2024-07-01',
  note:
    'RouteLLM prices Mixtral-8x7B-Instruct (open weights, hosted) at about $0.24 per million ' +
    'tokens, input and output alike. Used by the replay benchmark on its data.',
};

interface PriceEntry {
  readonly price: ModelPrice;
  readonly provider: 'openai' | 'anthropic' | 'google' | 'mistral' | 'open-weights';
  readonly source: PriceSource;
}

function openai(input: number, output: number, cachedInput?: number): PriceEntry {
  return entry('openai', OPENAI, input, output, cachedInput);
}
function entry(
  provider: PriceEntry['provider'],
  source: PriceSource,
  input: number,
  output: number,
  cachedInput?: number,
  longContext?: ModelPrice['longContext'],
): PriceEntry {
  const price: ModelPrice = {
    input,
    output,
    ...(cachedInput !== undefined ? { cachedInput } : {}),
    ...(longContext !== undefined ? { longContext } : {}),
  };
  return { price, provider, source };
}

const ENTRIES: Readonly<Record<string, PriceEntry>> = {
  // --- OpenAI: GPT-5 family ---------------------------------------------------------------------
  'gpt-5': openai(1.25, 10, 0.125),
  'gpt-5-chat-latest': openai(1.25, 10, 0.125),
  'gpt-5-mini': openai(0.25, 2, 0.025),
  'gpt-5-nano': openai(0.05, 0.4, 0.005),
  // --- OpenAI: GPT-4.1 and GPT-4o ---------------------------------------------------------------
  'gpt-4.1': openai(2, 8, 0.5),
  'gpt-4.1-mini': openai(0.4, 1.6, 0.1),
  'gpt-4.1-nano': openai(0.1, 0.4, 0.025),
  'gpt-4.5-preview': openai(75, 150, 37.5),
  'gpt-4o': openai(2.5, 10, 1.25),
  'gpt-4o-2024-05-13': openai(5, 15),
  'chatgpt-4o-latest': openai(5, 15),
  'gpt-4o-mini': openai(0.15, 0.6, 0.075),
  // --- OpenAI: reasoning models -----------------------------------------------------------------
  o1: openai(15, 60, 7.5),
  'o1-preview': openai(15, 60, 7.5),
  'o1-mini': openai(1.1, 4.4, 0.55),
  'o1-pro': openai(150, 600),
  o3: openai(2, 8, 0.5),
  'o3-pro': openai(20, 80),
  'o3-mini': openai(1.1, 4.4, 0.55),
  'o4-mini': openai(1.1, 4.4, 0.275),
  'codex-mini-latest': openai(1.5, 6, 0.375),
  // --- OpenAI: legacy chat models ---------------------------------------------------------------
  'gpt-4-turbo': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4-turbo-preview': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4-1106-preview': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4-0125-preview': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4-vision-preview': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4-1106-vision-preview': entry('openai', OPENAI_LEGACY, 10, 30),
  'gpt-4': entry('openai', OPENAI_LEGACY, 30, 60),
  'gpt-4-32k': entry('openai', OPENAI_LEGACY, 60, 120),
  'gpt-3.5-turbo': entry('openai', OPENAI_LEGACY, 0.5, 1.5),
  'gpt-3.5-turbo-1106': entry('openai', OPENAI_LEGACY, 1, 2),
  'gpt-3.5-turbo-0613': entry('openai', OPENAI_LEGACY, 1.5, 2),
  'gpt-3.5-turbo-0301': entry('openai', OPENAI_LEGACY, 1.5, 2),
  'gpt-3.5-turbo-16k': entry('openai', OPENAI_LEGACY, 3, 4),
  'gpt-3.5-turbo-instruct': entry('openai', OPENAI_LEGACY, 1.5, 2),
  // --- OpenAI: embeddings -----------------------------------------------------------------------
  'text-embedding-3-small': entry('openai', OPENAI_EMBEDDINGS, 0.02, 0),
  'text-embedding-3-large': entry('openai', OPENAI_EMBEDDINGS, 0.13, 0),
  'text-embedding-ada-002': entry('openai', OPENAI_EMBEDDINGS, 0.1, 0),

  // --- Anthropic (names as the API spells them; dated snapshots resolve to these) ----------------
  'claude-opus-4-7': entry('anthropic', ANTHROPIC, 5, 25, 0.5),
  'claude-opus-4-6': entry('anthropic', ANTHROPIC, 5, 25, 0.5),
  'claude-opus-4-5': entry('anthropic', ANTHROPIC, 5, 25, 0.5),
  'claude-opus-4-1': entry('anthropic', ANTHROPIC, 15, 75, 1.5),
  'claude-opus-4': entry('anthropic', ANTHROPIC, 15, 75, 1.5),
  'claude-opus-4-0': entry('anthropic', ANTHROPIC, 15, 75, 1.5),
  'claude-sonnet-4-6': entry('anthropic', ANTHROPIC, 3, 15, 0.3),
  'claude-sonnet-4-5': entry('anthropic', ANTHROPIC, 3, 15, 0.3),
  'claude-sonnet-4': entry('anthropic', ANTHROPIC, 3, 15, 0.3),
  'claude-sonnet-4-0': entry('anthropic', ANTHROPIC, 3, 15, 0.3),
  'claude-haiku-4-5': entry('anthropic', ANTHROPIC, 1, 5, 0.1),
  'claude-3-7-sonnet': entry('anthropic', ANTHROPIC, 3, 15, 0.3),
  'claude-3-5-haiku': entry('anthropic', ANTHROPIC, 0.8, 4, 0.08),
  'claude-3-opus': entry('anthropic', ANTHROPIC, 15, 75, 1.5),
  'claude-3-haiku': entry('anthropic', ANTHROPIC, 0.25, 1.25, 0.03),
  'claude-3-5-sonnet': entry('anthropic', ANTHROPIC_HISTORICAL, 3, 15),
  'claude-3-sonnet': entry('anthropic', ANTHROPIC_HISTORICAL, 3, 15),

  // --- Google Gemini ------------------------------------------------------------------------------
  'gemini-2.5-pro': entry('google', GOOGLE, 1.25, 10, 0.125, {
    aboveInputTokens: 200_000,
    input: 2.5,
    output: 15,
    cachedInput: 0.25,
  }),
  'gemini-2.5-flash': entry('google', GOOGLE, 0.3, 2.5),
  'gemini-2.5-flash-lite': entry('google', GOOGLE, 0.1, 0.4),
  'gemini-2.0-flash': entry('google', GOOGLE, 0.1, 0.4),
  'gemini-1.5-pro': entry('google', GOOGLE, 1.25, 5, undefined, {
    aboveInputTokens: 128_000,
    input: 2.5,
    output: 10,
  }),
  'gemini-1.5-flash': entry('google', GOOGLE, 0.075, 0.3, undefined, {
    aboveInputTokens: 128_000,
    input: 0.15,
    output: 0.6,
  }),

  // --- Mistral (La Plateforme) --------------------------------------------------------------------
  'mistral-large': entry('mistral', MISTRAL, 2, 6),
  'mistral-small': entry('mistral', MISTRAL, 0.1, 0.3),
  'open-mixtral-8x7b': entry('mistral', MISTRAL, 0.7, 0.7),
  'open-mixtral-8x22b': entry('mistral', MISTRAL, 2, 6),

  // --- Open-weights Mixtral as priced by RouteLLM (the replay benchmark's data) -------------------
  'mixtral-8x7b-instruct': entry('open-weights', ROUTELLM, 0.24, 0.24),
  'mixtral-8x7b-instruct-v0.1': entry('open-weights', ROUTELLM, 0.24, 0.24),
};

function freezeMap<T, U>(from: Readonly<Record<string, T>>, pick: (t: T) => U): Record<string, U> {
  const out: Record<string, U> = {};
  for (const [name, value] of Object.entries(from)) out[name] = Object.freeze(pick(value));
  return Object.freeze(out);
}

/** The built-in prices by model name; the input of `createPriceTable`'s default `base`. */
export const PRICES: Readonly<Record<string, ModelPrice>> = freezeMap(ENTRIES, (e) => e.price);

/** Where each built-in price comes from, by the same keys as {@link PRICES}. */
export const PRICE_SOURCES: Readonly<Record<string, PriceSource & { provider: string }>> =
  freezeMap(ENTRIES, (e) => ({ ...e.source, provider: e.provider }));
