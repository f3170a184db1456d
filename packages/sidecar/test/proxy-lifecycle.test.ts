import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load-config.js';
import type { RunningSidecar } from '../src/main.js';
import {
  captureLogger,
  type FakeUpstream,
  heldStream,
  startFakeUpstream,
  startTestSidecar,
} from './proxy-fixtures.js';

describe('sidecar lifecycle, logs, endpoints', () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar | undefined;

  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    await upstream?.close();
  });

  it('graceful shutdown lets an in-flight stream finish and refuses new connections', async () => {
    upstream = await startFakeUpstream();
    const held = heldStream('before', ' after');
    upstream.behavior = held.behavior;
    const s = await startTestSidecar(upstream);
    sidecar = s;
    const client = new OpenAI({ baseURL: s.baseURL, apiKey: 'sk', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.choices[0]?.delta?.content).toBe('before');

    const closed = s.close();
    // New connections are refused once closing began.
    await new Promise((r) => setTimeout(r, 20));
    const refused = await fetch(`${s.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    held.release();
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next())
      rest += n.value.choices[0]?.delta?.content ?? '';
    expect(rest).toBe(' after');
    await closed;
  });

  it('writes one JSON log line per request with no prompt text and no key', async () => {
    upstream = await startFakeUpstream();
    const logger = captureLogger();
    sidecar = await startTestSidecar(upstream, { logger });
    const client = new OpenAI({
      baseURL: sidecar.baseURL,
      apiKey: 'sk-VERY-SECRET-KEY',
      maxRetries: 0,
    });
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'PROMPT-TEXT-42' }],
    });
    await client.chat.completions
      .create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'PROMPT-TEXT-43' }],
        temperature: 'x' as unknown as number,
      })
      .catch(() => undefined);
    await fetch(`${sidecar.baseURL}/chat/completions`, {
      method: 'POST',
      body: '{"model":"m","messages":[{"role":"user","content":"PROMPT-TEXT-44"',
    });
    const requestLines = logger.lines.filter((l) => l.includes('"msg":"request"'));
    expect(requestLines).toHaveLength(3);
    const first = JSON.parse(requestLines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      model: 'gpt-4o',
      cache: 'bypass',
    });
    expect(typeof first.ms).toBe('number');
    const all = logger.lines.join('\n');
    expect(all).not.toContain('PROMPT-TEXT');
    expect(all).not.toContain('SECRET');
  });

  it('lists models from the providers config and routes each model to its provider with its own key', async () => {
    upstream = await startFakeUpstream();
    const other = await startFakeUpstream();
    try {
      const config = loadConfig({
        argv: ['--port', '0'],
        env: {
          SWITCHYARD_UPSTREAM_URL: upstream.baseURL,
          SWITCHYARD_LOG_LEVEL: 'silent',
          OTHER_KEY: 'sk-provider-owned',
        },
        file: {
          providers: [
            {
              name: 'other',
              baseURL: other.baseURL,
              apiKeyEnv: 'OTHER_KEY',
              models: ['llama-3-70b', 'mixtral'],
            },
          ],
        },
      });
      const { startSidecar } = await import('../src/main.js');
      sidecar = await startSidecar({ config });
      const client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-client', maxRetries: 0 });
      const list = await client.models.list();
      expect(list.data.map((m) => m.id)).toEqual(['llama-3-70b', 'mixtral']);
      expect((await client.models.retrieve('mixtral')).owned_by).toBe('other');
      await expect(client.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await client.chat.completions.create({
        model: 'mixtral',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(other.requests.at(-1)?.headers.authorization).toBe('Bearer sk-provider-owned');
      await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(upstream.requests.at(-1)?.headers.authorization).toBe('Bearer sk-client');
    } finally {
      await other.close();
    }
  });

  it('proxies /v1/models when no provider lists models, and embeddings', async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar(upstream);
    const client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk', maxRetries: 0 });
    const list = await client.models.list();
    expect(list.data[0]?.id).toBe('upstream-model');
    const emb = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .withResponse();
    expect(emb.data.data[0]?.embedding).toEqual([0.5, 0.25]);
    expect(emb.response.headers.get('x-switchyard-model')).toBe('text-embedding-3-small');
    expect(upstream.requests.at(-1)?.path).toBe('/v1/embeddings');
  });

  it('guards the dashboard like the rules API beyond loopback', async () => {
    const config = loadConfig({
      argv: ['--host', '0.0.0.0'],
      env: { SWITCHYARD_LOG_LEVEL: 'silent', SWITCHYARD_ADMIN_TOKEN: 'tok-456' },
    });
    const app = createApp({
      config,
      dashboard: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<p>spend</p>');
      },
    });
    const server = createServer(app.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const denied = await fetch(`${url}/`);
      expect(denied.status).toBe(401);
      const allowed = await fetch(`${url}/`, { headers: { authorization: 'Bearer tok-456' } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toBe('<p>spend</p>');
    } finally {
      await app.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('guards /switchyard/* with the admin token beyond loopback, and answers 404 without handlers', async () => {
    const base = { SWITCHYARD_LOG_LEVEL: 'silent' };
    expect(() => loadConfig({ argv: ['--host', '0.0.0.0'], env: base })).toThrow(
      /SWITCHYARD_ADMIN_TOKEN must be set/,
    );
    const config = loadConfig({
      argv: ['--host', '0.0.0.0'],
      env: { ...base, SWITCHYARD_ADMIN_TOKEN: 'tok-123' },
    });
    const seen: string[] = [];
    const app = createApp({
      config,
      admin: (req, res) => {
        seen.push(req.url ?? '');
        res.end('{"ok":true}');
      },
      traceIntake: (_req, res) => {
        res.writeHead(200);
        res.end('{}');
      },
      redis: { isReady: () => false },
    });
    const server = createServer(app.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const denied = await fetch(`${url}/switchyard/rules`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: { type: string } }).error.type).toBe(
        'authentication_error',
      );
      const wrong = await fetch(`${url}/switchyard/rules`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${url}/switchyard/rules`, {
        headers: { authorization: 'Bearer tok-123' },
      });
      expect(ok.status).toBe(200);
      expect(seen).toEqual(['/switchyard/rules']);
      expect((await fetch(`${url}/v1/traces`, { method: 'POST', body: '{}' })).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(404);
      const ready = await fetch(`${url}/readyz`);
      // Degraded, not unready: requests are still served from memory and upstream.
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'degraded', redis: 'down' });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('switchyard_redis_up 0');
    } finally {
      server.close();
      await app.close();
    }
  });

  it('answers 404 for /switchyard/* and /v1/traces when those parts are not plugged in', async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar(upstream);
    expect((await fetch(`${sidecar.url}/switchyard/rules`)).status).toBe(404);
    expect((await fetch(`${sidecar.url}/v1/traces`, { method: 'POST', body: '{}' })).status).toBe(
      404,
    );
  });

  it('plugs in handlers and a rule store through plugins', async () => {
    upstream = await startFakeUpstream();
    const { MemoryRuleStore } = await import('../src/routing/memory-rule-store.js');
    const store = new MemoryRuleStore();
    let closedPlugin = false;
    sidecar = await startTestSidecar(upstream, {
      plugins: [
        {
          name: 'test',
          createRuleStore: () => store,
          createHandlers: (ctx) => {
            expect(ctx.ruleStore).toBe(store);
            return {
              dashboard: (_req, res) => {
                res.writeHead(200, { 'content-type': 'text/html' });
                res.end('<h1>dash</h1>');
              },
              close: async () => {
                closedPlugin = true;
              },
            };
          },
        },
      ],
    });
    expect(sidecar.ruleStore).toBe(store);
    expect(await (await fetch(`${sidecar.url}/`)).text()).toBe('<h1>dash</h1>');
    await sidecar.close();
    expect(closedPlugin).toBe(true);
  });
});
