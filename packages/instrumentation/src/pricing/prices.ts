import type { ModelPrice } from './price-table.js';

/** Version of the built-in price data: the date the prices below were last checked. */
export const PRICES_VERSION = '2026-11-25';

/** Where a group of prices was read, and when. */
export interface PriceSource {
  readonly url: string;
  /** The date the page was read (or the page's own date when it states one). */
  readonly date: string;
}

const openaiPricing: PriceSource = {
  url: 'https://openai.com/api/pricing/',
  date: '2026-11-25',
};

/**
 * Built-in prices, USD per million tokens. Keys are lower-case model names; dated snapshots
 * resolve to these keys unless listed themselves. A model whose price could not be sourced is
 * left out: an unknown model gets no cost, never a guess.
 */
export const PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
});

/** The source of each built-in price, by the same keys as {@link PRICES}. */
export const PRICE_SOURCES: Readonly<Record<string, PriceSource>> = Object.freeze({
  'gpt-4o': openaiPricing,
  'gpt-4o-mini': openaiPricing,
});
