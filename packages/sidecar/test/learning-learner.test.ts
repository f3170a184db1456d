import { describe, expect, it, vi } from 'vitest';
import { createLearner, learnedRuleId } from '../src/learning/learner.js';
import type { LlmCallRecord } from '../src/learning/llm-call.js';
import { pricesFromTable } from '../src/learning/model-prices.js';
import { createMemoryStatsStore } from '../src/learning/stats-store.js';
import { MemoryRuleStore } from '../src/routing/memory-rule-store.js';

const B = 'gpt-4o';
const C = 'gpt-4o-mini';
const prices = pricesFromTable({
  [B]: { input: 2.5, output: 10 },
  [C]: { input: 0.15, output: 0.6 },
});

let n = 0;
function call(task: string, served: string, extra: Partial<LlmCallRecord> = {}): LlmCallRecord {
  n++;
  return {
    traceId: 't'.repeat(32),
    spanId: n.toString(16).padStart(16, '0'),
    agent: 'writer',
    task,
    operation: 'chat',
    requestedModel: B,
    servedModel: served,
    inputTokens: 1000,
    outputTokens: 100,
    startTimeUnixMs: 0,
    durationMs: 200,
    error: false,
    finishReasons: ['stop'],
    ...extra,
  };
}

/** A deterministic 0/1 score sequence with the given mean. */
function scores(count: number, mean: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < count; i++) {
    acc += mean;
    const s = acc >= 1 - 1e-9 ? 1 : 0;
    if (s === 1) acc -= 1;
    out.push(s);
  }
  return out;
}

function setup(config: Parameters<typeof createLearner>[0]['config']) {
  let now = 1_000_000;
  const store = new MemoryRuleStore({ now: () => now });
  const learner = createLearner({
    store,
    prices,
    now: () => now,
    config: { evaluateIntervalMs: 0, evaluateEveryVerdicts: 0, minChangeIntervalMs: 0, ...config },
  });
  const feed = (task: string, served: string, count: number, mean: number) => {
    for (const s of scores(count, mean)) {
      const c = call(task, served);
      learner.recordCall(c);
      learner.recordVerdict(c, { score: s, source: 'test', timeUnixMs: now });
      now += 10;
    }
  };
  return { store, learner, feed, tick: (ms: number) => (now += ms) };
}

const ruleFor = (store: MemoryRuleStore, task: string) =>
  store.snapshot().rules.find((r) => r.match.task === task);

describe('learner, per-task mode', () => {
  it('downgrades the task where the candidate is as good, never the one where it is worse, and reverts on drift', async () => {
    const { store, learner, feed } = setup({ mode: 'per-task', minSamples: 30 });
    feed('a', B, 300, 0.9);
    feed('b', B, 300, 0.9);
    await learner.evaluate();
    // Nothing known about the candidate yet: both explore.
    expect(ruleFor(store, 'a')).toMatchObject({ kind: 'canary', targetModel: C, share: 0.1 });
    expect(ruleFor(store, 'b')?.kind).toBe('canary');

    feed('a', C, 300, 0.9);
    feed('b', C, 200, 0.6);
    await learner.evaluate();
    const a = ruleFor(store, 'a');
    expect(a).toMatchObject({
      kind: 'downgrade',
      share: 1,
      source: 'learned',
      id: learnedRuleId({ agent: 'writer', task: 'a', model: B }),
    });
    expect(a?.evidence).toMatchObject({
      mode: 'per-task',
      baselineSamples: 300,
      candidateSamples: 300,
    });
    expect(a?.evidence?.confidence).toBeGreaterThanOrEqual(0.9);
    expect(a?.evidence?.projectedSavingUsdPerDay).toBeGreaterThan(0);
    expect(ruleFor(store, 'b')).toBeUndefined();

    // The candidate's live quality on task a drops: the rule is reverted.
    feed('a', C, 60, 0.4);
    await learner.evaluate();
    expect(ruleFor(store, 'a')?.kind).not.toBe('downgrade');
    const history = await store.history(20);
    expect(history.some((h) => h.action === 'reverted' && h.ruleId === a?.id)).toBe(true);
    expect(history.some((h) => h.action === 'created' && h.evidence !== undefined)).toBe(true);

    const report = learner.report();
    const taskA = report.tasks.find((t) => t.task === 'a');
    expect(taskA?.arms.find((x) => x.model === C)?.judged).toBe(360);
    expect(report.totals.savedUsd).toBeGreaterThan(0);
    await learner.close();
  });

  it('counts errors and truncation as failures and ignores cache hits', async () => {
    const stats = createMemoryStatsStore({
      bucketMs: 3_600_000,
      buckets: 24,
      maxSamplesPerArm: 5000,
      maxGroups: 10,
    });
    const store = new MemoryRuleStore();
    const learner = createLearner({
      store,
      stats,
      prices,
      now: () => 0,
      config: { evaluateIntervalMs: 0 },
    });
    const failed = call('t', B, { error: true, errorType: '500' });
    learner.recordCall(failed);
    learner.recordVerdict(failed, { score: 1, source: 'user', timeUnixMs: 0 }); // ignored: already a failure
    learner.recordCall(call('t', B, { finishReasons: ['length'] }));
    const hit = call('t', B, { cacheStatus: 'hit-memory' });
    learner.recordCall(hit);
    learner.recordVerdict(hit, { score: 1, source: 'user', timeUnixMs: 0 });
    const ok = call('t', B);
    learner.recordCall(ok);
    learner.recordVerdict(ok, { score: 0.8, source: 'user', timeUnixMs: 0 });
    const [t] = await stats.read(0);
    expect(t?.arms[B]).toMatchObject({
      calls: 3,
      judged: 3,
      errors: 1,
      truncations: 1,
      qualitySum: 0.8,
    });
    await learner.close();
  });

  it('evaluates by itself every N verdicts', async () => {
    const { store, learner, feed } = setup({ mode: 'per-task', evaluateEveryVerdicts: 10 });
    feed('x', B, 10, 1);
    await new Promise((r) => setImmediate(r));
    expect(ruleFor(store, 'x')?.kind).toBe('canary');
    await learner.close();
  });

  it('decides on the whole synchronous batch of records, whichever verdict crossed the count', async () => {
    const { store, learner, feed } = setup({ mode: 'per-task', evaluateEveryVerdicts: 10 });
    // One OTLP request's worth of records: the 10th verdict asks for an evaluation, which must
    // see all 30 (the order of spans inside a batch must not change decisions).
    feed('y', B, 30, 1);
    await new Promise((r) => setImmediate(r));
    const rule = ruleFor(store, 'y');
    expect(rule?.kind).toBe('canary');
    expect(rule?.evidence?.baselineSamples).toBe(30);
    expect((await store.history()).filter((h) => h.action === 'created')).toHaveLength(1);
    await learner.close();
  });

  it('runs its timer on the injected clock: no evaluation while that clock stands still', async () => {
    const { learner, tick } = setup({ mode: 'per-task', evaluateIntervalMs: 5 });
    // Real time passes (several timer periods) but the injected clock stands still.
    await new Promise((r) => setTimeout(r, 40));
    expect(learner.report().evaluatedAt).toBeNull();
    tick(1_000);
    await vi.waitFor(() => expect(learner.report().evaluatedAt).not.toBeNull(), {
      timeout: 2_000,
    });
    await learner.close();
  });

  it('does not switch a removed rule back on within minChangeIntervalMs', async () => {
    const { store, learner, feed, tick } = setup({
      mode: 'per-task',
      minChangeIntervalMs: 60_000,
      exploration: { enabled: false },
      minSamples: 20,
    });
    feed('h', B, 300, 0.9);
    feed('h', C, 300, 0.9);
    await learner.evaluate();
    expect(ruleFor(store, 'h')?.kind).toBe('downgrade');
    feed('h', C, 300, 0.3);
    await learner.evaluate();
    expect(ruleFor(store, 'h')).toBeUndefined();
    feed('h', C, 3000, 1); // good again, but too soon
    await learner.evaluate();
    expect(ruleFor(store, 'h')).toBeUndefined();
    tick(60_000);
    await learner.evaluate();
    expect(ruleFor(store, 'h')?.kind).toBe('downgrade');
    await learner.close();
  });
});

describe('learner, budget mode', () => {
  it('moves traffic where it costs least quality and keeps the planned loss within the budget', async () => {
    const { store, learner, feed } = setup({
      mode: 'budget',
      tolerance: 0.05,
      minSamples: 20,
      budgetHorizonCalls: 1e9,
    });
    for (const [task, q] of [
      ['same', 0.9],
      ['bit', 0.84],
      ['worse', 0.6],
    ] as const) {
      feed(task, B, 200, 0.9);
      feed(task, C, 100, q);
    }
    await learner.evaluate();
    const share = (t: string) => ruleFor(store, t)?.share ?? 0;
    expect(share('same')).toBe(1);
    expect(share('bit')).toBeGreaterThan(share('worse'));
    const budget = learner.report().budget!;
    expect(budget.plannedLossPerCall).toBeLessThanOrEqual(0.05 * 0.9 + 1e-6);
    expect(ruleFor(store, 'same')?.evidence?.mode).toBe('budget');
    await learner.close();
  });

  it('keeps learning but leaves rules to the router in dry-run', async () => {
    const { store, learner, feed } = setup({ mode: 'budget' });
    await store.setDryRun(true);
    // Enough traffic that one task's confidence reserve leaves room for a downgrade (the budget
    // is only what the traffic seen has earned).
    feed('same', B, 1000, 0.9);
    feed('same', C, 300, 0.9);
    await learner.evaluate();
    expect(store.snapshot().dryRun).toBe(true);
    expect(ruleFor(store, 'same')?.kind).toBe('downgrade');
    await learner.close();
  });
});
