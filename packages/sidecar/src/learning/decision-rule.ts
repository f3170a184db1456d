/**
 * The decision rule: pure functions from windowed statistics to "serve this share of task T's
 * traffic with candidate C". No I/O and no clock of their own, so every branch is unit-tested on
 * constructed numbers. docs/learning.md explains the same statistics in prose.
 *
 * Notation, per group g = (agent, task, requested model B) with ladder candidate C:
 *   nB, nC   judged calls served by B and by C in the window
 *   qB, qC   their mean quality (scores in 0..1; failures count as 0)
 *   vB, vC   the variance of one score, from a Jeffreys-smoothed mean so that 0/n and n/n
 *            still carry uncertainty: p~ = (sum + 1/2) / (n + 1), v = E~[s^2] - p~^2
 *   d = qB - qC   the quality gap (absolute); X = tolerance (share of baseline quality)
 *
 * Per-task mode (the strict promise). The task is within tolerance iff qC >= (1 - X) qB, i.e.
 * D = qC - (1 - X) qB >= 0. With independent samples, D^ is approximately normal with
 * variance vC/nC + (1 - X)^2 vB/nB, so the confidence that the task is within tolerance is
 * Phi(D^ / sd). A downgrade is written when both arms have `minSamples` judged calls and that
 * confidence reaches `confidence` (0.9); it is reverted when the confidence, on the window or on
 * the calls judged since the rule started, falls below `revertConfidence` (0.5). The gap between
 * the two thresholds is the hysteresis. Each task is judged on its own data only.
 *
 * Budget mode (traffic-weighted). The promise is sum_g w_g s_g d_g <= X sum_g w_g qB_g, where
 * w_g is g's share of traffic and s_g the share of g sent to C. Two statistical steps:
 *  1. Empirical-Bayes shrinkage. One task has few samples, but all tasks together say a lot
 *     about how much worse C usually is. The gaps d_g are pooled with a random-effects model
 *     (DerSimonian-Laird): d_g ~ N(mu, tau^2 + s_g^2), tau^2 estimated from the data. Each task
 *     is shrunk toward the pool of the OTHER tasks (leave-one-out mean mu_-g, variance V_-g):
 *     d^_g = (t2 d_g + s_g^2 mu_-g) / (t2 + s_g^2), variance t2 s_g^2 / (t2 + s_g^2), with
 *     t2 = tau^2 + V_-g; a task with no candidate data gets mu (before any data: `priorGap` x
 *     baseline quality).
 *  2. Knapsack. Each group offers saving w_g (costB - costC) per unit of share for a loss of
 *     w_g max(d^_g, 0). The budget is filled greedily by saving per unit of loss, so the last group
 *     that fits gets a partial share. Ranking uses an optimistic gap d^_g - kappa sqrt(var)
 *     (explore where C looks promising but is uncertain), charging uses d^_g.
 *  3. Budget only spent once earned. Over a horizon H = the calls seen so far (>= 100, <=
 *     `budgetHorizonCalls`): spent + planned(H) + z sd(spent + planned) <= earned + X q̄B H, where
 *     earned = X x the baseline quality of the calls seen, spent = the candidate calls' loss so
 *     far at their OBSERVED scores (only the baseline side is estimated), planned = H w_g s_g d^_g.
 *     See `decideBudget` for the variance. One task's share thus ramps up with its evidence.
 *     Groups whose candidate has fewer than `minSamples` judged calls get the exploration share
 *     first (charged to the same budget) and are capped at `exploration.maxShare`.
 */
import type { Pin, RuleEvidence, RuleMatch } from '../routing/rule.js';
import type { LearningConfig, ModelLadder } from './learning-config.js';
import type { ModelPrices } from './model-prices.js';
import type { ArmStats, TaskKey, TaskStats } from './task-stats.js';

const DAY_MS = 86_400_000;

/** Mean and per-score variance of one arm. */
export interface ArmSummary {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/** Everything a decision needs about one group and its candidate. */
export interface GroupEstimate {
  readonly key: TaskKey;
  readonly candidateModel: string;
  readonly baseline: ArmSummary;
  readonly candidate: ArmSummary;
  /** All calls of the group in the window, whichever model served them. */
  readonly calls: number;
  /** Calls served by the candidate in the window (judged or not). */
  readonly candidateCalls: number;
  readonly callsPerDay: number;
  readonly baselineCostPerCall: number;
  readonly candidateCostPerCall: number;
  /** Canary calls' cost in the window, scaled to a day. */
  readonly canarySpendUsdPerDay: number;
}

/** What the learner wants for one group. `share` 0 means no rule. */
export interface TaskDecision {
  readonly key: TaskKey;
  readonly candidateModel: string;
  readonly kind: 'downgrade' | 'canary';
  readonly share: number;
  readonly evidence: RuleEvidence;
}

/** The learner's current rule for a group, as far as the decision needs it. */
export interface CurrentRule {
  readonly kind: 'downgrade' | 'canary';
  readonly share: number;
  /** When the rule last flipped on (ms). */
  readonly since: number;
  /** The candidate arm's quality on calls judged since the rule started, when known. */
  readonly live?: ArmSummary;
}

// ---------------------------------------------------------------------------------------------
// Small statistics

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; absolute error < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Inverse of `normalCdf` (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Mean and per-score variance of judged calls; see the header for the smoothing. */
export function summarizeArm(
  arm: Pick<ArmStats, 'judged' | 'qualitySum' | 'qualitySquares'> | undefined,
): ArmSummary {
  const n = arm?.judged ?? 0;
  const sum = arm?.qualitySum ?? 0;
  const squares = arm?.qualitySquares ?? 0;
  const smoothedMean = (sum + 0.5) / (n + 1);
  const smoothedSquare = (squares + 0.5) / (n + 1);
  const variance = Math.max(smoothedSquare - smoothedMean * smoothedMean, 1e-4);
  return { n, mean: n > 0 ? sum / n : smoothedMean, variance };
}

/** The arm accumulated since `before` was taken (the window may have rolled: then undefined). */
export function armSince(
  now: Pick<ArmStats, 'judged' | 'qualitySum' | 'qualitySquares'>,
  before: Pick<ArmStats, 'judged' | 'qualitySum' | 'qualitySquares'>,
): ArmSummary | undefined {
  const judged = now.judged - before.judged;
  if (judged < 0 || now.qualitySum < before.qualitySum) return undefined;
  return summarizeArm({
    judged,
    qualitySum: now.qualitySum - before.qualitySum,
    qualitySquares: now.qualitySquares - before.qualitySquares,
  });
}

/** Confidence that the candidate keeps at least (1 - tolerance) of the baseline's quality. */
export function withinToleranceConfidence(
  baseline: ArmSummary,
  candidate: ArmSummary,
  tolerance: number,
): number {
  if (baseline.n === 0 || candidate.n === 0) return 0;
  const keep = 1 - tolerance;
  const margin = candidate.mean - keep * baseline.mean;
  const sd = Math.sqrt(
    candidate.variance / candidate.n + (keep * keep * baseline.variance) / baseline.n,
  );
  return normalCdf(margin / sd);
}

// ---------------------------------------------------------------------------------------------
// From statistics to estimates

/** The candidate for a requested model: the first model of its ladder. Dated names match their base. */
export function candidateFor(model: string, ladders: readonly ModelLadder[]): string | undefined {
  for (const l of ladders) if (l.from === model) return l.to[0];
  for (const l of ladders) {
    if (
      model.startsWith(`${l.from}-`) &&
      /^\d{4}-\d{2}-\d{2}$|^\d{4}$/.test(model.slice(l.from.length + 1))
    ) {
      return l.to[0];
    }
  }
  return undefined;
}

function totalCalls(arms: Readonly<Record<string, ArmStats>>): {
  calls: number;
  input: number;
  output: number;
} {
  let calls = 0;
  let input = 0;
  let output = 0;
  for (const a of Object.values(arms)) {
    calls += a.calls;
    input += a.inputTokens;
    output += a.outputTokens;
  }
  return { calls, input, output };
}

/**
 * One estimate per group that has a cheaper candidate. Prices come from the price table for the
 * group's average tokens; a model without a price falls back to its observed cost per call.
 * `observedMs` is how long the window has really been collecting (for per-day figures).
 */
export function estimateGroups(
  stats: readonly TaskStats[],
  ladders: readonly ModelLadder[],
  prices: ModelPrices,
  observedMs: number,
): GroupEstimate[] {
  const out: GroupEstimate[] = [];
  const perDay = DAY_MS / Math.max(observedMs, 1_000);
  for (const g of stats) {
    const candidateModel = candidateFor(g.key.model, ladders);
    if (candidateModel === undefined) continue;
    const { calls, input, output } = totalCalls(g.arms);
    if (calls === 0) continue;
    const usage = { inputTokens: input / calls, outputTokens: output / calls };
    const b = g.arms[g.key.model];
    const c = g.arms[candidateModel];
    const baselineCostPerCall =
      prices.cost(g.key.model, usage)?.totalUsd ??
      (b && b.calls > 0 ? b.costUsd / b.calls : Number.NaN);
    const candidateCostPerCall =
      prices.cost(candidateModel, usage)?.totalUsd ??
      (c && c.calls > 0 ? c.costUsd / c.calls : Number.NaN);
    if (!Number.isFinite(baselineCostPerCall) || !Number.isFinite(candidateCostPerCall)) continue;
    out.push({
      key: g.key,
      candidateModel,
      baseline: summarizeArm(b),
      candidate: summarizeArm(c),
      calls,
      candidateCalls: c?.calls ?? 0,
      callsPerDay: calls * perDay,
      baselineCostPerCall,
      candidateCostPerCall,
      canarySpendUsdPerDay: (c?.canaryCostUsd ?? 0) * perDay,
    });
  }
  return out;
}

/** True when an operator pin matches the whole group (the router would never move its traffic). */
export function isPinned(key: TaskKey, pins: readonly Pin[]): boolean {
  return pins.some((p) => matchesGroup(p.match, key));
}

function matchesGroup(m: RuleMatch, key: TaskKey): boolean {
  return (
    (m.agent === undefined || m.agent === key.agent) &&
    (m.task === undefined || m.task === key.task) &&
    (m.model === undefined || m.model === key.model)
  );
}

// ---------------------------------------------------------------------------------------------
// Per-task mode

export interface DecisionContext {
  readonly config: LearningConfig;
  readonly now: number;
  readonly current: ReadonlyMap<string, CurrentRule>;
  readonly pins: readonly Pin[];
  /** Group id → the id used to look up `current` (taskKeyId). */
  readonly idOf: (key: TaskKey) => string;
}

function savingPerDay(e: GroupEstimate, share: number): number {
  return e.callsPerDay * share * Math.max(e.baselineCostPerCall - e.candidateCostPerCall, 0);
}

function explorationAllowed(e: GroupEstimate, config: LearningConfig): boolean {
  return (
    config.exploration.enabled &&
    config.exploration.share > 0 &&
    e.canarySpendUsdPerDay <= config.exploration.maxSpendUsdPerDay
  );
}

/**
 * Per-task decisions: downgrade only what is, with `confidence`, within tolerance on its own data.
 * @example decidePerTask(estimateGroups(stats, ladders, prices, windowMs), ctx)
 */
export function decidePerTask(
  estimates: readonly GroupEstimate[],
  ctx: DecisionContext,
): TaskDecision[] {
  const { config } = ctx;
  const out: TaskDecision[] = [];
  for (const e of estimates) {
    if (e.candidateCostPerCall >= e.baselineCostPerCall || isPinned(e.key, ctx.pins)) continue;
    const current = ctx.current.get(ctx.idOf(e.key));
    const confidence = withinToleranceConfidence(e.baseline, e.candidate, config.tolerance);
    const enough = e.baseline.n >= config.minSamples && e.candidate.n >= config.minSamples;
    const evidence = (share: number, note: string): RuleEvidence => ({
      mode: 'per-task',
      tolerance: config.tolerance,
      baselineModel: e.key.model,
      candidateModel: e.candidateModel,
      baselineSamples: e.baseline.n,
      candidateSamples: e.candidate.n,
      baselineQuality: e.baseline.mean,
      candidateQuality: e.candidate.mean,
      confidence,
      projectedSavingUsdPerDay: savingPerDay(e, share),
      note,
    });

    if (current?.kind === 'downgrade') {
      const liveMin = Math.max(5, Math.ceil(config.minSamples / 2));
      const liveConfidence =
        current.live !== undefined && current.live.n >= liveMin
          ? withinToleranceConfidence(e.baseline, current.live, config.tolerance)
          : 1;
      if (confidence >= config.revertConfidence && liveConfidence >= config.revertConfidence) {
        out.push({
          key: e.key,
          candidateModel: e.candidateModel,
          kind: 'downgrade',
          share: 1,
          evidence: evidence(1, 'within tolerance'),
        });
      }
      // Otherwise: reverted (no decision), because live quality broke the tolerance.
      continue;
    }
    if (enough && confidence >= config.confidence) {
      out.push({
        key: e.key,
        candidateModel: e.candidateModel,
        kind: 'downgrade',
        share: 1,
        evidence: evidence(1, 'within tolerance'),
      });
      continue;
    }
    // Explore while the answer is open: too few samples, or not clearly outside the tolerance.
    const open = e.candidate.n < config.minSamples || confidence >= 0.05;
    if (open && explorationAllowed(e, config)) {
      const share = config.exploration.share;
      out.push({
        key: e.key,
        candidateModel: e.candidateModel,
        kind: 'canary',
        share,
        evidence: evidence(share, 'exploring'),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Budget mode

/** Result of pooling the groups' gaps. */
export interface GapPool {
  /** Pooled mean gap (absolute quality). */
  readonly mean: number;
  /** Between-task variance of the true gap. */
  readonly tau2: number;
  /** Variance of the pooled mean. */
  readonly meanVariance: number;
  /** Groups that contributed. */
  readonly groups: number;
  /**
   * Sum of the random-effects weights (prior included) and of weight x gap: with them a group's
   * own contribution can be taken out again (leave-one-out, see `shrinkGap`).
   */
  readonly weight?: number;
  readonly weightedSum?: number;
}

/** Smallest between-task variance assumed: tasks are never taken to be exactly alike. */
const MIN_TAU2 = 0.03 ** 2;

/**
 * Random-effects pooling (DerSimonian-Laird) of the gaps of groups that have both arms judged.
 * `prior` is used as one extra pseudo-group so that the pool is defined before any data.
 */
export function poolGaps(
  estimates: readonly GroupEstimate[],
  prior: { mean: number; variance: number },
): GapPool {
  const ds: number[] = [];
  const vs: number[] = [];
  for (const e of estimates) {
    if (e.baseline.n === 0 || e.candidate.n === 0) continue;
    ds.push(e.baseline.mean - e.candidate.mean);
    vs.push(e.baseline.variance / e.baseline.n + e.candidate.variance / e.candidate.n);
  }
  const k = ds.length;
  if (k === 0)
    return {
      mean: prior.mean,
      tau2: Math.max(prior.variance, MIN_TAU2),
      meanVariance: prior.variance,
      groups: 0,
    };
  let sw = 0;
  let swd = 0;
  let sw2 = 0;
  for (let i = 0; i < k; i++) {
    const w = 1 / vs[i]!;
    sw += w;
    swd += w * ds[i]!;
    sw2 += w * w;
  }
  const fixed = swd / sw;
  let q = 0;
  for (let i = 0; i < k; i++) q += (ds[i]! - fixed) ** 2 / vs[i]!;
  const denom = sw - sw2 / sw;
  const tau2 = Math.max(k > 1 && denom > 0 ? (q - (k - 1)) / denom : 0, MIN_TAU2);
  // Random-effects mean, with the prior as one more observation of variance prior.variance.
  let rw = 1 / prior.variance;
  let rwd = prior.mean / prior.variance;
  for (let i = 0; i < k; i++) {
    const w = 1 / (vs[i]! + tau2);
    rw += w;
    rwd += w * ds[i]!;
  }
  return { mean: rwd / rw, tau2, meanVariance: 1 / rw, groups: k, weight: rw, weightedSum: rwd };
}

/** A group's gap shrunk toward the pool: posterior mean and variance. */
export function shrinkGap(e: GroupEstimate, pool: GapPool): { gap: number; variance: number } {
  if (e.candidate.n === 0 || e.baseline.n === 0) {
    return { gap: pool.mean, variance: pool.tau2 + pool.meanVariance };
  }
  const raw = e.baseline.mean - e.candidate.mean;
  const s2 = e.baseline.variance / e.baseline.n + e.candidate.variance / e.candidate.n;
  // Leave-one-out: the group is shrunk toward the pool of the OTHER groups (and the prior). With
  // its own data in the pool it would be counted twice, which with few groups (one task: GSM8K)
  // roughly halves its posterior variance and makes early, lucky estimates look certain.
  let poolMean = pool.mean;
  let poolVar = pool.meanVariance;
  if (pool.weight !== undefined && pool.weightedSum !== undefined) {
    const own = 1 / (s2 + pool.tau2);
    const rest = pool.weight - own;
    if (rest > 1e-12) {
      poolMean = (pool.weightedSum - own * raw) / rest;
      poolVar = 1 / rest;
    }
  }
  const priorVar = pool.tau2 + poolVar;
  const gap = (priorVar * raw + s2 * poolMean) / (priorVar + s2);
  return { gap, variance: (priorVar * s2) / (priorVar + s2) };
}

/** One knapsack item: a group's traffic that may move to its candidate. */
export interface BudgetItem {
  readonly id: string;
  /** Saving per unit of share (any unit, the same for all items). */
  readonly value: number;
  /** Quality loss per unit of share, in the capacity's unit; 0 = free. */
  readonly loss: number;
  /** Greedy order: higher first. */
  readonly rank: number;
  /** Share granted before the greedy pass (exploration), charged first. */
  readonly minShare: number;
  readonly maxShare: number;
}

/**
 * Greedy fractional knapsack: minimum shares first, then items by `rank`, each taking as much
 * share as the remaining capacity buys; the last one that fits gets a partial share. If even the
 * minimum shares do not fit, they are scaled down together.
 * @example allocateBudget([{ id: 'a', value: 1, loss: 0.1, rank: 10, minShare: 0, maxShare: 1 }], 0.05) // a → 0.5
 */
export function allocateBudget(
  items: readonly BudgetItem[],
  capacity: number,
): Map<string, number> {
  const shares = new Map<string, number>();
  let used = 0;
  for (const it of items) {
    shares.set(it.id, it.minShare);
    used += it.minShare * it.loss;
  }
  const cap = Math.max(capacity, 0);
  if (used > cap) {
    const scale = used > 0 ? cap / used : 0;
    for (const it of items) shares.set(it.id, it.minShare * scale);
    return shares;
  }
  const order = [...items].sort((a, b) => b.rank - a.rank || a.id.localeCompare(b.id));
  for (const it of order) {
    if (it.value <= 0) continue;
    const room = it.maxShare - it.minShare;
    if (room <= 0) continue;
    if (it.loss <= 0) {
      shares.set(it.id, it.maxShare);
      continue;
    }
    const extra = Math.min(room, (cap - used) / it.loss);
    if (extra <= 0) continue;
    shares.set(it.id, it.minShare + extra);
    used += extra * it.loss;
  }
  return shares;
}

/** Knobs of the budget decision that are not operator configuration. */
export interface BudgetTuning {
  /** Optimism of the ranking, in posterior standard deviations. */
  readonly optimism: number;
  /** Rank bonus for groups that already have a rule (hysteresis). */
  readonly incumbentBonus: number;
  /** Shares below this are dropped. */
  readonly minShare: number;
  /**
   * Highest share of a group moved to its candidate: the rest keeps feeding the baseline's
   * quality estimate, which would otherwise freeze at the (selected, hence optimistic) value it had
   * when the group was downgraded.
   */
  readonly maxShare: number;
  /**
   * Loss is charged at the posterior gap plus this many posterior standard deviations. Groups get
   * traffic because their gap looked small, so their estimates are biased low (winner's curse);
   * charging the uncertain ones more keeps the realised loss within the budget.
   */
  readonly chargeMargin: number;
  /** Judged candidate calls a group gets at the exploration share before the knapsack alone decides. */
  readonly exploreSamples: number;
  /**
   * Scales the confidence reserve kept out of the budget (1 = z of `confidence`). Default 1.25:
   * the baseline estimate of downgraded groups is biased low by selection (they were picked when
   * their gap looked small, and their baseline is then sampled only by the holdout), which the
   * variance does not model; the extra quarter covers it on the replay benchmarks.
   */
  readonly reserve: number;
  /**
   * A downgraded group keeps at least `holdoutShare` of its traffic on the baseline until the
   * baseline has `holdoutSamples` judged calls, so the gap of the groups that carry most of the
   * candidate traffic is measured well instead of frozen at a lucky early value.
   */
  readonly holdoutSamples: number;
  readonly holdoutShare: number;
  /** The payback horizon is this share of the calls seen so far, ... */
  readonly horizonShare: number;
  /** ... but at least this many calls (and at most `budgetHorizonCalls`). */
  readonly minHorizonCalls: number;
  /** Charge the past at the observed candidate scores (true) or at the posterior gap (false). */
  readonly observedSpent: boolean;
  /** With `observedSpent`: weight of the observed gap against the posterior gap (1 = observed only). */
  readonly observedWeight: number;
}

export const DEFAULT_BUDGET_TUNING: BudgetTuning = Object.freeze({
  optimism: 0.25,
  incumbentBonus: 0.4,
  minShare: 0.02,
  maxShare: 1,
  chargeMargin: 0,
  exploreSamples: 8,
  reserve: 1.25,
  holdoutSamples: 100,
  holdoutShare: 0.1,
  horizonShare: 1,
  minHorizonCalls: 100,
  observedSpent: true,
  observedWeight: 1,
});

/** The budget decision and the numbers behind it, for the report. */
export interface BudgetPlan {
  readonly decisions: TaskDecision[];
  readonly pool: GapPool;
  /** Allowed loss per call (absolute quality), after the slack correction. */
  readonly capacity: number;
  /** Budget earned minus loss spent so far in the window (absolute quality x calls). */
  readonly slack: number;
  /** Planned loss per call. */
  readonly plannedLoss: number;
}

/**
 * Budget-mode decisions: spend the quality budget where it buys the most saving.
 * @example decideBudget(estimateGroups(stats, ladders, prices, windowMs), ctx).decisions
 */
export function decideBudget(
  estimates: readonly GroupEstimate[],
  ctx: DecisionContext,
  tuning: BudgetTuning = DEFAULT_BUDGET_TUNING,
): BudgetPlan {
  const { config } = ctx;
  let calls = 0;
  let baselineQualityCalls = 0;
  for (const e of estimates) {
    calls += e.calls;
    baselineQualityCalls += e.calls * (e.baseline.n > 0 ? e.baseline.mean : 0.5);
  }
  const meanBaseline = calls > 0 ? baselineQualityCalls / calls : 0.5;
  const pool = poolGaps(estimates, {
    mean: config.priorGap * meanBaseline,
    variance: (config.priorGap * meanBaseline) ** 2,
  });

  const posts = estimates.map((e) => shrinkGap(e, pool));
  const charges = posts.map((p) =>
    Math.max(p.gap + tuning.chargeMargin * Math.sqrt(p.variance), 0),
  );
  // Loss spent so far, per group, and the sd of its per-call estimate. The candidate's scores
  // on the calls it served are observed, so the past is charged at the group's RAW gap
  // (baseline mean minus the candidate's observed mean); only what those prompts would have
  // scored on the baseline is estimated (by the baseline arm's mean, sd sqrt(vB / nB)).
  // Shrinking the observed part toward the pool would add error to a known quantity: for the
  // groups that carry most candidate traffic (chosen for small gaps) it overcharges the past
  // and leaves budget unspent. A gain (candidate better) is a gain: the promise is about the
  // summed loss. Without judged calls on both arms the posterior gap stands in.
  const pastGap: number[] = [];
  const pastSd: number[] = [];
  let spent = 0;
  for (let i = 0; i < estimates.length; i++) {
    const e = estimates[i]!;
    const observed = tuning.observedSpent && e.baseline.n > 0 && e.candidate.n > 0;
    const gap = observed
      ? tuning.observedWeight * (e.baseline.mean - e.candidate.mean) +
        (1 - tuning.observedWeight) * charges[i]!
      : charges[i]!;
    // Unjudged candidate calls are charged at the candidate's mean: that part is estimated.
    const unjudged = Math.max(1 - e.candidate.n / Math.max(e.candidateCalls, 1), 0);
    const sd = observed
      ? Math.sqrt(
          e.baseline.variance / e.baseline.n +
            (unjudged * e.candidate.variance) / Math.max(e.candidate.n, 1),
        )
      : Math.sqrt(posts[i]!.variance);
    pastGap.push(gap);
    pastSd.push(sd);
    spent += e.candidateCalls * gap;
  }
  // The budget is a promise about traffic already seen, checked at every evaluation over the
  // next `horizon` calls:
  //   spent + planned(horizon) + reserve <= earned + X q̄B horizon
  // where `earned` = X x the baseline quality of every call seen so far, `spent` = the loss of
  // the candidate calls made so far (at their observed scores, above) and `planned` the loss the
  // plan adds over the horizon (at the posterior gaps). The horizon is at most as many calls as have been seen
  // (and at least `minHorizonCalls`): an overdraft is paid back at the pace it was run up,
  // never over a far future the traffic may not reach, and budget is only spent once earned.
  // The reserve is z sds of the total loss, past and planned together, so the same group's gap
  // error is not counted twice. With n = nC_g past and m = horizon w_g s_g planned candidate
  // calls, group g's loss has variance (groups independent)
  //   (n sd(past gap) + m sd(d^_g))^2   the estimates; past and plan share the baseline arm,
  //                                     so they are added as fully correlated (an upper bound)
  // + n vB + m (vB + vC)                outcomes: for past calls only the baseline side is
  //                                     unobserved; for planned calls both sides are.
  // With many groups the gap errors average out and the reserve is small relative to the
  // budget; with one task (GSM8K) it is that task's whole posterior sd, so its share ramps up
  // only as its evidence accumulates instead of jumping on a few lucky early samples.
  const z = Math.max(normalQuantile(config.confidence), 0) * tuning.reserve;
  const earned = config.tolerance * baselineQualityCalls;
  const horizon = Math.min(
    config.budgetHorizonCalls,
    Math.max(calls * tuning.horizonShare, tuning.minHorizonCalls),
  );
  const reserveFor = (planned: (i: number) => number): number => {
    let v = 0;
    for (let i = 0; i < estimates.length; i++) {
      const e = estimates[i]!;
      const n = e.candidateCalls;
      const m = planned(i);
      if (n + m <= 0) continue;
      // The past's and the plan's errors share the group's baseline estimate: added as if
      // fully correlated (an upper bound), then the outcome noise of every call.
      v += (n * pastSd[i]! + m * Math.sqrt(posts[i]!.variance)) ** 2;
      v += (n + m) * e.baseline.variance + m * e.candidate.variance;
    }
    return z * Math.sqrt(v);
  };
  const pastReserve = reserveFor(() => 0);
  const slack = earned - spent - pastReserve;
  const budgetRate = config.tolerance * meanBaseline;
  const capacityFor = (reserve: number): number =>
    Math.max(budgetRate + (earned - spent - reserve) / horizon, 0);
  const items: BudgetItem[] = [];
  const eligible: boolean[] = [];
  for (let i = 0; i < estimates.length; i++) {
    const e = estimates[i]!;
    const post = posts[i]!;
    const saving = e.baselineCostPerCall - e.candidateCostPerCall;
    const ok = saving > 0 && calls > 0 && !isPinned(e.key, ctx.pins);
    eligible.push(ok);
    if (!ok) continue;
    const w = e.calls / calls;
    const known = e.candidate.n >= config.minSamples && e.baseline.n >= config.minSamples;
    const current = ctx.current.get(ctx.idOf(e.key));
    const optimistic = Math.max(post.gap - tuning.optimism * Math.sqrt(post.variance), 1e-4);
    let rank = saving / optimistic;
    if (current !== undefined && current.share > 0) rank *= 1 + tuning.incumbentBonus;
    const explore =
      !known &&
      e.candidate.n < Math.min(tuning.exploreSamples, config.minSamples) &&
      explorationAllowed(e, config);
    items.push({
      id: String(i),
      value: w * saving,
      loss: w * charges[i]!,
      rank,
      minShare: explore ? config.exploration.share : 0,
      maxShare: known
        ? e.baseline.n < tuning.holdoutSamples
          ? Math.min(tuning.maxShare, 1 - tuning.holdoutShare)
          : tuning.maxShare
        : explore || e.candidate.n > 0
          ? config.exploration.maxShare
          : 0,
    });
  }
  // The reserve depends on the shares and the shares on the capacity it leaves: start from the
  // reserve of the past alone and iterate (damped) a few rounds; it settles in practice.
  let reserve = pastReserve;
  let capacity = capacityFor(reserve);
  let shares = allocateBudget(items, capacity);
  for (let round = 0; round < 8; round++) {
    const next = reserveFor(
      (i) => horizon * (estimates[i]!.calls / calls) * (shares.get(String(i)) ?? 0),
    );
    if (Math.abs(next - reserve) < 1e-3) break;
    reserve = round === 0 ? next : (reserve + next) / 2;
    capacity = capacityFor(reserve);
    shares = allocateBudget(items, capacity);
  }
  // Last word to the reserve of the plan actually chosen: if it still does not fit, shrink.
  {
    const r = reserveFor(
      (i) => horizon * (estimates[i]!.calls / calls) * (shares.get(String(i)) ?? 0),
    );
    if (r > reserve + 1e-3) {
      capacity = capacityFor(r);
      shares = allocateBudget(items, capacity);
    }
  }

  // Confidence that the planned traffic-weighted loss stays within the budget rate.
  let plannedLoss = 0;
  let plannedVar = 0;
  for (let i = 0; i < estimates.length; i++) {
    const s = shares.get(String(i)) ?? 0;
    if (s <= 0) continue;
    const w = estimates[i]!.calls / calls;
    plannedLoss += w * s * posts[i]!.gap;
    plannedVar += (w * s) ** 2 * posts[i]!.variance;
  }
  const budgetConfidence =
    plannedVar > 0 ? normalCdf((budgetRate - plannedLoss) / Math.sqrt(plannedVar)) : 1;

  const decisions: TaskDecision[] = [];
  for (let i = 0; i < estimates.length; i++) {
    if (!eligible[i]) continue;
    const e = estimates[i]!;
    let share = shares.get(String(i)) ?? 0;
    const current = ctx.current.get(ctx.idOf(e.key));
    // Hysteresis: keep the current share when the change is small (the learner also keeps a
    // group from flipping on and off within `minChangeIntervalMs`).
    // A cut is the budget's safety valve, so it only waits while it is small relative to the
    // share (a 0.05 step on a 0.17 share would hide a 30% overspend); growth waits for a full step.
    if (current !== undefined && current.share > 0 && share > 0) {
      const cut = current.share - share;
      const small = cut > 0 ? cut < config.shareStep * current.share : -cut < config.shareStep;
      if (small) share = current.share;
    }
    if (share < tuning.minShare) continue;
    share = Math.min(1, Math.round(share * 1000) / 1000);
    const known = e.candidate.n >= config.minSamples && e.baseline.n >= config.minSamples;
    const post = posts[i]!;
    decisions.push({
      key: e.key,
      candidateModel: e.candidateModel,
      kind: known ? 'downgrade' : 'canary',
      share,
      evidence: {
        mode: 'budget',
        tolerance: config.tolerance,
        baselineModel: e.key.model,
        candidateModel: e.candidateModel,
        baselineSamples: e.baseline.n,
        candidateSamples: e.candidate.n,
        baselineQuality: e.baseline.mean,
        candidateQuality: e.candidate.mean,
        confidence: budgetConfidence,
        projectedSavingUsdPerDay: savingPerDay(e, share),
        note: `shrunk gap ${post.gap.toFixed(3)} ± ${Math.sqrt(post.variance).toFixed(3)} (pool ${pool.mean.toFixed(3)} over ${pool.groups} tasks)`,
      },
    });
  }
  return { decisions, pool, capacity, slack, plannedLoss };
}
