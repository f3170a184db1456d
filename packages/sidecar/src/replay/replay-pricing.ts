/**
 * What a replayed call costs: the row's recorded `cost_usd` when present, else its tokens priced
 * with Switchyard's price table (`@switchyard/instrumentation/pricing`) plus any overrides.
 *
 * The RouteLLM models are older than the built-in table's coverage, so the replay carries
 * fallback prices for them, used only when the table has no price of its own:
 * - `gpt-4-1106-preview`: $10 input / $30 output per million tokens, OpenAI's published price
 *   for GPT-4 Turbo preview (openai.com/api/pricing, legacy models).
 * - `mistralai/Mixtral-8x7B-Instruct-v0.1`: $0.24 per million tokens either way, the price the
 *   RouteLLM paper uses for Mixtral (its README: "Mixtral about $0.24").
 */
import {
  createPriceTable,
  defaultPriceTable,
  type ModelPrice,
  type PriceTable,
} from '@switchyard/instrumentation/pricing';
import type { ReplayRow } from './replay-dataset.js';

/** Prices the replay uses when the price table has none for a dataset model. */
export const REPLAY_FALLBACK_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'gpt-4-1106-preview': { input: 10, output: 30 },
  'mistralai/Mixtral-8x7B-Instruct-v0.1': { input: 0.24, output: 0.24 },
});

/** Where a model's price came from, for the report. */
export type PriceOrigin = 'override' | 'price-table' | 'replay-fallback' | 'row-cost-only';

export interface ModelPriceInfo {
  readonly model: string;
  readonly price?: ModelPrice;
  readonly origin: PriceOrigin;
}

export interface ReplayPricing {
  readonly table: PriceTable;
  /** USD of serving `row` with `model`; throws when neither the row nor the table prices it. */
  cost(row: ReplayRow, model: string): number;
  /** Per model: the price used and where it came from. */
  describe(models: readonly string[]): ModelPriceInfo[];
}

/**
 * Builds the replay's pricing. `overrides` (from `--price MODEL=IN/OUT`) win over the table.
 *
 * @example createReplayPricing({ overrides: { 'my-model': { input: 1, output: 2 } } }).cost(row, 'my-model')
 */
export function createReplayPricing(
  options: { overrides?: Readonly<Record<string, ModelPrice>>; base?: PriceTable } = {},
): ReplayPricing {
  const base = options.base ?? defaultPriceTable;
  const overrides = options.overrides ?? {};
  const fallbacks: Record<string, ModelPrice> = {};
  for (const [model, price] of Object.entries(REPLAY_FALLBACK_PRICES)) {
    if (base.price(model) === undefined && overrides[model] === undefined) {
      fallbacks[model] = price;
    }
  }
  const table = createPriceTable({
    overrides: { ...fallbacks, ...overrides },
    warn: () => {},
  });

  function cost(row: ReplayRow, model: string): number {
    const outcome = row.outcomes[model];
    if (!outcome) throw new Error(`row ${row.id} has no outcome for model "${model}"`);
    if (outcome.costUsd !== undefined) return outcome.costUsd;
    const c = table.cost(model, {
      inputTokens: outcome.inputTokens,
      outputTokens: outcome.outputTokens,
    });
    if (c === undefined) {
      throw new Error(
        `no price for model "${model}" (row ${row.id} has no cost_usd); ` +
          `pass --price "${model}=INPUT/OUTPUT" in USD per million tokens`,
      );
    }
    return c.totalUsd;
  }

  function describe(models: readonly string[]): ModelPriceInfo[] {
    return models.map((model) => {
      const price = table.price(model);
      if (!price) return { model, origin: 'row-cost-only' };
      const origin: PriceOrigin = isOverride(overrides, model)
        ? 'override'
        : fallbacks[model] !== undefined
          ? 'replay-fallback'
          : 'price-table';
      return { model, price, origin };
    });
  }

  return { table, cost, describe };
}

function isOverride(overrides: Readonly<Record<string, ModelPrice>>, model: string): boolean {
  const lower = model.toLowerCase();
  return Object.keys(overrides).some((k) => k.toLowerCase() === lower);
}

/**
 * Parses `--price` values: `MODEL=IN/OUT` (USD per million input/output tokens), several
 * separated by commas.
 *
 * @example parsePriceOverrides('gpt-4o=2.5/10,my-model=1/1')
 */
export function parsePriceOverrides(spec: string): Record<string, ModelPrice> {
  const out: Record<string, ModelPrice> = {};
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.lastIndexOf('=');
    const model = eq > 0 ? item.slice(0, eq) : '';
    const [inp, outp, ...rest] = (eq > 0 ? item.slice(eq + 1) : '').split('/');
    const input = Number(inp);
    const output = Number(outp);
    if (
      !model ||
      rest.length ||
      !Number.isFinite(input) ||
      !Number.isFinite(output) ||
      input < 0 ||
      output < 0 ||
      inp === '' ||
      outp === '' ||
      outp === undefined
    ) {
      throw new Error(
        `--price "${item}": expected MODEL=INPUT/OUTPUT in USD per million tokens, e.g. gpt-4o=2.5/10`,
      );
    }
    out[model] = { input, output };
  }
  return out;
}
