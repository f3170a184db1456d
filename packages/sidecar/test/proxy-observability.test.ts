import { describe, expect, it } from 'vitest';
import { baggageValue, callerContext, tenantOf } from '../src/proxy/caller-context.js';
import { looksLikeJsonObject, scanUsage } from '../src/proxy/json-answer.js';
import { StreamObserver } from '../src/proxy/stream-observer.js';
import { Counter, Histogram, PrometheusRegistry } from '../src/telemetry/prometheus-registry.js';
import { createLogger } from '../src/telemetry/request-logger.js';

describe('Prometheus exposition', () => {
  it('renders counters, gauges and cumulative histograms with escaped labels', () => {
    const reg = new PrometheusRegistry();
    const c = reg.register(new Counter('x_total', 'Things.', ['route', 'status']));
    const g = reg.register(new Counter('up', 'Up.', [], 'gauge'));
    const h = reg.register(new Histogram('lat_seconds', 'Latency.', ['route'], [0.1, 1]));
    c.inc(['/a', '200']);
    c.series(['/a', '200']).inc(2);
    c.inc(['we"ird\\', '500'], 0.5);
    g.set([], 1);
    h.observe(['/a'], 0.05);
    h.observe(['/a'], 0.5);
    h.observe(['/a'], 5);
    expect(reg.render()).toBe(
      [
        '# HELP x_total Things.',
        '# TYPE x_total counter',
        'x_total{route="/a",status="200"} 3',
        'x_total{route="we\\"ird\\\\",status="500"} 0.5',
        '# HELP up Up.',
        '# TYPE up gauge',
        'up 1',
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{route="/a",le="0.1"} 1',
        'lat_seconds_bucket{route="/a",le="1"} 2',
        'lat_seconds_bucket{route="/a",le="+Inf"} 3',
        'lat_seconds_sum{route="/a"} 5.55',
        'lat_seconds_count{route="/a"} 3',
        '',
      ].join('\n'),
    );
    expect(() => reg.register(new Counter('up', 'again'))).toThrow(/registered twice/);
  });

  it('bounds the number of series: extra label values fold into one overflow series', () => {
    const c = new Counter('m_total', 'M.', ['model']);
    for (let i = 0; i < 2500; i++) c.inc([`model-${i}`]);
    const out: string[] = [];
    c.render(out);
    expect(out.length).toBe(2 + 2001);
    expect(c.value(['__overflow__'])).toBe(500);
  });
});

describe('StreamObserver', () => {
  const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  it('finds usage, finish reasons, model and [DONE] across arbitrary chunk splits', () => {
    const text =
      frame({
        id: 'c1',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: { content: 'héllo' }, finish_reason: null }],
      }) +
      frame({
        id: 'c1',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: {}, finish_reason: 'length' }],
      }) +
      frame({
        id: 'c1',
        model: 'gpt-4o-mini',
        choices: [],
        usage: {
          prompt_tokens: 12,
          completion_tokens: 3,
          prompt_tokens_details: { cached_tokens: 8 },
        },
      }) +
      'data: [DONE]\n\n';
    const bytes = Buffer.from(text);
    for (const size of [1, 3, 7, bytes.length]) {
      const o = new StreamObserver(true);
      for (let i = 0; i < bytes.length; i += size) o.push(bytes.subarray(i, i + size));
      expect(o.model).toBe('gpt-4o-mini');
      expect(o.responseId).toBe('c1');
      expect(o.finishReasons).toEqual(['length']);
      expect(o.usage).toEqual({ inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 8 });
      expect(o.done).toBe(true);
      expect(o.transcript()).toBe(text);
    }
  });

  it('keeps no transcript unless asked, and tolerates junk lines', () => {
    const o = new StreamObserver(false);
    o.push(Buffer.from(': comment\nevent: x\ndata: {not json}\r\ndata: [DONE]\r\n'));
    expect(o.transcript()).toBe('');
    expect(o.done).toBe(true);
    expect(o.usage).toBeUndefined();
  });
});

describe('caller context', () => {
  it('prefers headers, falls back to baggage, and decodes values', () => {
    expect(
      callerContext({ 'x-switchyard-agent': 'a', baggage: 'switchyard.agent=b,switchyard.task=t' }),
    ).toEqual({ agent: 'a', task: 't' });
    expect(baggageValue('k=v, switchyard.task = draft%20two ;prop=1', 'switchyard.task')).toBe(
      'draft two',
    );
    expect(baggageValue('switchyard.task=%E0%A4%A', 'switchyard.task')).toBeUndefined();
    expect(callerContext({ 'x-switchyard-agent': 'x'.repeat(300) }).agent).toBeUndefined();
    expect(callerContext({})).toEqual({ agent: undefined, task: undefined });
  });

  it('derives the tenant from the credential, narrowed by x-switchyard-tenant', () => {
    expect(tenantOf({ authorization: 'Bearer a' })).not.toBe(
      tenantOf({ authorization: 'Bearer b' }),
    );
    // The header splits one credential's answers; it never lets another credential in.
    expect(tenantOf({ authorization: 'Bearer a', 'x-switchyard-tenant': 'acme' })).not.toBe(
      tenantOf({ authorization: 'Bearer b', 'x-switchyard-tenant': 'acme' }),
    );
    expect(tenantOf({ authorization: 'Bearer a', 'x-switchyard-tenant': 'acme' })).not.toBe(
      tenantOf({ authorization: 'Bearer a', 'x-switchyard-tenant': 'globex' }),
    );
    expect(tenantOf({ authorization: 'Bearer a', 'x-switchyard-tenant': 'acme' })).toBe(
      tenantOf({ authorization: 'Bearer a', 'x-switchyard-tenant': 'acme' }),
    );
    // A tenant header can never collide with a credential of the same text.
    expect(tenantOf({ 'x-switchyard-tenant': 'Bearer a' })).not.toBe(
      tenantOf({ authorization: 'Bearer a' }),
    );
  });
});

describe('request logger', () => {
  it('writes JSON lines batched per event-loop turn, filtered by level', async () => {
    const writes: string[] = [];
    const logger = createLogger(
      'info',
      (s) => writes.push(s),
      () => 0,
    );
    logger.request({
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      ms: 1.23456,
      model: 'm',
      cache: 'miss',
    });
    logger.log('debug', 'hidden');
    logger.log('warn', 'shown', { redis: 'redis://x' });
    expect(writes).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    const lines = (writes[0] as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'request',
        method: 'POST',
        path: '/v1/chat/completions',
        status: 200,
        ms: 1.23,
        model: 'm',
        cache: 'miss',
      },
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', msg: 'shown', redis: 'redis://x' },
    ]);
    const silent = createLogger('silent', (s) => writes.push(s));
    silent.request({ method: 'GET', path: '/', status: 200, ms: 1 });
    silent.log('error', 'x');
    silent.flush?.();
    expect(writes).toHaveLength(1);
  });
});

describe('cheap JSON answer reads', () => {
  it('accepts object-shaped JSON bodies only', () => {
    const json = 'application/json; charset=utf-8';
    expect(looksLikeJsonObject(Buffer.from(' {"a":1}\n'), json)).toBe(true);
    expect(looksLikeJsonObject(Buffer.from('{"a":1}'), 'text/html')).toBe(false);
    expect(looksLikeJsonObject(Buffer.from('{"a":1}'), undefined)).toBe(false);
    expect(looksLikeJsonObject(Buffer.from('<html></html>'), json)).toBe(false);
    expect(looksLikeJsonObject(Buffer.from('{"a":'), json)).toBe(false);
    expect(looksLikeJsonObject(Buffer.from('[1]'), json)).toBe(false);
    expect(looksLikeJsonObject(Buffer.from(''), json)).toBe(false);
  });

  it('finds the usage object from the end, including nested details and strings with braces', () => {
    const body = {
      id: 'x',
      choices: [{ message: { content: 'a "usage": {"prompt_tokens": 999} in text }' } }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 4 },
        note: 'x}{',
      },
    };
    expect(scanUsage(Buffer.from(JSON.stringify(body)))).toEqual({
      inputTokens: 12,
      outputTokens: 5,
      cacheReadInputTokens: 4,
    });
    expect(scanUsage(Buffer.from(JSON.stringify(body, null, 2)))).toEqual({
      inputTokens: 12,
      outputTokens: 5,
      cacheReadInputTokens: 4,
    });
    expect(scanUsage(Buffer.from('{"usage":{"prompt_tokens":3,"total_tokens":3}}'))).toEqual({
      inputTokens: 3,
      outputTokens: 0,
    });
    expect(scanUsage(Buffer.from('{"id":"no usage"}'))).toBeUndefined();
    expect(scanUsage(Buffer.from('{"usage":null}'))).toBeUndefined();
    expect(scanUsage(Buffer.from('{"usage":{"prompt_tokens":3'))).toBeUndefined();
  });
});
