import { describe, expect, it } from 'vitest';
import { cacheDecision, isDeterministic, parseCacheMode } from '../src/cache/cache-policy.js';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('cacheDecision', () => {
  it('by default stores only deterministic requests', () => {
    expect(cacheDecision(chat({ temperature: 0 }), undefined, undefined, 'default')).toBe('store');
    expect(cacheDecision(chat({ seed: 42 }), undefined, undefined, 'default')).toBe('store');
    expect(
      cacheDecision(chat({ temperature: 0.7, seed: 1 }), undefined, undefined, 'default'),
    ).toBe('store');
    expect(cacheDecision(chat(), undefined, undefined, 'default')).toBe('bypass');
    expect(cacheDecision(chat({ temperature: 0.7 }), undefined, undefined, 'default')).toBe(
      'bypass',
    );
    expect(cacheDecision(chat({ seed: 1.5 }), undefined, undefined, 'default')).toBe('bypass');
    expect(cacheDecision(chat({ seed: '1' }), undefined, undefined, 'default')).toBe('bypass');
  });

  it('treats embeddings as deterministic', () => {
    expect(cacheDecision({ model: 'e', input: 'x' }, undefined, undefined, 'default')).toBe(
      'store',
    );
  });

  it('caches n > 1 like any other request', () => {
    expect(cacheDecision(chat({ n: 3, temperature: 0 }), undefined, undefined, 'default')).toBe(
      'store',
    );
    expect(cacheDecision(chat({ n: 3, temperature: 1 }), undefined, undefined, 'default')).toBe(
      'bypass',
    );
  });

  it('lets the request header beat the rule and the rule beat the default', () => {
    const random = chat({ temperature: 1 });
    const fixed = chat({ temperature: 0 });
    expect(cacheDecision(random, 'force', 'no-store', 'no-store')).toBe('store');
    expect(cacheDecision(fixed, 'no-store', 'force', 'force')).toBe('bypass');
    expect(cacheDecision(random, undefined, 'force', 'no-store')).toBe('store');
    expect(cacheDecision(fixed, undefined, 'no-store', 'force')).toBe('bypass');
    expect(cacheDecision(random, undefined, undefined, 'force')).toBe('store');
    expect(cacheDecision(fixed, undefined, undefined, 'no-store')).toBe('bypass');
  });

  it("treats 'default' at a level as no opinion", () => {
    expect(cacheDecision(chat({ temperature: 1 }), 'default', 'force', 'no-store')).toBe('store');
    expect(cacheDecision(chat({ temperature: 0 }), 'default', 'default', 'no-store')).toBe(
      'bypass',
    );
    expect(cacheDecision(chat({ temperature: 0 }), 'default', 'default', 'default')).toBe('store');
  });
});

describe('isDeterministic / parseCacheMode', () => {
  it('reads temperature and seed', () => {
    expect(isDeterministic(chat({ temperature: 0 }))).toBe(true);
    expect(isDeterministic(chat({ temperature: 0.01 }))).toBe(false);
  });

  it('parses the header', () => {
    expect(parseCacheMode(undefined)).toBeUndefined();
    expect(parseCacheMode(' Force ')).toBe('force');
    expect(parseCacheMode('no-store')).toBe('no-store');
    expect(parseCacheMode('default')).toBe('default');
    expect(parseCacheMode('always')).toBeNull();
  });
});
