import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import { MemoryRuleStore } from '../src/routing/memory-rule-store.js';
import type { Rule } from '../src/routing/rule.js';
import { type FakeUpstream, startFakeUpstream, startTestSidecar } from './proxy-fixtures.js';

const STATIC_RULES = {
  rules: [
    {
      id: 'summaries-to-mini',
      match: { agent: 'research', task: 'summarize', model: 'gpt-4o' },
      targetModel: 'gpt-4o-mini',
    },
    { id: 'half-drafts', match: { task: 'draft' }, targetModel: 'gpt-4o-mini', share: 0.5 },
    { id: 'long-prompts', match: { minPromptTokens: 1000 }, targetModel: 'gpt-4.1-mini' },
    { id: 'greetings', match: { messagePattern: '^hello' }, targetModel: 'gpt-4.1-nano' },
    {
      id: 'embeddings-never',
      match: { model: 'text-embedding-3-large' },
      targetModel: 'text-embedding-3-small',
    },
  ],
  pins: [{ id: 'never-refine', match: { agent: 'refine' } }],
};

function learnedRule(id: string, targetModel: string, task: string): Rule {
  return {
    id,
    source: 'learned',
    kind: 'downgrade',
    match: { task },
    targetModel,
    share: 1,
    createdAt: 1,
    updatedAt: 1,
  };
}

describe('routing through the proxy (real sockets, openai SDK)', () => {
  let upstream: FakeUpstream;
  let sidecar: RunningSidecar;
  let store: MemoryRuleStore;
  let nextRandom = 0;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    store = new MemoryRuleStore();
    sidecar = await startTestSidecar(upstream, {
      file: STATIC_RULES,
      ruleStore: store,
      random: () => nextRandom,
    });
    client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-test-key', maxRetries: 0 });
  });
  afterAll(async () => {
    await sidecar.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.behavior = undefined;
  });

  async function ask(headers: Record<string, string>, content = 'say something', model = 'gpt-4o') {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content }] }, { headers })
      .withResponse();
    return {
      data,
      headers: response.headers,
      upstreamModel: upstream.requests.at(-1)?.body?.model,
    };
  }

  it('routes by a static rule matching agent and task headers and the body model', async () => {
    const r = await ask({ 'x-switchyard-agent': 'research', 'x-switchyard-task': 'summarize' });
    expect(r.upstreamModel).toBe('gpt-4o-mini');
    expect(r.data.model).toBe('gpt-4o-mini');
    expect(r.headers.get('x-switchyard-model')).toBe('gpt-4o-mini');
    expect(r.headers.get('x-switchyard-rule')).toBe('summaries-to-mini');
    expect(r.headers.get('x-switchyard-route-reason')).toBe('rule');
    expect(r.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The rest of the body reached the upstream unchanged.
    expect(upstream.requests.at(-1)?.body?.messages).toEqual([
      { role: 'user', content: 'say something' },
    ]);
    // The client's credential is passed through.
    expect(upstream.requests.at(-1)?.headers.authorization).toBe('Bearer sk-test-key');
  });

  it('reads agent and task from W3C baggage', async () => {
    const r = await ask({
      baggage: 'other=1,switchyard.agent=research;p=1,switchyard.task=summ%61rize',
    });
    expect(r.upstreamModel).toBe('gpt-4o-mini');
    expect(r.headers.get('x-switchyard-rule')).toBe('summaries-to-mini');
  });

  it('leaves requests no rule matches alone (default), sending the original bytes', async () => {
    const r = await ask(
      { 'x-switchyard-agent': 'research', 'x-switchyard-task': 'summarize' },
      'x',
      'gpt-4o-2024-08-06',
    );
    expect(r.upstreamModel).toBe('gpt-4o-2024-08-06');
    expect(r.headers.get('x-switchyard-rule')).toBe('none');
    expect(r.headers.get('x-switchyard-route-reason')).toBe('default');
  });

  it('lets a pin win over a matching rule', async () => {
    const r = await ask({ 'x-switchyard-agent': 'refine', 'x-switchyard-task': 'draft' });
    expect(r.upstreamModel).toBe('gpt-4o');
    expect(r.headers.get('x-switchyard-route-reason')).toBe('pin');
    expect(r.headers.get('x-switchyard-rule')).toBe('never-refine');
  });

  it('applies a partial rule to its share of requests only', async () => {
    nextRandom = 0.2; // < 0.5: taken
    const taken = await ask({ 'x-switchyard-task': 'draft' });
    nextRandom = 0.7; // >= 0.5: falls through to the default
    const left = await ask({ 'x-switchyard-task': 'draft' });
    nextRandom = 0;
    expect(taken.upstreamModel).toBe('gpt-4o-mini');
    expect(taken.headers.get('x-switchyard-rule')).toBe('half-drafts');
    expect(left.upstreamModel).toBe('gpt-4o');
    expect(left.headers.get('x-switchyard-route-reason')).toBe('default');
  });

  it('matches on estimated prompt tokens and on a message pattern', async () => {
    const long = await ask({}, 'word '.repeat(1000));
    expect(long.upstreamModel).toBe('gpt-4.1-mini');
    const greeting = await ask({}, 'hello there');
    expect(greeting.upstreamModel).toBe('gpt-4.1-nano');
    expect(greeting.headers.get('x-switchyard-rule')).toBe('greetings');
  });

  it('applies learned rules from the store, live, and not in dry-run', async () => {
    await store.setLearnedRules([learnedRule('learned-outline', 'gpt-4o-mini', 'outline')], []);
    const applied = await ask({ 'x-switchyard-task': 'outline' });
    expect(applied.upstreamModel).toBe('gpt-4o-mini');
    expect(applied.headers.get('x-switchyard-rule')).toBe('learned-outline');

    await store.setDryRun(true);
    const dry = await ask({ 'x-switchyard-task': 'outline' });
    expect(dry.upstreamModel).toBe('gpt-4o');
    expect(dry.headers.get('x-switchyard-rule')).toBe('none');

    await store.setDryRun(false);
    const pin = await store.pin({ task: 'outline' }, 'operator says no');
    const pinned = await ask({ 'x-switchyard-task': 'outline' });
    expect(pinned.upstreamModel).toBe('gpt-4o');
    expect(pinned.headers.get('x-switchyard-rule')).toBe(pin.id);
    await store.unpin(pin.id);
    await store.setLearnedRules([], []);
  });

  it('gives a canary rule the canary reason', async () => {
    await store.setLearnedRules(
      [{ ...learnedRule('canary-1', 'gpt-4o-mini', 'explore'), kind: 'canary', share: 0.1 }],
      [],
    );
    nextRandom = 0.05;
    const r = await ask({ 'x-switchyard-task': 'explore' });
    nextRandom = 0;
    expect(r.upstreamModel).toBe('gpt-4o-mini');
    expect(r.headers.get('x-switchyard-route-reason')).toBe('canary');
    await store.setLearnedRules([], []);
  });

  it('never re-routes embeddings (vectors of two models are not comparable)', async () => {
    const { response } = await client.embeddings
      .create({ model: 'text-embedding-3-large', input: 'hello' })
      .withResponse();
    expect(upstream.requests.at(-1)?.body?.model).toBe('text-embedding-3-large');
    expect(response.headers.get('x-switchyard-route-reason')).toBe('default');
  });

  it('counts decisions and savings in /metrics', async () => {
    const text = await (await fetch(`${sidecar.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_route_decisions_total\{reason="rule"\} [1-9]/);
    expect(text).toMatch(/switchyard_route_decisions_total\{reason="pin"\} [1-9]/);
    expect(text).toMatch(/switchyard_saved_usd_total\{reason="rule"\} 0\.0\d+/);
    expect(text).toMatch(
      /switchyard_http_requests_total\{route="\/v1\/chat\/completions",status="200"\} \d+/,
    );
  });
});
