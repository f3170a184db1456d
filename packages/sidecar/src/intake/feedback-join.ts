/**
 * Joins feedback to the call it judges, in either arrival order: spans reach the sidecar in
 * batches from many processes, so a reviewer's verdict can arrive before the call it scores.
 *
 * Owner: the trace intake. Lifetime: recent calls and waiting feedback are kept for `windowMs`
 * after they arrived (arrival time on the injected clock, not span time, so skewed clocks in
 * senders cannot keep entries alive) and at most `maxCalls` / `maxPendingFeedback` entries, the
 * oldest dropped first. Feedback still unjoined when it leaves the window is counted and dropped.
 */
import type { LearningSink, LlmCallRecord } from '../learning/llm-call.js';
import { type FeedbackRecord, spanKey } from './span-extractor.js';

export interface FeedbackJoinOptions {
  readonly sink: LearningSink;
  /** How long a call waits for feedback and feedback waits for its call. Default 15 minutes. */
  readonly windowMs?: number;
  /** Most recent calls remembered for joining (and de-duplicating). Default 50,000. */
  readonly maxCalls?: number;
  /** Most feedback spans waiting for their call. Default 10,000. */
  readonly maxPendingFeedback?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

export interface FeedbackJoinStats {
  /** Calls handed to `sink.recordCall`. */
  readonly calls: number;
  /** Calls seen again (a sender retrying a batch) and not recorded twice. */
  readonly duplicateCalls: number;
  /** Verdicts handed to `sink.recordVerdict`. */
  readonly verdicts: number;
  /** Feedback spans seen again and not counted twice. */
  readonly duplicateFeedback: number;
  /** Feedback that found no call within the window (or was pushed out by newer feedback). */
  readonly unjoinedFeedback: number;
  /** Feedback waiting for its call now. */
  readonly pendingFeedback: number;
  /** Calls remembered now. */
  readonly rememberedCalls: number;
  /** Exceptions thrown by the sink (it must not throw; counted instead of crashing intake). */
  readonly sinkErrors: number;
}

interface CallEntry {
  readonly call: LlmCallRecord;
  readonly key: string;
  readonly at: number;
}

interface PendingEntry {
  readonly feedback: FeedbackRecord;
  readonly id: string;
  readonly at: number;
  done: boolean;
}

export const DEFAULT_JOIN_WINDOW_MS = 15 * 60_000;
export const DEFAULT_MAX_CALLS = 50_000;
export const DEFAULT_MAX_PENDING_FEEDBACK = 10_000;

/**
 * @example
 * const join = new FeedbackJoin({ sink: learner });
 * join.addFeedback(feedback); // waits
 * join.addCall(call);         // sink.recordCall(call), then sink.recordVerdict(call, verdict)
 */
export class FeedbackJoin {
  private readonly sink: LearningSink;
  private readonly windowMs: number;
  private readonly maxCalls: number;
  private readonly maxPending: number;
  private readonly now: () => number;

  // Insertion order is arrival order, so the oldest entry is always first: eviction is O(1).
  private readonly calls = new Map<string, CallEntry>();
  private readonly callsByResponseId = new Map<string, CallEntry>();
  private readonly pending = new Map<string, PendingEntry>();
  private readonly pendingBySpanKey = new Map<string, PendingEntry[]>();
  private readonly pendingByResponseId = new Map<string, PendingEntry[]>();
  // Feedback already applied, so a retried batch does not count a verdict twice.
  private readonly appliedFeedback = new Map<string, number>();
  private anonymousFeedback = 0;

  private counts = {
    calls: 0,
    duplicateCalls: 0,
    verdicts: 0,
    duplicateFeedback: 0,
    unjoinedFeedback: 0,
    sinkErrors: 0,
  };

  constructor(options: FeedbackJoinOptions) {
    this.sink = options.sink;
    this.windowMs = positive(options.windowMs ?? DEFAULT_JOIN_WINDOW_MS, 'windowMs');
    this.maxCalls = positive(options.maxCalls ?? DEFAULT_MAX_CALLS, 'maxCalls');
    this.maxPending = positive(
      options.maxPendingFeedback ?? DEFAULT_MAX_PENDING_FEEDBACK,
      'maxPendingFeedback',
    );
    this.now = options.now ?? Date.now;
  }

  /** Records a call once (a repeated span id is ignored) and applies feedback waiting for it. */
  addCall(call: LlmCallRecord): void {
    const at = this.now();
    this.expire(at);
    const key = spanKey(call.traceId, call.spanId);
    if (this.calls.has(key)) {
      this.counts.duplicateCalls++;
      return;
    }
    const entry: CallEntry = { call, key, at };
    this.calls.set(key, entry);
    if (call.responseId !== undefined) this.callsByResponseId.set(call.responseId, entry);
    while (this.calls.size > this.maxCalls) this.evictOldestCall();
    this.emitCall(call);

    const bySpan = this.pendingBySpanKey.get(key);
    if (bySpan !== undefined) {
      this.pendingBySpanKey.delete(key);
      for (const p of bySpan) this.applyPending(p, call);
    }
    if (call.responseId !== undefined) {
      const byResponse = this.pendingByResponseId.get(call.responseId);
      if (byResponse !== undefined) {
        this.pendingByResponseId.delete(call.responseId);
        for (const p of byResponse) this.applyPending(p, call);
      }
    }
  }

  /** Applies feedback to its call if known, otherwise keeps it waiting within the window. */
  addFeedback(feedback: FeedbackRecord): void {
    const at = this.now();
    this.expire(at);
    const id =
      feedback.feedbackSpanId !== '' ? feedback.feedbackSpanId : `#${this.anonymousFeedback++}`;
    if (this.appliedFeedback.has(id) || this.pending.has(id)) {
      this.counts.duplicateFeedback++;
      return;
    }
    const call = this.findCall(feedback);
    if (call !== undefined) {
      this.markApplied(id, at);
      this.emitVerdict(call, feedback);
      return;
    }
    const entry: PendingEntry = { feedback, id, at, done: false };
    this.pending.set(id, entry);
    if (feedback.targetSpanKey !== undefined) {
      pushTo(this.pendingBySpanKey, feedback.targetSpanKey, entry);
    }
    if (feedback.targetResponseId !== undefined) {
      pushTo(this.pendingByResponseId, feedback.targetResponseId, entry);
    }
    while (this.pending.size > this.maxPending) this.dropOldestPending();
  }

  /** Drops what has left the window; also runs on every add. */
  expire(at: number = this.now()): void {
    const horizon = at - this.windowMs;
    for (const entry of this.calls.values()) {
      if (entry.at > horizon) break;
      this.evictOldestCall();
    }
    for (const entry of this.pending.values()) {
      if (entry.at > horizon) break;
      this.dropOldestPending();
    }
    for (const [id, appliedAt] of this.appliedFeedback) {
      if (appliedAt > horizon) break;
      this.appliedFeedback.delete(id);
    }
  }

  stats(): FeedbackJoinStats {
    return {
      ...this.counts,
      pendingFeedback: this.pending.size,
      rememberedCalls: this.calls.size,
    };
  }

  private findCall(feedback: FeedbackRecord): LlmCallRecord | undefined {
    if (feedback.targetSpanKey !== undefined) {
      const entry = this.calls.get(feedback.targetSpanKey);
      if (entry !== undefined) return entry.call;
    }
    if (feedback.targetResponseId !== undefined) {
      const entry = this.callsByResponseId.get(feedback.targetResponseId);
      if (entry !== undefined) return entry.call;
    }
    return undefined;
  }

  private applyPending(entry: PendingEntry, call: LlmCallRecord): void {
    // One feedback may be indexed under both its link and its response id: apply it once.
    if (entry.done) return;
    entry.done = true;
    this.pending.delete(entry.id);
    this.unindex(entry);
    this.markApplied(entry.id, this.now());
    this.emitVerdict(call, entry.feedback);
  }

  private markApplied(id: string, at: number): void {
    this.appliedFeedback.set(id, at);
    // Bounded like the calls: a verdict older than the newest maxCalls ones cannot be retried.
    while (this.appliedFeedback.size > this.maxCalls) {
      const oldest = this.appliedFeedback.keys().next();
      if (oldest.done) break;
      this.appliedFeedback.delete(oldest.value);
    }
  }

  private evictOldestCall(): void {
    const first = this.calls.values().next();
    if (first.done) return;
    const entry = first.value;
    this.calls.delete(entry.key);
    const responseId = entry.call.responseId;
    if (responseId !== undefined && this.callsByResponseId.get(responseId) === entry) {
      this.callsByResponseId.delete(responseId);
    }
  }

  private dropOldestPending(): void {
    const first = this.pending.values().next();
    if (first.done) return;
    const entry = first.value;
    entry.done = true;
    this.pending.delete(entry.id);
    this.unindex(entry);
    this.counts.unjoinedFeedback++;
  }

  private unindex(entry: PendingEntry): void {
    const { targetSpanKey, targetResponseId } = entry.feedback;
    if (targetSpanKey !== undefined) removeFrom(this.pendingBySpanKey, targetSpanKey, entry);
    if (targetResponseId !== undefined) {
      removeFrom(this.pendingByResponseId, targetResponseId, entry);
    }
  }

  private emitCall(call: LlmCallRecord): void {
    try {
      this.sink.recordCall(call);
      this.counts.calls++;
    } catch {
      this.counts.sinkErrors++;
    }
  }

  private emitVerdict(call: LlmCallRecord, feedback: FeedbackRecord): void {
    try {
      this.sink.recordVerdict(call, feedback.verdict);
      this.counts.verdicts++;
    } catch {
      this.counts.sinkErrors++;
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`FeedbackJoin: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function pushTo(index: Map<string, PendingEntry[]>, key: string, entry: PendingEntry): void {
  const list = index.get(key);
  if (list === undefined) index.set(key, [entry]);
  else list.push(entry);
}

function removeFrom(index: Map<string, PendingEntry[]>, key: string, entry: PendingEntry): void {
  const list = index.get(key);
  if (list === undefined) return;
  const i = list.indexOf(entry);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(key);
}
