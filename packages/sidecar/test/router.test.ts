import { describe, expect, it } from 'vitest';
import { MemoryRuleStore } from '../src/routing/memory-rule-store.js';
import { estimatePromptTokens, messageText } from '../src/routing/prompt-text.js';
import { type RouteInput, Router } from '../src/routing/router.js';
import type { Rule } from '../src/routing/rule.js';

function rule(id: string, partial: Partial<Rule>): Rule {
  return {
    id,
    source: 'static',
    kind: 'downgrade',
    match: {},
    targetModel: 'cheap',
    share: 1,
    createdAt: 0,
    updatedAt: 0,
    ...partial,
  };
}

function input(
  partial: Partial<RouteInput> & { text?: string } = {},
): RouteInput & { textCalls: number; tokenCalls: number } {
  const state = { textCalls: 0, tokenCalls: 0 };
  return Object.assign(state, {
    agent: partial.agent,
    task: partial.task,
    model: partial.model ?? 'gpt-4o',
    messageText: () => {
      state.textCalls++;
      return partial.text ?? '';
    },
    promptTokens: () => {
      state.tokenCalls++;
      return Math.ceil((partial.text ?? '').length / 4);
    },
  });
}

describe('Router', () => {
  it('returns the requested model by default and never computes text or tokens without rules', () => {
    const router = new Router();
    const i = input({ text: 'hello' });
    expect(router.route(i)).toEqual({ model: 'gpt-4o', reason: 'default' });
    expect(i.textCalls + i.tokenCalls).toBe(0);
  });

  it('computes message text only for rules with a pattern, once per request', () => {
    const router = new Router({
      staticRules: [
        rule('a', { match: { messagePattern: 'zzz' } }),
        rule('b', { match: { messagePattern: 'hel+o' }, targetModel: 'mini' }),
      ],
    });
    const i = input({ text: 'hello' });
    expect(router.route(i)).toEqual({ model: 'mini', reason: 'rule', ruleId: 'b' });
    expect(i.textCalls).toBe(1);
    expect(i.tokenCalls).toBe(0);
    const plain = new Router({ staticRules: [rule('c', { match: { task: 't' } })] });
    const j = input({ task: 't', text: 'x' });
    expect(plain.route(j).model).toBe('cheap');
    expect(j.textCalls + j.tokenCalls).toBe(0);
  });

  it('honours token bounds inclusively', () => {
    const router = new Router({
      staticRules: [rule('r', { match: { minPromptTokens: 2, maxPromptTokens: 3 } })],
    });
    expect(router.route(input({ text: 'abcd' })).reason).toBe('default'); // 1 token
    expect(router.route(input({ text: 'abcdefgh' })).reason).toBe('rule'); // 2
    expect(router.route(input({ text: 'abcdefghijkl' })).reason).toBe('rule'); // 3
    expect(router.route(input({ text: 'abcdefghijklm' })).reason).toBe('default'); // 4
  });

  it('orders pins, static rules, learned rules', async () => {
    const store = new MemoryRuleStore();
    await store.setLearnedRules(
      [rule('learned', { source: 'learned', match: { task: 't' }, targetModel: 'learned-model' })],
      [],
    );
    const router = new Router({
      staticRules: [rule('static', { match: { agent: 'a' }, targetModel: 'static-model' })],
      store,
    });
    expect(router.route(input({ agent: 'a', task: 't' }))).toMatchObject({
      model: 'static-model',
      ruleId: 'static',
    });
    expect(router.route(input({ agent: 'b', task: 't' }))).toMatchObject({
      model: 'learned-model',
      ruleId: 'learned',
    });
    const pin = await store.pin({ task: 't' });
    expect(router.route(input({ agent: 'a', task: 't' }))).toEqual({
      model: 'gpt-4o',
      reason: 'pin',
      ruleId: pin.id,
    });
    const withConfigPin = new Router({
      pins: [{ id: 'p', match: { agent: 'a' }, createdAt: 0 }],
      staticRules: [rule('s', {})],
    });
    expect(withConfigPin.route(input({ agent: 'a' })).reason).toBe('pin');
    expect(withConfigPin.route(input({ agent: 'b' })).reason).toBe('rule');
  });

  it('skips learned rules in dry-run but keeps static ones', async () => {
    const store = new MemoryRuleStore();
    await store.setLearnedRules([rule('l', { source: 'learned', match: { task: 't' } })], []);
    await store.setDryRun(true);
    const router = new Router({ store, staticRules: [rule('s', { match: { agent: 'x' } })] });
    expect(router.route(input({ task: 't' })).reason).toBe('default');
    expect(router.route(input({ agent: 'x' })).reason).toBe('rule');
    await store.setDryRun(false);
    expect(router.route(input({ task: 't' })).ruleId).toBe('l');
  });

  it('applies a share with the injected random and falls through otherwise', () => {
    let r = 0;
    const router = new Router({
      staticRules: [
        rule('quarter', { share: 0.25, targetModel: 'a' }),
        rule('rest', { targetModel: 'b' }),
      ],
      random: () => r,
    });
    r = 0.1;
    expect(router.route(input()).ruleId).toBe('quarter');
    r = 0.25;
    expect(router.route(input()).ruleId).toBe('rest');
  });

  it('carries the rule cache mode and the canary reason', () => {
    const router = new Router({ staticRules: [rule('c', { kind: 'canary', cache: 'no-store' })] });
    expect(router.route(input())).toEqual({
      model: 'cheap',
      reason: 'canary',
      ruleId: 'c',
      cacheMode: 'no-store',
    });
  });

  it('recompiles only when the store publishes a new snapshot, and an invalid learned regex never matches', async () => {
    const store = new MemoryRuleStore();
    const router = new Router({ store });
    expect(router.route(input({ text: 'abc' })).reason).toBe('default');
    await store.setLearnedRules(
      [
        rule('bad', { source: 'learned', match: { messagePattern: '(' } }),
        rule('ok', { source: 'learned', match: { messagePattern: 'b' } }),
      ],
      [],
    );
    expect(router.route(input({ text: 'abc' })).ruleId).toBe('ok');
  });
});

describe('prompt text', () => {
  it('joins string and text-part contents and estimates tokens as chars/4 plus framing', () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello' },
          { type: 'image_url', image_url: { url: 'x' } },
        ],
      },
      { role: 'assistant', content: null },
    ];
    expect(messageText(messages)).toBe('be brief\nhello');
    expect(estimatePromptTokens(messages)).toBe(Math.ceil(14 / 4) + 12);
    expect(messageText('nope')).toBe('');
  });
});

describe('MemoryRuleStore', () => {
  it('versions snapshots, notifies subscribers, and keeps a bounded newest-first history', async () => {
    let at = 100;
    const store = new MemoryRuleStore({ maxHistory: 2, now: () => at++, newId: () => 'pin-1' });
    const seen: number[] = [];
    const off = store.subscribe((s) => seen.push(s.version));
    const first = store.snapshot();
    expect(store.snapshot()).toBe(first);
    await store.pin({ agent: 'a' }, 'why');
    await store.setDryRun(true);
    await store.setDryRun(true); // no change, no new version
    expect(await store.unpin('pin-1')).toBe(true);
    expect(await store.unpin('pin-1')).toBe(false);
    off();
    await store.setDryRun(false);
    expect(seen).toEqual([2, 3, 4]);
    const history = await store.history();
    expect(history.map((h) => h.action)).toEqual(['dry-run', 'unpinned']);
    expect(Object.isFrozen(store.snapshot())).toBe(true);
  });
});
