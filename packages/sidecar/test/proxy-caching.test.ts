import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import {
  completion,
  type FakeUpstream,
  startFakeUpstream,
  startTestSidecar,
  writeStream,
} from './proxy-fixtures.js';

describe('cache integration through the proxy (memory tier, real sockets, openai SDK)', () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar;
  let client: OpenAI;
  let n = 0;
  const unique = () => `question ${++n} ${Math.random()}`;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar(upstream, {
      file: { rules: [{ id: 'to-mini', match: { task: 'cheap' }, targetModel: 'gpt-4o-mini' }] },
    });
    client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-tenant-a', maxRetries: 0 });
  });
  afterAll(async () => {
    await sidecar.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.behavior = undefined;
  });

  it('answers a deterministic repeat from memory without calling the upstream', async () => {
    const content = unique();
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content }],
    };
    const first = await client.chat.completions.create(body).withResponse();
    const before = upstream.requests.length;
    const second = await client.chat.completions.create(body).withResponse();
    expect(upstream.requests.length).toBe(before);
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(second.response.headers.get('x-switchyard-cache')).toBe('hit-memory');
    expect(second.data).toEqual(first.data);
    expect(second.response.headers.get('x-switchyard-model')).toBe('gpt-4o');
  });

  it('does not cache a request with the default temperature, unless forced', async () => {
    const content = unique();
    const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content }] };
    const a = await client.chat.completions.create(body).withResponse();
    const b = await client.chat.completions.create(body).withResponse();
    expect(a.response.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(b.response.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(b.data.id).not.toBe(a.data.id);
    const f1 = await client.chat.completions
      .create(body, { headers: { 'x-switchyard-cache': 'force' } })
      .withResponse();
    const f2 = await client.chat.completions
      .create(body, { headers: { 'x-switchyard-cache': 'force' } })
      .withResponse();
    expect(f1.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(f2.response.headers.get('x-switchyard-cache')).toBe('hit-memory');
    expect(f2.data.id).toBe(f1.data.id);
  });

  it('x-switchyard-cache: no-store skips the cache for a deterministic request', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    await client.chat.completions.create(body);
    const r = await client.chat.completions
      .create(body, { headers: { 'x-switchyard-cache': 'no-store' } })
      .withResponse();
    expect(r.response.headers.get('x-switchyard-cache')).toBe('bypass');
  });

  it('keeps tenants apart: another key never reads the first one’s answer', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    await client.chat.completions.create(body);
    const other = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-tenant-b', maxRetries: 0 });
    const r = await other.chat.completions.create(body).withResponse();
    expect(r.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('x-switchyard-tenant narrows the credential and never widens it', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    const acme = { headers: { 'x-switchyard-tenant': 'acme' } };
    await client.chat.completions.create(body, acme);
    const sameTenantSameKey = await client.chat.completions.create(body, acme).withResponse();
    expect(sameTenantSameKey.response.headers.get('x-switchyard-cache')).toBe('hit-memory');
    // Naming the tenant is not enough to read its answers: the credential must match too.
    const other = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-other-key', maxRetries: 0 });
    const sameTenantOtherKey = await other.chat.completions.create(body, acme).withResponse();
    expect(sameTenantOtherKey.response.headers.get('x-switchyard-cache')).toBe('miss');
    const otherTenantSameKey = await client.chat.completions
      .create(body, { headers: { 'x-switchyard-tenant': 'globex' } })
      .withResponse();
    expect(otherTenantSameKey.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('caches under the routed model and says which model answered', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    const opts = { headers: { 'x-switchyard-task': 'cheap' } };
    await client.chat.completions.create(body, opts);
    const hit = await client.chat.completions.create(body, opts).withResponse();
    expect(hit.response.headers.get('x-switchyard-cache')).toBe('hit-memory');
    expect(hit.response.headers.get('x-switchyard-model')).toBe('gpt-4o-mini');
    expect(hit.response.headers.get('x-switchyard-rule')).toBe('to-mini');
    expect(hit.data.model).toBe('gpt-4o-mini');
    // Without the task the request is not routed, so it must not read the mini answer.
    const unrouted = await client.chat.completions.create(body).withResponse();
    expect(unrouted.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(unrouted.data.model).toBe('gpt-4o');
  });

  it('passes a stream through and replays a stored stream as SSE the SDK parses', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      stream: true as const,
      stream_options: { include_usage: true },
      messages: [{ role: 'user' as const, content: unique() }],
    };
    const read = async () => {
      const { data: stream, response } = await client.chat.completions.create(body).withResponse();
      let text = '';
      let usage: unknown;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      return {
        text,
        usage,
        cache: response.headers.get('x-switchyard-cache'),
        type: response.headers.get('content-type'),
      };
    };
    const first = await read();
    const calls = upstream.requests.length;
    const second = await read();
    expect(first).toMatchObject({ text: 'Hello from gpt-4o', cache: 'miss' });
    expect(first.type).toMatch(/text\/event-stream/);
    expect(second).toMatchObject({ text: 'Hello from gpt-4o', cache: 'hit-memory' });
    expect(second.usage).toEqual(first.usage);
    expect(upstream.requests.length).toBe(calls);
    // A non-stream request with the same messages is a different entry.
    const plain = await client.chat.completions.create({ ...body, stream: false }).withResponse();
    expect(plain.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('coalesces N concurrent identical requests into one upstream call', async () => {
    const content = unique();
    let calls = 0;
    upstream.behavior = async (rec, res) => {
      if (rec.body?.messages === undefined) return false;
      calls++;
      await new Promise((r) => setTimeout(r, 100));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completion(String(rec.body.model), 'slow answer')));
      return true;
    };
    const body = { model: 'gpt-4o', seed: 7, messages: [{ role: 'user' as const, content }] };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => client.chat.completions.create(body).withResponse()),
    );
    expect(calls).toBe(1);
    const statuses = answers.map((a) => a.response.headers.get('x-switchyard-cache')).sort();
    expect(statuses.filter((s) => s === 'miss')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'coalesced')).toHaveLength(7);
    expect(new Set(answers.map((a) => a.data.id)).size).toBe(1);
  });

  it('coalesces concurrent identical streams: followers get the replayed transcript', async () => {
    let calls = 0;
    upstream.behavior = async (rec, res) => {
      if (rec.body?.stream !== true) return false;
      calls++;
      await writeStream(res, String(rec.body.model), ['a', 'b', 'c'], 20);
      return true;
    };
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      stream: true as const,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    const texts = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const stream = await client.chat.completions.create(body);
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        return text;
      }),
    );
    expect(calls).toBe(1);
    expect(texts).toEqual(['abc', 'abc', 'abc', 'abc']);
  });

  it('does not store error answers', async () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [{ role: 'user' as const, content: unique() }],
    };
    upstream.behavior = (_rec, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: 'nope', type: 'invalid_request_error', param: null, code: null },
        }),
      );
      return true;
    };
    await expect(client.chat.completions.create(body)).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    upstream.behavior = undefined;
    const r = await client.chat.completions.create(body).withResponse();
    expect(r.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('reports cache outcomes and saved cost in /metrics', async () => {
    const text = await (await fetch(`${sidecar.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_cache_lookups_total\{status="hit-memory"\} [1-9]/);
    expect(text).toMatch(/switchyard_cache_lookups_total\{status="coalesced"\} [1-9]/);
    expect(text).toMatch(/switchyard_saved_usd_total\{reason="cache"\} 0\.\d+/);
  });
});
