/**
 * The slice of `@switchyard/instrumentation/pricing`'s `PriceTable` the learner needs: the cost of
 * a call on a model. Typed structurally so the learner can be tested with a small table and the
 * real `defaultPriceTable` fits as is.
 */
export interface ModelPrices {
  /** USD for the tokens on `model`, or `undefined` when the model has no known price. */
  cost(
    model: string,
    usage: { inputTokens: number; outputTokens: number },
  ): { readonly totalUsd: number } | undefined;
}

/**
 * A price table from plain per-million-token prices, for tests and for operators without the
 * instrumentation package.
 * @example pricesFromTable({ 'gpt-4o': { input: 2.5, output: 10 } })
 */
export function pricesFromTable(
  table: Readonly<Record<string, { readonly input: number; readonly output: number }>>,
): ModelPrices {
  return {
    cost(model, usage) {
      const p = table[model];
      if (p === undefined) return undefined;
      return { totalUsd: (usage.inputTokens * p.input + usage.outputTokens * p.output) / 1e6 };
    },
  };
}
