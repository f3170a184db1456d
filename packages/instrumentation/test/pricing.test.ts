import { describe, expect, it } from 'vitest';
import {
  computeCost,
  createPriceTable,
  defaultPriceTable,
  PRICE_SOURCES,
  PRICES,
  PRICES_VERSION,
} from '../src/pricing/index.js';

function collectWarnings() {
  const messages: string[] = [];
  return { messages, warn: (m: string) => messages.push(m) };
}

describe('price resolution', () => {
  const table = createPriceTable({ warn: () => {} });

  it.each([
    ['gpt-4o', 'gpt-4o'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['GPT-4O', 'gpt-4o'],
    ['openai/gpt-4.1-mini', 'gpt-4.1-mini'],
    ['gpt-4-0613', 'gpt-4'],
    ['gpt-4-1106-preview', 'gpt-4-1106-preview'],
    ['gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
    ['gpt-3.5-turbo-1106', 'gpt-3.5-turbo-1106'],
    ['o1-2024-12-17', 'o1'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet@20240620', 'claude-3-5-sonnet'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['us.anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['gemini-1.5-pro-002', 'gemini-1.5-pro'],
    ['models/gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['mistral-large-latest', 'mistral-large'],
    ['mistral-large-2411', 'mistral-large'],
    ['mistralai/Mixtral-8x7B-Instruct-v0.1', 'mixtral-8x7b-instruct-v0.1'],
    ['mixtral-8x7b-instruct', 'mixtral-8x7b-instruct'],
    ['text-embedding-3-small', 'text-embedding-3-small'],
  ])('%s resolves to %s', (model, key) => {
    expect(table.resolve(model)).toBe(key);
    expect(table.price(model)).toEqual(PRICES[key]);
  });

  it.each([
    'gpt-4-32k-0314-foo',
    'my-finetune',
    'gemini-2.5-flash-preview-05-20', // a preview is priced on its own, never as the GA model
    'gemini-2.0-flash-exp',
    'claude-opus-9',
    '',
  ])('%s has no price (never a guess)', (model) => {
    expect(table.resolve(model)).toBeUndefined();
    expect(table.price(model)).toBeUndefined();
    expect(table.cost(model, { inputTokens: 10, outputTokens: 10 })).toBeUndefined();
  });

  it('prices nothing, silently, when the model name is missing', () => {
    const { messages, warn } = collectWarnings();
    const quiet = createPriceTable({ warn });
    expect(quiet.cost(undefined as unknown as string, { inputTokens: 1, outputTokens: 1 })).toBe(
      undefined,
    );
    expect(messages).toHaveLength(0);
  });

  it('has a source with a URL and a date for every built-in price', () => {
    for (const key of Object.keys(PRICES)) {
      const source = PRICE_SOURCES[key];
      expect(source, key).toBeDefined();
      expect(source?.url).toMatch(/^https:\/\//);
      expect(source?.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('covers the models the replay benchmark and the issue name', () => {
    for (const model of [
      'gpt-4-1106-preview',
      'mistralai/Mixtral-8x7B-Instruct-v0.1',
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
      'o1',
      'o3',
      'o4-mini',
      'gpt-4-turbo',
      'gpt-4',
      'gpt-3.5-turbo',
      'gpt-5',
      'gpt-5-mini',
      'text-embedding-3-large',
      'text-embedding-ada-002',
      'claude-3-opus-20240229',
      'claude-3-7-sonnet-20250219',
      'claude-sonnet-4-5',
      'gemini-2.5-pro',
      'gemini-1.5-flash',
      'mistral-small-latest',
      'open-mixtral-8x7b',
    ]) {
      expect(defaultPriceTable.price(model), model).toBeDefined();
    }
  });

  it('freezes the table so a caller cannot change prices by accident', () => {
    expect(Object.isFrozen(PRICES)).toBe(true);
    expect(Object.isFrozen(PRICES['gpt-4o'])).toBe(true);
    expect(Object.isFrozen(table.price('gpt-4o'))).toBe(true);
  });
});

describe('unknown models', () => {
  it('warns exactly once per unknown model name and never for known ones', () => {
    const { messages, warn } = collectWarnings();
    const table = createPriceTable({ warn });
    for (let i = 0; i < 5; i++) {
      table.cost('my-finetune', { inputTokens: 1, outputTokens: 1 });
      table.cost('gpt-4o-2024-08-06', { inputTokens: 1, outputTokens: 1 });
    }
    table.price('other-unknown');
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('"my-finetune"');
    expect(messages[0]).toContain('overrides');
    expect(messages[1]).toContain('"other-unknown"');
  });

  it('keeps the remembered names bounded and stays silent once the bound is reached', () => {
    const { messages, warn } = collectWarnings();
    const table = createPriceTable({ warn, maxModelNames: 3 });
    for (let i = 0; i < 10; i++) table.price(`unknown-${i}`);
    expect(messages).toHaveLength(3);
    // Resolution still works for known names after many unknown ones were evicted.
    expect(table.resolve('gpt-4o-2024-11-20')).toBe('gpt-4o');
    table.price('unknown-0');
    expect(messages).toHaveLength(3);
  });

  it('rejects a bad bound with a message naming the option', () => {
    expect(() => createPriceTable({ maxModelNames: 0 })).toThrow(/maxModelNames/);
  });
});

describe('overrides', () => {
  it('extends the table and changes its version', () => {
    const table = createPriceTable({
      overrides: { 'My-Finetune': { input: 3, output: 12 } },
      warn: () => {},
    });
    expect(table.version).toBe(`${PRICES_VERSION}+overrides`);
    expect(table.cost('my-finetune', { inputTokens: 1_000_000, outputTokens: 500_000 })).toEqual({
      totalUsd: 9,
      inputUsd: 3,
      outputUsd: 6,
      cacheReadUsd: 0,
    });
  });

  it('replaces a built-in price, and dated names of that model follow it', () => {
    const table = createPriceTable({
      overrides: { 'gpt-4o': { input: 1, output: 2, cachedInput: 0.5 } },
      version: 'contract-2026',
    });
    expect(table.version).toBe('contract-2026');
    expect(table.price('gpt-4o-2024-08-06')).toEqual({ input: 1, output: 2, cachedInput: 0.5 });
    expect(defaultPriceTable.price('gpt-4o')?.input).toBe(2.5);
  });

  it('can start from an empty base', () => {
    const table = createPriceTable({ base: {}, overrides: { a: { input: 1, output: 1 } } });
    expect(table.price('gpt-4o')).toBeUndefined();
    expect(table.price('a')).toEqual({ input: 1, output: 1 });
  });

  it('rejects negative or non-numeric prices with a message naming the model and field', () => {
    expect(() => createPriceTable({ overrides: { bad: { input: -1, output: 1 } } })).toThrow(
      /"bad"\.input/,
    );
    expect(() =>
      createPriceTable({ overrides: { bad: { input: 1, output: Number.NaN } } }),
    ).toThrow(/"bad"\.output/);
  });

  it('uses the built-in version when no overrides are given', () => {
    expect(defaultPriceTable.version).toBe(PRICES_VERSION);
    expect(PRICES_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('cost arithmetic', () => {
  it('prices input and output per million tokens', () => {
    // gpt-4o: $2.50 in, $10 out.
    const cost = defaultPriceTable.cost('gpt-4o', { inputTokens: 2000, outputTokens: 500 });
    expect(cost?.inputUsd).toBeCloseTo(0.005, 12);
    expect(cost?.outputUsd).toBeCloseTo(0.005, 12);
    expect(cost?.cacheReadUsd).toBe(0);
    expect(cost?.totalUsd).toBeCloseTo(0.01, 12);
  });

  it('prices cached tokens (a part of the input tokens) at the cached price', () => {
    // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out. 1200 in of which 1024 cached.
    const cost = defaultPriceTable.cost('gpt-4o-mini', {
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadInputTokens: 1024,
    });
    expect(cost?.inputUsd).toBeCloseTo((176 * 0.15) / 1e6, 15);
    expect(cost?.cacheReadUsd).toBeCloseTo((1024 * 0.075) / 1e6, 15);
    expect(cost?.outputUsd).toBeCloseTo((300 * 0.6) / 1e6, 15);
    expect(cost?.totalUsd).toBeCloseTo((176 * 0.15 + 1024 * 0.075 + 300 * 0.6) / 1e6, 15);
  });

  it('prices cached tokens at the input price when the cached price is unknown', () => {
    const cost = computeCost(
      { input: 4, output: 8 },
      {
        inputTokens: 100,
        outputTokens: 0,
        cacheReadInputTokens: 60,
      },
    );
    expect(cost.inputUsd).toBeCloseTo((40 * 4) / 1e6, 15);
    expect(cost.cacheReadUsd).toBeCloseTo((60 * 4) / 1e6, 15);
  });

  it('never counts more cached tokens than input tokens, and ignores negative or NaN counts', () => {
    const cost = computeCost(
      { input: 1, output: 1, cachedInput: 0 },
      {
        inputTokens: 10,
        outputTokens: -5,
        cacheReadInputTokens: 50,
      },
    );
    expect(cost).toEqual({ totalUsd: 0, inputUsd: 0, outputUsd: 0, cacheReadUsd: 0 });
    const nan = computeCost(
      { input: 1, output: 1 },
      { inputTokens: Number.NaN, outputTokens: 2e6 },
    );
    expect(nan.totalUsd).toBe(2);
  });

  it('switches every token of a long-prompt call to the long-context tier', () => {
    const short = defaultPriceTable.cost('gemini-2.5-pro', {
      inputTokens: 200_000,
      outputTokens: 1_000,
    });
    const long = defaultPriceTable.cost('gemini-2.5-pro', {
      inputTokens: 200_001,
      outputTokens: 1_000,
    });
    expect(short?.inputUsd).toBeCloseTo(0.25, 12);
    expect(short?.outputUsd).toBeCloseTo(0.01, 12);
    expect(long?.inputUsd).toBeCloseTo((200_001 * 2.5) / 1e6, 12);
    expect(long?.outputUsd).toBeCloseTo(0.015, 12);
  });

  it('prices the replay benchmark pair as its sources give them', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(defaultPriceTable.cost('gpt-4-1106-preview', usage)?.totalUsd).toBeCloseTo(40, 10);
    expect(
      defaultPriceTable.cost('mistralai/Mixtral-8x7B-Instruct-v0.1', usage)?.totalUsd,
    ).toBeCloseTo(0.48, 10);
  });

  it('gives embeddings an input-only cost', () => {
    const cost = defaultPriceTable.cost('text-embedding-3-small', {
      inputTokens: 5_000_000,
      outputTokens: 0,
    });
    expect(cost?.totalUsd).toBeCloseTo(0.1, 12);
  });
});
