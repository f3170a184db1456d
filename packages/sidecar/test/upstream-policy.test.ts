import { describe, expect, it } from 'vitest';
import { Cancellation } from '../src/upstream/cancellation.js';
import { CircuitBreaker, CircuitBreakers } from '../src/upstream/circuit-breaker.js';
import { ProviderRegistry } from '../src/upstream/provider-registry.js';
import { backoffDelay, isRetryableStatus, retryAfterMs } from '../src/upstream/retry-policy.js';

describe('retry policy', () => {
  it('retries 429 and 5xx only', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false);
  });

  it('draws full-jitter exponential delays under the cap', () => {
    expect(backoffDelay(0, 250, 8000, () => 0.999)).toBe(249);
    expect(backoffDelay(3, 250, 8000, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, 250, 8000, () => 0.5)).toBe(4000);
    expect(backoffDelay(2, 250, 8000, () => 0)).toBe(0);
  });

  it('reads retry-after-ms, Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after-ms': '150', 'retry-after': '9' }, now)).toBe(150);
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, lets one trial through after the cooldown, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100, now: () => now });
    b.onFailure();
    b.onSuccess(); // resets the count
    b.onFailure();
    expect(b.state).toBe('closed');
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 100;
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // only one trial at a time
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('reopens when the trial fails, and frees the trial slot on release', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10, now: () => now });
    b.onFailure();
    now = 10;
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    now = 20;
    expect(b.tryAcquire()).toBe(true);
    b.onRelease();
    expect(b.tryAcquire()).toBe(true);
  });

  it('keeps one breaker per key, bounded', () => {
    const all = new CircuitBreakers({ failureThreshold: 1, cooldownMs: 10, now: () => 0 }, 2);
    all.get('a').onFailure();
    expect(all.get('a').state).toBe('open');
    expect(all.get('b').state).toBe('closed');
    all.get('c');
    expect(Object.keys(all.states())).toEqual(['b', 'c']);
  });
});

describe('cancellation', () => {
  it('runs listeners once, at once when already cancelled, and not after removal', () => {
    const c = new Cancellation();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    c.onCancel(() => calls.push('a'));
    c.onCancel(removed);
    c.offCancel(removed);
    c.onCancel(() => {
      throw new Error('listener bug');
    });
    c.onCancel(() => calls.push('b'));
    c.cancel();
    c.cancel();
    c.onCancel(() => calls.push('late'));
    expect(calls).toEqual(['a', 'b', 'late']);
    expect(c.cancelled).toBe(true);
  });
});

describe('provider registry', () => {
  it('maps models to the first provider listing them and everything else to the default upstream', () => {
    const reg = new ProviderRegistry({
      upstreamUrl: 'https://api.openai.com/v1',
      providers: [
        {
          name: 'groq',
          baseURL: 'https://api.groq.com/openai/v1',
          models: ['llama', 'mixtral'],
          apiKey: 'k',
        },
        { name: 'local', baseURL: 'http://[::1]:8000/v1', models: ['mixtral', 'qwen'] },
      ],
      maxSockets: 8,
    });
    try {
      expect(reg.resolve('gpt-4o')).toMatchObject({
        name: 'default',
        hostname: 'api.openai.com',
        port: 443,
        basePath: '/v1',
        protocol: 'https:',
      });
      expect(reg.resolve('mixtral')).toMatchObject({
        name: 'groq',
        apiKey: 'k',
        hostHeader: 'api.groq.com',
      });
      expect(reg.resolve('qwen')).toMatchObject({ name: 'local', hostname: '::1', port: 8000 });
      expect(reg.listedModels()).toEqual(['llama', 'mixtral', 'qwen']);
      // Providers on the same host share one keep-alive pool.
      expect(reg.resolve('gpt-4o').agent).not.toBe(reg.resolve('llama').agent);
    } finally {
      reg.close();
    }
  });
});
