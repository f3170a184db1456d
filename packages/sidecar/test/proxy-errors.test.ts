import { request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import { type FakeUpstream, startFakeUpstream, startTestSidecar } from './proxy-fixtures.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { message: string; type: string; param: string | null; code: string | null } };
}

async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: (await res.json()) as Answer['body'],
  };
}

function expectOpenAiError(a: Answer, status: number, param: string | null) {
  expect(a.status).toBe(status);
  expect(Object.keys(a.body)).toEqual(['error']);
  expect(Object.keys(a.body.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof a.body.error?.message).toBe('string');
  expect(a.body.error?.param).toBe(param);
}

describe('bad input gets the OpenAI error shape and the SDK raises its typed error', () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar;
  let client: OpenAI;
  let chatUrl: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar(upstream, {
      extraEnv: { SWITCHYARD_MAX_BODY_BYTES: '4096', SWITCHYARD_MAX_RETRIES: '0' },
    });
    client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-test', maxRetries: 0 });
    chatUrl = `${sidecar.baseURL}/chat/completions`;
  });
  afterAll(async () => {
    await sidecar.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.behavior = undefined;
  });

  it('malformed JSON → 400 invalid_json, without quoting the body', async () => {
    const a = await post(
      chatUrl,
      '{"model":"gpt-4o","messages":[{"role":"user","content":"SECRET PROMPT"',
    );
    expectOpenAiError(a, 400, null);
    expect(a.body.error?.type).toBe('invalid_request_error');
    expect(a.body.error?.code).toBe('invalid_json');
    expect(JSON.stringify(a.body)).not.toContain('SECRET');
    expect(a.headers['x-request-id']).toBeTruthy();
  });

  it('a JSON body that is not an object → 400', async () => {
    expectOpenAiError(await post(chatUrl, '[1,2]'), 400, null);
  });

  it('missing model → 400 with param model', async () => {
    const a = await post(chatUrl, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
    expectOpenAiError(a, 400, 'model');
    expect(a.body.error?.code).toBe('missing_required_parameter');
  });

  it('missing messages → 400 with param messages', async () => {
    expectOpenAiError(await post(chatUrl, JSON.stringify({ model: 'gpt-4o' })), 400, 'messages');
  });

  it('wrong types → 400 naming the field', async () => {
    expectOpenAiError(
      await post(chatUrl, JSON.stringify({ model: 42, messages: [] })),
      400,
      'model',
    );
    expectOpenAiError(
      await post(chatUrl, JSON.stringify({ model: 'm', messages: 'hi' })),
      400,
      'messages',
    );
    expectOpenAiError(
      await post(chatUrl, JSON.stringify({ model: 'm', messages: [{ content: 'x' }] })),
      400,
      'messages[0].role',
    );
    expectOpenAiError(
      await post(
        chatUrl,
        JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }),
      ),
      400,
      'stream',
    );
    expectOpenAiError(
      await post(
        chatUrl,
        JSON.stringify({
          model: 'm',
          messages: [{ role: 'user', content: 'x' }],
          temperature: 'hot',
        }),
      ),
      400,
      'temperature',
    );
    expectOpenAiError(
      await post(`${sidecar.baseURL}/embeddings`, JSON.stringify({ model: 'e' })),
      400,
      'input',
    );
    expect(upstream.requests).toHaveLength(0);
  });

  it('an unknown x-switchyard-cache value → 400', async () => {
    const a = await post(
      chatUrl,
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
      { 'x-switchyard-cache': 'sometimes' },
    );
    expectOpenAiError(a, 400, 'x-switchyard-cache');
  });

  it('the SDK raises BadRequestError for a 400', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages: 'nope' as unknown as [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');
  });

  it('a body over the limit → 413 (declared length) and the process keeps serving', async () => {
    const big = JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x'.repeat(10_000) }],
    });
    const a = await post(chatUrl, big);
    expectOpenAiError(a, 413, null);
    expect(a.body.error?.code).toBe('body_too_large');
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'y'.repeat(10_000) }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    const ok = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'small' }],
    });
    expect(ok.model).toBe('gpt-4o');
  });

  it('a chunked body over the limit → 413 too', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        chatUrl,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"model":"gpt-4o","messages":[{"role":"user","content":"');
      for (let i = 0; i < 10; i++) req.write('z'.repeat(1000));
      req.end('"}]}');
    });
    expect(status).toBe(413);
  });

  it('unknown path → 404 in the OpenAI shape; the SDK raises NotFoundError', async () => {
    const res = await fetch(`${sidecar.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as Answer['body'];
    expect(body.error?.type).toBe('invalid_request_error');
    const err = await client.get('/not-a-route').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('wrong method → 405 with allow header', async () => {
    const res = await fetch(chatUrl);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('upstream garbage → 502 upstream_error; the SDK raises InternalServerError', async () => {
    upstream.behavior = (_rec, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>definitely not json</html>');
      return true;
    };
    const a = await post(
      chatUrl,
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    );
    expectOpenAiError(a, 502, null);
    expect(a.body.error?.type).toBe('upstream_error');
    expect(a.body.error?.message).toMatch(/not JSON/);
    expect(a.headers['x-switchyard-model']).toBe('gpt-4o');
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it("upstream's own OpenAI-shaped errors pass through with their status", async () => {
    upstream.behavior = (_rec, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: 'Incorrect API key provided',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        }),
      );
      return true;
    };
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
  });

  it('an unreachable upstream → 502 upstream_unreachable', async () => {
    const dead = await startFakeUpstream();
    await dead.close();
    const other = await startTestSidecar(dead, { extraEnv: { SWITCHYARD_MAX_RETRIES: '1' } });
    try {
      const a = await post(
        `${other.baseURL}/chat/completions`,
        JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      );
      expectOpenAiError(a, 502, null);
      expect(a.body.error?.code).toBe('upstream_unreachable');
      const metrics = await (await fetch(`${other.url}/metrics`)).text();
      expect(metrics).toMatch(
        /switchyard_upstream_errors_total\{provider="default",kind="connect"\} 2/,
      );
    } finally {
      await other.close();
    }
  });

  it('a model name that is not a valid header value is percent-encoded, never a crash', async () => {
    for (const model of ['gpt-4o\r\nx-injected: 1', 'модель-1']) {
      const res = await fetch(chatUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-switchyard-model')).toBe(encodeURIComponent(model));
      expect(res.headers.get('x-injected')).toBeNull();
      expect(((await res.json()) as { model: string }).model).toBe(model);
    }
    expect((await fetch(`${sidecar.url}/healthz`)).status).toBe(200);
  });

  it('healthz and readyz answer without Redis configured', async () => {
    const h = await fetch(`${sidecar.url}/healthz`);
    expect(h.status).toBe(200);
    const r = await fetch(`${sidecar.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', redis: 'not-configured' });
  });
});
