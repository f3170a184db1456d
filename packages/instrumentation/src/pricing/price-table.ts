import { diag } from '@opentelemetry/api';
import { PRICES, PRICES_VERSION } from './prices.js';

/** Prices of one model in USD per million tokens. */
export interface ModelPrice {
  /** Uncached input (prompt) tokens, USD per million. */
  readonly input: number;
  /** Output (completion, including reasoning) tokens, USD per million. */
  readonly output: number;
  /** Input tokens served from the provider's prompt cache, USD per million. Defaults to `input`. */
  readonly cachedInput?: number;
  /**
   * A higher tier some providers charge when the prompt is long (Gemini Pro above 128k/200k input
   * tokens). When `inputTokens` exceeds `aboveInputTokens`, the whole call is priced at this tier.
   */
  readonly longContext?: {
    readonly aboveInputTokens: number;
    readonly input: number;
    readonly output: number;
    readonly cachedInput?: number;
  };
}

/** Token counts of one call, in OpenAI's convention: `inputTokens` includes the cached ones. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** How many of `inputTokens` were read from the provider's prompt cache. */
  cacheReadInputTokens?: number;
}

/** Cost of one call in USD; `totalUsd` is the sum of the three parts. */
export interface CostBreakdown {
  totalUsd: number;
  inputUsd: number;
  outputUsd: number;
  cacheReadUsd: number;
}

/** Looks up model prices and turns token usage into USD. */
export interface PriceTable {
  /** Identifies the price data, e.g. `2026-11-25`; goes on every span as `switchyard.pricing.version`. */
  readonly version: string;
  /**
   * The cost of one call, or `undefined` when the model has no known price (never a guess).
   * @example table.cost('gpt-4o-2024-08-06', { inputTokens: 1000, outputTokens: 200 })?.totalUsd
   */
  cost(model: string, usage: TokenUsage): CostBreakdown | undefined;
  /** The price of a model, resolving dated names (`gpt-4o-2024-08-06`) to their base. */
  price(model: string): ModelPrice | undefined;
  /** The table key a model name resolves to (`claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`). */
  resolve(model: string): string | undefined;
}

/** Options of {@link createPriceTable}. */
export interface PriceTableOptions {
  /** Prices that replace or extend the built-in table, keyed by model name (case-insensitive). */
  overrides?: Record<string, ModelPrice>;
  /**
   * The base table. Defaults to Switchyard's built-in prices; pass `{}` to use only `overrides`.
   */
  base?: Readonly<Record<string, ModelPrice>>;
  /**
   * Version string of the resulting table. Defaults to the built-in version, with `+overrides`
   * appended when overrides are given, so spans show that custom prices were in force.
   */
  version?: string;
  /** How many distinct model names to remember (resolutions and warnings). Defaults to 1000. */
  maxModelNames?: number;
  /** Where the one-per-model "unknown model" warning goes. Defaults to `diag.warn`. */
  warn?: (message: string) => void;
}

// Suffixes that name a snapshot of a model rather than a different model; each pass strips one
// (`anthropic.claude-3-haiku-20240307-v1:0` → `…-20240307` → `claude-3-haiku`). `-preview` and
// `-exp` are NOT stripped: previews are often priced differently from the model they precede.
// Snapshots priced unlike their base (`gpt-4o-2024-05-13`, `gpt-4-1106-preview`) are listed by
// their full name in the table, and an exact match always wins.
const SNAPSHOT_SUFFIXES: readonly RegExp[] = [
  /-latest$/,
  /[-@]\d{4}-\d{2}-\d{2}$/, // gpt-4o-2024-08-06
  /[-@]\d{8}$/, // claude-3-5-sonnet-20241022, claude-3-5-sonnet@20240620 (Vertex)
  /(-preview)-\d{2}-\d{2}$/, // gemini-2.5-pro-preview-05-06 → gemini-2.5-pro-preview
  /-\d{4}$/, // gpt-4-0613, mistral-large-2411
  /-\d{3}$/, // gemini-1.5-pro-002
  /-v\d+(?::\d+)?$/, // Bedrock's `-v1:0`
];

// Routing prefixes that do not change the model: `openai/gpt-4o`, `models/gemini-1.5-pro`,
// `anthropic.claude-3-haiku`, `us.anthropic.claude-3-haiku` (Bedrock, cross-region).
const PREFIX = /^(?:[a-z0-9_.-]+\/)+|^(?:(?:us|eu|apac|global)\.)?(?:anthropic|mistral)\./;

const DEFAULT_MAX_MODEL_NAMES = 1000;

/**
 * Builds a price table. Lookups are precomputed at construction; resolutions of names seen at run
 * time are cached in a map bounded by `maxModelNames`.
 *
 * @example
 * const prices = createPriceTable({ overrides: { 'my-finetune': { input: 3, output: 12 } } });
 * prices.cost('gpt-4o-mini', { inputTokens: 1200, outputTokens: 300, cacheReadInputTokens: 1024 });
 */
export function createPriceTable(options: PriceTableOptions = {}): PriceTable {
  const maxNames = options.maxModelNames ?? DEFAULT_MAX_MODEL_NAMES;
  if (!Number.isInteger(maxNames) || maxNames < 1) {
    throw new RangeError(
      `createPriceTable: maxModelNames must be a positive integer, got ${String(maxNames)}`,
    );
  }
  const warn = options.warn ?? ((message: string) => diag.warn(message));
  const base = options.base ?? PRICES;
  const overrides = options.overrides;
  const version =
    options.version ??
    (overrides && Object.keys(overrides).length > 0
      ? `${PRICES_VERSION}+overrides`
      : PRICES_VERSION);

  const byName = new Map<string, ModelPrice>();
  for (const [name, price] of Object.entries(base))
    byName.set(normalize(name), freezePrice(name, price));
  if (overrides) {
    for (const [name, price] of Object.entries(overrides)) {
      byName.set(normalize(name), freezePrice(name, price));
    }
  }

  // name as given → resolved key (or null when unknown); bounded, oldest entry evicted first.
  const resolved = new Map<string, string | null>();
  const warned = new Set<string>();

  function resolve(model: string): string | undefined {
    // A response without a model name (some OpenAI-compatible servers) is simply unpriced.
    if (typeof model !== 'string') return undefined;
    const hit = resolved.get(model);
    if (hit !== undefined) return hit ?? undefined;
    const key = lookup(byName, model);
    if (resolved.size >= maxNames) {
      const oldest = resolved.keys().next();
      if (!oldest.done) resolved.delete(oldest.value);
    }
    resolved.set(model, key ?? null);
    if (key === undefined && !warned.has(model) && warned.size < maxNames) {
      warned.add(model);
      warn(
        `@switchyard/instrumentation: no price for model "${model}" (price table ${version}); ` +
          'its calls get no cost attribute. Add it with createPriceTable({ overrides }).',
      );
    }
    return key;
  }

  function price(model: string): ModelPrice | undefined {
    const key = resolve(model);
    return key === undefined ? undefined : byName.get(key);
  }

  function cost(model: string, usage: TokenUsage): CostBreakdown | undefined {
    const p = price(model);
    if (p === undefined) return undefined;
    return computeCost(p, usage);
  }

  return Object.freeze({ version, cost, price, resolve });
}

/** Cost of `usage` at price `p`; exported for callers that already hold a price. */
export function computeCost(p: ModelPrice, usage: TokenUsage): CostBreakdown {
  const inputTokens = nonNegative(usage.inputTokens);
  const outputTokens = nonNegative(usage.outputTokens);
  const cached = Math.min(nonNegative(usage.cacheReadInputTokens ?? 0), inputTokens);
  const tier =
    p.longContext !== undefined && inputTokens > p.longContext.aboveInputTokens ? p.longContext : p;
  const inputUsd = ((inputTokens - cached) * tier.input) / 1e6;
  const cacheReadUsd = (cached * (tier.cachedInput ?? tier.input)) / 1e6;
  const outputUsd = (outputTokens * tier.output) / 1e6;
  return { totalUsd: inputUsd + cacheReadUsd + outputUsd, inputUsd, outputUsd, cacheReadUsd };
}

function lookup(byName: ReadonlyMap<string, ModelPrice>, model: string): string | undefined {
  let name = normalize(model);
  if (byName.has(name)) return name;
  const unprefixed = name.replace(PREFIX, '');
  if (unprefixed !== name) {
    name = unprefixed;
    if (byName.has(name)) return name;
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const suffix of SNAPSHOT_SUFFIXES) {
      const stripped = name.replace(suffix, keepGroup);
      if (stripped !== name && stripped.length > 0) {
        name = stripped;
        if (byName.has(name)) return name;
        changed = true;
        break;
      }
    }
  }
  return undefined;
}

// Replacer keeping the first capture group if the pattern has one (`-preview` above), else nothing.
function keepGroup(_match: string, group: unknown): string {
  return typeof group === 'string' ? group : '';
}

function normalize(model: string): string {
  return model.trim().toLowerCase();
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function freezePrice(name: string, price: ModelPrice): ModelPrice {
  const check = (field: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(
        `price table: "${name}".${field} must be a non-negative number of USD per million tokens, got ${String(value)}`,
      );
    }
  };
  check('input', price.input);
  check('output', price.output);
  check('cachedInput', price.cachedInput);
  if (price.longContext) {
    check('longContext.aboveInputTokens', price.longContext.aboveInputTokens);
    check('longContext.input', price.longContext.input);
    check('longContext.output', price.longContext.output);
    check('longContext.cachedInput', price.longContext.cachedInput);
  }
  return Object.freeze({
    input: price.input,
    output: price.output,
    ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput } : {}),
    ...(price.longContext !== undefined
      ? { longContext: Object.freeze({ ...price.longContext }) }
      : {}),
  });
}

/** The built-in table (see `prices.ts` for sources and dates). */
export const defaultPriceTable: PriceTable = createPriceTable();
