import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import {
  type FakeUpstream,
  startFakeUpstream,
  startTestSidecar,
  writeStream,
} from './proxy-fixtures.js';

const RULES = { rules: [{ id: 'to-mini', match: { task: 'cheap' }, targetModel: 'gpt-4o-mini' }] };
const ask = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };

function fail(status: number, headers: Record<string, string> = {}) {
  return (res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({
        error: { message: `failure ${status}`, type: 'server_error', param: null, code: null },
      }),
    );
  };
}

describe('upstream faults: retries, fallback, breaker, aborts', () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar | undefined;
  const sleeps: number[] = [];

  async function setup(extraEnv: Record<string, string> = {}, clock?: () => number) {
    upstream = await startFakeUpstream();
    sleeps.length = 0;
    sidecar = await startTestSidecar(upstream, {
      file: RULES,
      extraEnv,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      retryRandom: () => 0.5,
      ...(clock !== undefined ? { clock } : {}),
    });
    return new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-x', maxRetries: 0 });
  }

  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream.close();
  });

  it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
    const client = await setup();
    let n = 0;
    upstream.behavior = (_rec, res) => {
      if (++n === 1) {
        fail(429, { 'retry-after': '2' })(res);
        return true;
      }
      return false;
    };
    const r = await client.chat.completions.create(ask);
    expect(r.choices[0]?.message.content).toBe('answer from gpt-4o');
    expect(upstream.requests).toHaveLength(2);
    expect(sleeps).toEqual([2000]);
  });

  it('retries 500s with full-jitter exponential backoff and gives the last answer when they run out', async () => {
    const client = await setup({
      SWITCHYARD_MAX_RETRIES: '2',
      SWITCHYARD_RETRY_BASE_DELAY_MS: '100',
    });
    upstream.behavior = (_rec, res) => {
      fail(500)(res);
      return true;
    };
    const err = await client.chat.completions.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(upstream.requests).toHaveLength(3);
    // random() = 0.5 → half of 100·2^0 and 100·2^1
    expect(sleeps).toEqual([50, 100]);
  });

  it('does not wait for a Retry-After beyond the bound: the 429 goes back to the client', async () => {
    const client = await setup({ SWITCHYARD_MAX_RETRY_AFTER_MS: '1000' });
    upstream.behavior = (_rec, res) => {
      fail(429, { 'retry-after': '30' })(res);
      return true;
    };
    const err = await client.chat.completions.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe(
      '30',
    );
    expect(upstream.requests).toHaveLength(1);
  });

  it('does not retry a 400', async () => {
    const client = await setup();
    upstream.behavior = (_rec, res) => {
      fail(400)(res);
      return true;
    };
    await expect(client.chat.completions.create(ask)).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    expect(upstream.requests).toHaveLength(1);
  });

  it('falls back to the requested model when the routed model keeps failing', async () => {
    const client = await setup({ SWITCHYARD_MAX_RETRIES: '1' });
    upstream.behavior = (rec, res) => {
      if (rec.body?.model === 'gpt-4o-mini') {
        fail(503)(res);
        return true;
      }
      return false;
    };
    const { data, response } = await client.chat.completions
      .create(ask, { headers: { 'x-switchyard-task': 'cheap' } })
      .withResponse();
    expect(upstream.requests.map((r) => r.body?.model)).toEqual([
      'gpt-4o-mini',
      'gpt-4o-mini',
      'gpt-4o',
    ]);
    expect(data.model).toBe('gpt-4o');
    expect(response.headers.get('x-switchyard-route-reason')).toBe('fallback');
    expect(response.headers.get('x-switchyard-model')).toBe('gpt-4o');
    expect(response.headers.get('x-switchyard-rule')).toBe('to-mini');
  });

  it('falls back when the routed model does not exist (404), and for streams before the first byte', async () => {
    const client = await setup();
    upstream.behavior = (rec, res) => {
      if (rec.body?.model === 'gpt-4o-mini') {
        fail(404)(res);
        return true;
      }
      return false;
    };
    const stream = await client.chat.completions.create(
      { ...ask, stream: true },
      { headers: { 'x-switchyard-task': 'cheap' } },
    );
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from gpt-4o');
  });

  it('does not fall back on the requested model itself', async () => {
    const client = await setup({ SWITCHYARD_MAX_RETRIES: '0' });
    upstream.behavior = (_rec, res) => {
      fail(503)(res);
      return true;
    };
    await expect(client.chat.completions.create(ask)).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(upstream.requests).toHaveLength(1);
  });

  it('opens the breaker after consecutive failures, refuses during cooldown, and closes after a good trial', async () => {
    let now = 0;
    const client = await setup(
      {
        SWITCHYARD_MAX_RETRIES: '0',
        SWITCHYARD_BREAKER_THRESHOLD: '3',
        SWITCHYARD_BREAKER_COOLDOWN_MS: '10000',
      },
      () => now,
    );
    let healthy = false;
    upstream.behavior = (_rec, res) => {
      if (healthy) return false;
      fail(500)(res);
      return true;
    };
    for (let i = 0; i < 3; i++)
      await expect(client.chat.completions.create(ask)).rejects.toBeInstanceOf(
        OpenAI.InternalServerError,
      );
    expect(upstream.requests).toHaveLength(3);
    const refused = await client.chat.completions.create(ask).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('circuit_open');
    expect(upstream.requests).toHaveLength(3);
    // Another model is unaffected.
    healthy = true;
    await client.chat.completions.create({ ...ask, model: 'gpt-4.1' });
    now = 10_001;
    const r = await client.chat.completions.create(ask);
    expect(r.model).toBe('gpt-4o');
    await client.chat.completions.create(ask);
    expect(upstream.requests).toHaveLength(6);
  });

  it('an open breaker on the routed model sends traffic to the requested model', async () => {
    const client = await setup({ SWITCHYARD_MAX_RETRIES: '0', SWITCHYARD_BREAKER_THRESHOLD: '1' });
    upstream.behavior = (rec, res) => {
      if (rec.body?.model === 'gpt-4o-mini') {
        fail(500)(res);
        return true;
      }
      return false;
    };
    const opts = { headers: { 'x-switchyard-task': 'cheap' } };
    await client.chat.completions.create(ask, opts); // mini fails once → breaker open, fallback
    const before = upstream.requests.length;
    const { response } = await client.chat.completions.create(ask, opts).withResponse();
    expect(response.headers.get('x-switchyard-route-reason')).toBe('fallback');
    // Only the requested model was called: the open breaker kept the mini call from happening.
    expect(upstream.requests.slice(before).map((r) => r.body?.model)).toEqual(['gpt-4o']);
  });

  it('a client that disconnects cancels its upstream call (non-stream and stream)', async () => {
    const client = await setup();
    const upstreamClosed: string[] = [];
    upstream.behavior = (rec, res, req) => {
      req.socket.once('close', () =>
        upstreamClosed.push(String(rec.body?.stream === true ? 'stream' : 'json')),
      );
      if (rec.body?.stream === true) {
        void writeStream(
          res,
          'gpt-4o',
          Array.from({ length: 100 }, (_, i) => `p${i}`),
          20,
        );
      }
      // the JSON request is left hanging: only an abort ends it
      return true;
    };
    const controller = new AbortController();
    const pending = client.chat.completions
      .create(ask, { signal: controller.signal })
      .catch((e: unknown) => e);
    await waitFor(() => upstream.requests.length === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await waitFor(() => upstreamClosed.includes('json'));

    const streamController = new AbortController();
    const stream = await client.chat.completions.create(
      { ...ask, stream: true },
      { signal: streamController.signal },
    );
    let got = 0;
    try {
      for await (const _ of stream) {
        if (++got === 3) streamController.abort();
      }
    } catch {
      // the SDK raises an abort error
    }
    await waitFor(() => upstreamClosed.includes('stream'));
    expect(got).toBeLessThan(20);
    const metrics = await (await fetch(`${sidecar?.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_inflight_requests 0/);
  });

  it('times out an upstream that never answers (502 upstream_timeout) and one whose stream stalls', async () => {
    const client = await setup({
      SWITCHYARD_MAX_RETRIES: '0',
      SWITCHYARD_UPSTREAM_TIMEOUT_MS: '100',
      SWITCHYARD_STREAM_IDLE_TIMEOUT_MS: '100',
    });
    const hung: Array<import('node:http').ServerResponse> = [];
    upstream.behavior = (rec, res) => {
      if (rec.body?.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] })}\n\n`,
        );
      }
      hung.push(res); // and then nothing more
      return true;
    };
    const err = await client.chat.completions.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_timeout');

    const stream = await client.chat.completions.create({ ...ask, stream: true });
    const words: string[] = [];
    const outcome = await (async () => {
      for await (const c of stream) words.push(c.choices[0]?.delta?.content ?? '');
      return 'completed';
    })().catch(() => 'broken');
    // The stalled stream is cut, so the client sees an error instead of waiting forever or
    // taking the partial answer for a complete one.
    expect(words).toEqual(['partial']);
    expect(outcome).toBe('broken');
    for (const r of hung) r.destroy();
  });

  it('passes each chunk on before the upstream sends the next one (no buffering)', async () => {
    const client = await setup();
    // The upstream sends a chunk only after the client has received the previous one, so the
    // stream can only complete if the proxy forwards chunk by chunk.
    let release: (() => void) | undefined;
    upstream.behavior = async (_rec, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const word of ['one', 'two', 'three']) {
        const seen = new Promise<void>((r) => {
          release = r;
        });
        res.write(
          `data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`,
        );
        await seen;
      }
      res.end('data: [DONE]\n\n');
      return true;
    };
    const stream = await client.chat.completions.create({ ...ask, stream: true });
    const words: string[] = [];
    for await (const c of stream) {
      const w = c.choices[0]?.delta?.content;
      if (w) {
        words.push(w);
        release?.();
      }
    }
    expect(words).toEqual(['one', 'two', 'three']);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
