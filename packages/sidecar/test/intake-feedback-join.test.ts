/** The feedback join on its own, with an injected clock: order, windows, bounds, duplicates. */
import { describe, expect, it } from 'vitest';
import { FeedbackJoin } from '../src/intake/feedback-join.js';
import { type FeedbackRecord, spanKey } from '../src/intake/span-extractor.js';
import type { LlmCallRecord } from '../src/learning/llm-call.js';
import { RecordingSink } from './intake-fixtures.js';

let nextId = 1;
function call(overrides: Partial<LlmCallRecord> = {}): LlmCallRecord {
  const n = nextId++;
  return {
    traceId: 'a'.repeat(32),
    spanId: n.toString(16).padStart(16, '0'),
    responseId: `resp-${n}`,
    agent: 'draft',
    task: 'write',
    operation: 'chat',
    requestedModel: 'gpt-4o',
    servedModel: 'gpt-4o',
    inputTokens: 10,
    outputTokens: 5,
    startTimeUnixMs: 0,
    durationMs: 1,
    error: false,
    finishReasons: ['stop'],
    ...overrides,
  };
}

function feedback(
  target: { call?: LlmCallRecord; responseId?: string },
  score = 1,
  id = `fb-${nextId++}`,
): FeedbackRecord {
  return {
    feedbackKey: id,
    targetSpanKey: target.call ? spanKey(target.call.traceId, target.call.spanId) : undefined,
    targetResponseId: target.responseId,
    verdict: { score, source: 'reviewer', timeUnixMs: 0 },
  };
}

function setup(
  options: { windowMs?: number; maxCalls?: number; maxPendingFeedback?: number } = {},
) {
  const sink = new RecordingSink();
  const clock = { t: 1_000_000 };
  const join = new FeedbackJoin({ sink, now: () => clock.t, ...options });
  return { sink, clock, join };
}

describe('FeedbackJoin', () => {
  it('joins by span link and by response id, whichever arrives first', () => {
    const { sink, join } = setup();
    const a = call();
    const b = call();
    join.addCall(a);
    join.addFeedback(feedback({ call: a }, 0.8));
    join.addFeedback(feedback({ responseId: b.responseId }, 0.3));
    expect(sink.verdicts.map((v) => v.verdict.score)).toEqual([0.8]);
    join.addCall(b);
    expect(sink.calls).toEqual([a, b]);
    expect(sink.verdicts.map((v) => [v.call.spanId, v.verdict.score])).toEqual([
      [a.spanId, 0.8],
      [b.spanId, 0.3],
    ]);
    expect(join.stats()).toMatchObject({ calls: 2, verdicts: 2, pendingFeedback: 0 });
  });

  it('applies feedback that names its call both ways exactly once', () => {
    const { sink, join } = setup();
    const a = call();
    join.addFeedback(feedback({ call: a, responseId: a.responseId }));
    join.addCall(a);
    expect(sink.verdicts).toHaveLength(1);
    expect(join.stats().pendingFeedback).toBe(0);
  });

  it('applies several verdicts to one call', () => {
    const { sink, join } = setup();
    const a = call();
    join.addFeedback(feedback({ call: a }, 0.1));
    join.addFeedback(feedback({ responseId: a.responseId }, 0.9));
    join.addCall(a);
    expect(sink.verdicts.map((v) => v.verdict.score).sort()).toEqual([0.1, 0.9]);
  });

  it('drops and counts feedback whose call does not arrive within the window', () => {
    const { sink, clock, join } = setup({ windowMs: 60_000 });
    const late = call();
    join.addFeedback(feedback({ call: late }));
    clock.t += 60_001;
    join.expire();
    expect(join.stats()).toMatchObject({ unjoinedFeedback: 1, pendingFeedback: 0 });
    join.addCall(late);
    expect(sink.verdicts).toHaveLength(0);
  });

  it('forgets calls after the window, so feedback for them waits and then expires', () => {
    const { sink, clock, join } = setup({ windowMs: 1000 });
    const old = call();
    join.addCall(old);
    clock.t += 999;
    join.addFeedback(feedback({ call: old }, 0.5));
    expect(sink.verdicts).toHaveLength(1);
    // The window is swept at most every 250 ms of clock: move well past it.
    clock.t += 300;
    join.addFeedback(feedback({ responseId: old.responseId }, 0.4));
    expect(sink.verdicts).toHaveLength(1);
    expect(join.stats()).toMatchObject({ rememberedCalls: 0, pendingFeedback: 1 });
  });

  it('is bounded by entries: oldest calls and oldest waiting feedback go first', () => {
    const { sink, join } = setup({ maxCalls: 100, maxPendingFeedback: 10 });
    const calls = Array.from({ length: 1000 }, () => call());
    for (const c of calls) join.addCall(c);
    expect(join.stats().rememberedCalls).toBe(100);
    join.addFeedback(feedback({ call: calls[0] }));
    join.addFeedback(feedback({ call: calls[999] }));
    expect(sink.verdicts.map((v) => v.call)).toEqual([calls[999]]);
    for (let i = 0; i < 50; i++) join.addFeedback(feedback({ responseId: `never-${i}` }));
    expect(join.stats().pendingFeedback).toBe(10);
    expect(join.stats().unjoinedFeedback).toBe(41);
  });

  it('records a call once and a feedback span once, even when a batch is sent again', () => {
    const { sink, join } = setup();
    const a = call();
    const fb = feedback({ call: a }, 1, 'feedback-span-1');
    join.addCall(a);
    join.addCall({ ...a });
    join.addFeedback(fb);
    join.addFeedback(fb);
    expect(sink.calls).toHaveLength(1);
    expect(sink.verdicts).toHaveLength(1);
    expect(join.stats()).toMatchObject({ duplicateCalls: 1, duplicateFeedback: 1 });
  });

  it('keeps going when the sink throws, counting the failures', () => {
    const join = new FeedbackJoin({
      sink: {
        recordCall: () => {
          throw new Error('learner bug');
        },
        recordVerdict: () => {
          throw new Error('learner bug');
        },
      },
    });
    const a = call();
    join.addCall(a);
    join.addFeedback(feedback({ call: a }));
    expect(join.stats()).toMatchObject({ sinkErrors: 2, calls: 0, verdicts: 0 });
  });

  it('refuses options that cannot bound it', () => {
    expect(() => new FeedbackJoin({ sink: new RecordingSink(), maxCalls: 0 })).toThrow(/maxCalls/);
    expect(() => new FeedbackJoin({ sink: new RecordingSink(), windowMs: Number.NaN })).toThrow(
      /windowMs/,
    );
  });
});
