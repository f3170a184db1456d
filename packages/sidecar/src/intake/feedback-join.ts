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
import { ArrivalRing } from './arrival-ring.js';
import { type FeedbackRecord, spanKey } from './span-extractor.js';

export interface FeedbackJoinOptions {
  readonly sink: LearningSink;
  /** How long a call waits for feedback and feedback waits for its call. Default 15 minutes. */
  readonly windowMs?: number;
  /** Most recent calls remembered for joining (and de-duplicating). Default 50,000. */
  readonly maxCalls?: number;
  /** Most feedback spans waiting for their call (and applied ids kept against retries). Default 10,000. */
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

/** How often (in clock time) adds sweep the window; the window is honoured to this precision. */
const EXPIRE_EVERY_MS = 250;

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

  // Lookups by key; arrival order (for the window and the bounds) lives in the rings.
  private readonly calls = new Map<string, CallEntry>();
  private readonly callsByResponseId = new Map<string, CallEntry>();
  private readonly callOrder: ArrivalRing<CallEntry>;
  private readonly pending = new Map<string, PendingEntry>();
  private readonly pendingBySpanKey = new Map<string, PendingEntry[]>();
  private readonly pendingByResponseId = new Map<string, PendingEntry[]>();
  private readonly pendingOrder: ArrivalRing<PendingEntry>;
  // Feedback already applied, so a retried batch does not count a verdict twice.
  private readonly appliedFeedback = new Set<string>();
  private readonly appliedOrder: ArrivalRing<{ readonly id: string; readonly at: number }>;
  private anonymousFeedback = 0;
  private lastExpiry = Number.NEGATIVE_INFINITY;

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
    this.callOrder = new ArrivalRing(this.maxCalls);
    this.pendingOrder = new ArrivalRing(this.maxPending);
    this.appliedOrder = new ArrivalRing(this.maxPending);
  }

  /** Records a call once (a repeated span id is ignored) and applies feedback waiting for it. */
  addCall(call: LlmCallRecord): void {
    const at = this.now();
    if (at - this.lastExpiry >= EXPIRE_EVERY_MS) this.expire(at);
    const key = spanKey(call.traceId, call.spanId);
    if (this.calls.has(key)) {
      this.counts.duplicateCalls++;
      return;
    }
    if (this.callOrder.full) this.evictOldestCall();
    const entry: CallEntry = { call, key, at };
    this.calls.set(key, entry);
    this.callOrder.push(entry);
    if (call.responseId !== undefined) this.callsByResponseId.set(call.responseId, entry);
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
    if (at - this.lastExpiry >= EXPIRE_EVERY_MS) this.expire(at);
    const id = feedback.feedbackKey !== '' ? feedback.feedbackKey : `#${this.anonymousFeedback++}`;
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
    // The ring counts arrivals: room is made by dropping the oldest still waiting, if any.
    if (this.pendingOrder.full) this.dropOldestPending();
    const entry: PendingEntry = { feedback, id, at, done: false };
    this.pending.set(id, entry);
    this.pendingOrder.push(entry);
    if (feedback.targetSpanKey !== undefined) {
      pushTo(this.pendingBySpanKey, feedback.targetSpanKey, entry);
    }
    if (feedback.targetResponseId !== undefined) {
      pushTo(this.pendingByResponseId, feedback.targetResponseId, entry);
    }
  }

  /**
   * Drops what has left the window. Runs from the adds at most once per `EXPIRE_EVERY_MS` of
   * clock (the entry bounds hold regardless), so a batch of 500 spans sweeps once.
   */
  expire(at: number = this.now()): void {
    this.lastExpiry = at;
    const horizon = at - this.windowMs;
    for (
      let e = this.callOrder.peek();
      e !== undefined && e.at <= horizon;
      e = this.callOrder.peek()
    ) {
      this.evictOldestCall();
    }
    for (
      let e = this.pendingOrder.peek();
      e !== undefined && e.at <= horizon;
      e = this.pendingOrder.peek()
    ) {
      this.dropOldestPending();
    }
    for (
      let e = this.appliedOrder.peek();
      e !== undefined && e.at <= horizon;
      e = this.appliedOrder.peek()
    ) {
      this.appliedOrder.shift();
      this.appliedFeedback.delete(e.id);
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
    // Retries come soon after the first attempt: the newest maxPendingFeedback ids are enough.
    if (this.appliedOrder.full) {
      const oldest = this.appliedOrder.shift();
      if (oldest !== undefined) this.appliedFeedback.delete(oldest.id);
    }
    this.appliedFeedback.add(id);
    this.appliedOrder.push({ id, at });
  }

  private evictOldestCall(): void {
    const entry = this.callOrder.shift();
    if (entry === undefined) return;
    this.calls.delete(entry.key);
    const responseId = entry.call.responseId;
    if (responseId !== undefined && this.callsByResponseId.get(responseId) === entry) {
      this.callsByResponseId.delete(responseId);
    }
  }

  /** Takes the oldest arrival off the ring; if it is still waiting, it is dropped unjoined. */
  private dropOldestPending(): void {
    const entry = this.pendingOrder.shift();
    if (entry === undefined || entry.done) return;
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
