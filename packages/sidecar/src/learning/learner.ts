/**
 * The learner: takes LLM calls and quality verdicts from span intake, keeps windowed statistics,
 * and turns them into learned rules in the `RuleStore` that the router reads.
 *
 * Recording is synchronous and cheap (a few additions into the current bucket). Decisions run in
 * `evaluate()`: after every `evaluateEveryVerdicts` verdicts, so a fast stream of feedback is not
 * starved, and on a timer (`evaluateIntervalMs`, default 1 s) so a slow one still gets decided.
 * Both follow the injected clock and the data, never the wall clock alone: the timer only
 * evaluates once the injected clock has moved `evaluateIntervalMs` past the last evaluation, and a
 * verdict-triggered evaluation runs once the current synchronous batch of records (one OTLP
 * request) is in, so the same calls and verdicts in the same batches give the same decisions
 * (a replay on a simulated clock is reproducible for its seed). Evaluations never overlap; one
 * requested while another runs makes the running one go round once more.
 * The store publishes each change to every replica (Redis pub/sub), so a decision is in force
 * everywhere well within a second. With several replicas only the one holding the statistics
 * store's lease writes rules.
 */

import type { Rule, RuleChange, RuleStore } from '../routing/rule.js';
import {
  armSince,
  type BudgetTuning,
  type CurrentRule,
  DEFAULT_BUDGET_TUNING,
  decideBudget,
  decidePerTask,
  estimateGroups,
  type TaskDecision,
} from './decision-rule.js';
import {
  type LearningConfig,
  type LearningConfigInput,
  resolveLearningConfig,
} from './learning-config.js';
import type { LearningSink, LlmCallRecord, QualityVerdict } from './llm-call.js';
import type { ModelPrices } from './model-prices.js';
import { createMemoryStatsStore, type StatsStore } from './stats-store.js';
import {
  type ArmStats,
  describeTaskKey,
  type TaskKey,
  type TaskStats,
  taskKeyId,
} from './task-stats.js';

export interface LearnerDeps {
  readonly store: RuleStore;
  /** Where statistics live. Defaults to memory (one process). */
  readonly stats?: StatsStore;
  readonly prices: ModelPrices;
  readonly config?: LearningConfigInput;
  /** Clock in ms since the epoch. */
  readonly now: () => number;
  /** Random source in [0, 1); reserved for sampling (shadow judging). Defaults to Math.random. */
  readonly random?: () => number;
  /** Where evaluation errors go (they never throw out of the sink). Defaults to ignoring them. */
  readonly onError?: (error: unknown) => void;
  /** Internal knobs of the budget decision; tests and the replay tune them. */
  readonly budgetTuning?: Partial<BudgetTuning>;
}

/** One arm of a task in the report. */
export interface ArmReport {
  readonly model: string;
  readonly calls: number;
  readonly judged: number;
  /** Mean quality of judged calls, or null with none. */
  readonly quality: number | null;
  readonly errorRate: number;
  readonly truncationRate: number;
  readonly costUsd: number;
  readonly savedUsd: number;
  readonly meanLatencyMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface TaskReport {
  readonly agent: string;
  readonly task: string;
  readonly model: string;
  readonly calls: number;
  readonly arms: readonly ArmReport[];
}

/** What the learner saw at its last evaluation: for the rules API and dashboard. */
export interface LearnerReport {
  readonly evaluatedAt: number | null;
  readonly mode: LearningConfig['mode'];
  readonly tolerance: number;
  readonly totals: { readonly calls: number; readonly costUsd: number; readonly savedUsd: number };
  readonly tasks: readonly TaskReport[];
  /** Budget mode: the pooled gap and the capacity used at the last evaluation. */
  readonly budget?: {
    readonly pooledGap: number;
    readonly capacityPerCall: number;
    readonly plannedLossPerCall: number;
    readonly slack: number;
  };
}

export interface Learner extends LearningSink {
  /** Runs one decision now (waits for a running one to finish, then runs again). */
  evaluate(): Promise<void>;
  report(): LearnerReport;
  readonly config: LearningConfig;
  /** Stops the timer and waits for a running evaluation. */
  close(): Promise<void>;
}

const FAILURE_FINISH = new Set(['length']);
const REFUSAL_FINISH = new Set(['content_filter', 'refusal']);

/** A short, header-safe rule id that is the same for a group on every replica. */
export function learnedRuleId(key: TaskKey): string {
  // FNV-1a, 32 bit: stable and cheap; collisions only merge two groups' ids in headers.
  let h = 0x811c9dc5;
  const s = taskKeyId(key);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `learned-${h.toString(16).padStart(8, '0')}`;
}

function isFailure(call: LlmCallRecord): { failed: boolean; truncated: boolean; refused: boolean } {
  const truncated = call.finishReasons.some((r) => FAILURE_FINISH.has(r));
  const refused = call.finishReasons.some((r) => REFUSAL_FINISH.has(r));
  return { failed: call.error || truncated || refused, truncated, refused };
}

function isCacheHit(call: LlmCallRecord): boolean {
  return call.cacheStatus === 'hit-memory' || call.cacheStatus === 'hit-redis';
}

/**
 * Creates the learner. Start-up does no I/O; the timer starts at once unless
 * `evaluateIntervalMs` is 0.
 * @example
 * const learner = createLearner({ store, prices: defaultPriceTable, now: Date.now, config: { mode: 'budget' } });
 * intake.sink = learner;
 */
export function createLearner(deps: LearnerDeps): Learner {
  const config = resolveLearningConfig(deps.config);
  const tuning: BudgetTuning = { ...DEFAULT_BUDGET_TUNING, ...deps.budgetTuning };
  const stats =
    deps.stats ??
    createMemoryStatsStore({
      bucketMs: config.bucketMs,
      buckets: config.buckets,
      maxSamplesPerArm: config.maxSamplesPerArm,
      maxGroups: config.maxGroups,
    });
  const onError = deps.onError ?? (() => {});
  const startedAt = deps.now();
  // Candidate arm counts when a downgrade started, so its live quality can be told apart
  // from the evidence that created it. Bounded by the number of learned rules.
  const liveBase = new Map<string, Pick<ArmStats, 'judged' | 'qualitySum' | 'qualitySquares'>>();
  // When each group's rule was last removed: it may not come back before minChangeIntervalMs.
  const removedAt = new Map<string, number>();
  let verdictsSinceEvaluation = 0;
  // Injected-clock time of the last evaluation's start: the timer only evaluates past it.
  let lastEvaluatedAt = startedAt;
  let deferred = false;
  // Rule writes that the store has applied but is still persisting; awaited by close().
  const persisting = new Set<Promise<void>>();
  let inflight: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let report: LearnerReport = {
    evaluatedAt: null,
    mode: config.mode,
    tolerance: config.tolerance,
    totals: { calls: 0, costUsd: 0, savedUsd: 0 },
    tasks: [],
  };

  function costOf(model: string, call: LlmCallRecord): number | undefined {
    return deps.prices.cost(model, {
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
    })?.totalUsd;
  }

  function keyOf(call: LlmCallRecord): TaskKey {
    return { agent: call.agent, task: call.task, model: call.requestedModel };
  }

  function trigger(): void {
    if (closed) return;
    evaluate().catch(onError);
  }

  // After the records of the current synchronous batch: which verdict of a batch crossed the
  // count must not change what the evaluation sees.
  function triggerAfterBatch(): void {
    if (deferred || closed) return;
    deferred = true;
    queueMicrotask(() => {
      deferred = false;
      trigger();
    });
  }

  function onTimer(): void {
    if (deps.now() - lastEvaluatedAt >= config.evaluateIntervalMs) trigger();
  }

  async function evaluateOnce(): Promise<void> {
    const now = deps.now();
    lastEvaluatedAt = now;
    const taskStats = await stats.read(now);
    // Every replica reports the shared statistics; only the lease holder decides.
    if (!(await stats.tryLead(now))) {
      report = buildReport(now, taskStats, report.budget);
      return;
    }
    const snapshot = deps.store.snapshot();
    const learned = new Map<string, Rule>();
    for (const r of snapshot.rules) if (r.source === 'learned') learned.set(r.id, r);

    const byId = new Map<string, TaskStats>();
    for (const t of taskStats) byId.set(learnedRuleId(t.key), t);
    const current = new Map<string, CurrentRule>();
    for (const r of learned.values()) {
      const base = liveBase.get(r.id);
      const arm = byId.get(r.id)?.arms[r.targetModel];
      current.set(r.id, {
        kind: r.kind,
        share: r.share,
        since: r.createdAt,
        ...(base !== undefined && arm !== undefined ? { live: armSince(arm, base) } : {}),
      });
    }
    const observedMs = Math.min(config.bucketMs * config.buckets, Math.max(now - startedAt, 1_000));
    const estimates = estimateGroups(taskStats, config.ladders, deps.prices, observedMs);
    const ctx = { config, now, current, pins: snapshot.pins, idOf: learnedRuleId };
    let decisions: TaskDecision[];
    let budget: LearnerReport['budget'];
    if (config.mode === 'budget') {
      const plan = decideBudget(estimates, ctx, tuning);
      decisions = plan.decisions;
      budget = {
        pooledGap: plan.pool.mean,
        capacityPerCall: plan.capacity,
        plannedLossPerCall: plan.plannedLoss,
        slack: plan.slack,
      };
    } else {
      decisions = decidePerTask(estimates, ctx);
    }
    report = buildReport(now, taskStats, budget);

    const { rules, changes } = diff(now, learned, decisions, byId);
    if (changes.length === 0) return;
    const before = deps.store.snapshot().version;
    const write = deps.store.setLearnedRules(rules, changes);
    if (deps.store.snapshot().version !== before) {
      // The store applied the rules at once (memory, snapshot file) and only persists them now,
      // in order: the next decision need not wait for disk I/O. Otherwise a slow write would
      // push the next evaluation, and so its rules, later by a machine-dependent amount.
      const tracked = write.catch(onError).finally(() => persisting.delete(tracked));
      persisting.add(tracked);
    } else {
      // Applied only when written (Redis): the next decision must see these rules.
      await write;
    }
  }

  function diff(
    now: number,
    learned: ReadonlyMap<string, Rule>,
    decisions: readonly TaskDecision[],
    byId: ReadonlyMap<string, TaskStats>,
  ): { rules: Rule[]; changes: RuleChange[] } {
    const rules: Rule[] = [];
    const changes: RuleChange[] = [];
    const decided = new Set<string>();
    for (const d of decisions) {
      const id = learnedRuleId(d.key);
      decided.add(id);
      const old = learned.get(id);
      const label = describeTaskKey(d.key);
      if (old === undefined) {
        const removed = removedAt.get(id);
        if (removed !== undefined && now - removed < config.minChangeIntervalMs) continue;
        rules.push(makeRule(id, d, now, now));
        if (d.kind === 'downgrade') markLive(id, d, byId);
        changes.push({
          at: now,
          action: 'created',
          ruleId: id,
          detail: `${label}: ${d.kind} ${pct(d.share)} to ${d.candidateModel}`,
          evidence: d.evidence,
        });
        continue;
      }
      if (old.kind === d.kind && old.share === d.share && old.targetModel === d.candidateModel) {
        rules.push(old);
        continue;
      }
      rules.push(makeRule(id, d, old.createdAt, now));
      if (d.kind === 'downgrade' && old.kind !== 'downgrade') markLive(id, d, byId);
      changes.push({
        at: now,
        action: 'updated',
        ruleId: id,
        detail: `${label}: ${old.kind} ${pct(old.share)} → ${d.kind} ${pct(d.share)} to ${d.candidateModel}`,
        evidence: d.evidence,
      });
    }
    for (const [id, old] of learned) {
      if (decided.has(id)) continue;
      removedAt.set(id, now);
      liveBase.delete(id);
      const m = old.match;
      const label = `${m.agent ?? '*'}/${m.task ?? '*'} (${m.model ?? '*'})`;
      changes.push({
        at: now,
        action: old.kind === 'downgrade' ? 'reverted' : 'removed',
        ruleId: id,
        detail:
          old.kind === 'downgrade'
            ? `${label}: back to ${m.model ?? 'the requested model'}; ${old.targetModel} no longer within ${config.mode === 'budget' ? 'the budget' : 'tolerance'}`
            : `${label}: canary to ${old.targetModel} ended`,
        ...(old.evidence !== undefined ? { evidence: old.evidence } : {}),
      });
    }
    // Bound the removal memory: entries older than the interval no longer matter.
    if (removedAt.size > 10_000) {
      for (const [id, at] of removedAt)
        if (now - at >= config.minChangeIntervalMs) removedAt.delete(id);
    }
    return { rules, changes };
  }

  function markLive(id: string, d: TaskDecision, byId: ReadonlyMap<string, TaskStats>): void {
    const arm = byId.get(id)?.arms[d.candidateModel];
    liveBase.set(id, {
      judged: arm?.judged ?? 0,
      qualitySum: arm?.qualitySum ?? 0,
      qualitySquares: arm?.qualitySquares ?? 0,
    });
  }

  function makeRule(id: string, d: TaskDecision, createdAt: number, updatedAt: number): Rule {
    return {
      id,
      source: 'learned',
      kind: d.kind,
      match: { agent: d.key.agent, task: d.key.task, model: d.key.model },
      targetModel: d.candidateModel,
      share: d.share,
      evidence: d.evidence,
      createdAt,
      updatedAt,
    };
  }

  function buildReport(
    now: number,
    taskStats: readonly TaskStats[],
    budget: LearnerReport['budget'],
  ): LearnerReport {
    let calls = 0;
    let costUsd = 0;
    let savedUsd = 0;
    const tasks: TaskReport[] = [];
    for (const t of taskStats) {
      const arms: ArmReport[] = [];
      let taskCalls = 0;
      for (const [model, a] of Object.entries(t.arms)) {
        taskCalls += a.calls;
        costUsd += a.costUsd;
        savedUsd += a.savedUsd;
        arms.push({
          model,
          calls: a.calls,
          judged: a.judged,
          quality: a.judged > 0 ? a.qualitySum / a.judged : null,
          errorRate: a.calls > 0 ? a.errors / a.calls : 0,
          truncationRate: a.calls > 0 ? a.truncations / a.calls : 0,
          costUsd: a.costUsd,
          savedUsd: a.savedUsd,
          meanLatencyMs: a.calls > 0 ? a.latencyMs / a.calls : 0,
          inputTokens: a.inputTokens,
          outputTokens: a.outputTokens,
        });
      }
      calls += taskCalls;
      arms.sort((a, b) => b.calls - a.calls);
      tasks.push({
        agent: t.key.agent,
        task: t.key.task,
        model: t.key.model,
        calls: taskCalls,
        arms,
      });
    }
    tasks.sort((a, b) => b.calls - a.calls || a.task.localeCompare(b.task));
    return {
      evaluatedAt: now,
      mode: config.mode,
      tolerance: config.tolerance,
      totals: { calls, costUsd, savedUsd },
      tasks,
      ...(budget !== undefined ? { budget } : {}),
    };
  }

  function evaluate(): Promise<void> {
    if (inflight !== undefined) {
      again = true;
      return inflight;
    }
    verdictsSinceEvaluation = 0;
    inflight = (async () => {
      try {
        do {
          again = false;
          await evaluateOnce();
        } while (again && !closed);
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  const timer =
    config.enabled && config.evaluateIntervalMs > 0
      ? setInterval(onTimer, config.evaluateIntervalMs)
      : undefined;
  timer?.unref();

  return {
    config,
    recordCall(call) {
      if (!config.enabled || isCacheHit(call)) return;
      try {
        const { failed, truncated, refused } = isFailure(call);
        const cost = call.costUsd ?? costOf(call.servedModel, call) ?? 0;
        let saved = 0;
        if (call.servedModel !== call.requestedModel) {
          const wouldHave = costOf(call.requestedModel, call);
          if (wouldHave !== undefined) saved = wouldHave - cost;
        }
        const canary = call.routeReason === 'canary';
        stats.add(
          keyOf(call),
          call.servedModel,
          {
            calls: 1,
            inputTokens: call.inputTokens,
            outputTokens: call.outputTokens,
            costUsd: cost,
            savedUsd: saved,
            latencyMs: call.durationMs,
            errors: call.error ? 1 : 0,
            truncations: truncated ? 1 : 0,
            refusals: refused ? 1 : 0,
            // A failed call is a judged call of quality 0; feedback on it is ignored below.
            judged: failed ? 1 : 0,
            canaryCalls: canary ? 1 : 0,
            canaryCostUsd: canary ? cost : 0,
          },
          deps.now(),
        );
      } catch (err) {
        onError(err);
      }
    },
    recordVerdict(call, verdict: QualityVerdict) {
      if (!config.enabled || isCacheHit(call) || isFailure(call).failed) return;
      const s = verdict.score;
      if (typeof s !== 'number' || !Number.isFinite(s)) return;
      const score = Math.min(1, Math.max(0, s));
      try {
        stats.add(
          keyOf(call),
          call.servedModel,
          { judged: 1, qualitySum: score, qualitySquares: score * score },
          deps.now(),
        );
      } catch (err) {
        onError(err);
        return;
      }
      verdictsSinceEvaluation++;
      if (
        config.evaluateEveryVerdicts > 0 &&
        verdictsSinceEvaluation >= config.evaluateEveryVerdicts
      ) {
        verdictsSinceEvaluation = 0;
        triggerAfterBatch();
      }
    },
    evaluate() {
      if (!config.enabled) return Promise.resolve();
      return evaluate();
    },
    report: () => report,
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await inflight?.catch(() => {});
      await Promise.all(persisting);
    },
  };
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
