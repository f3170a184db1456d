/**
 * Offline reference points of a replay dataset: what simple policies and hindsight would have
 * cost and scored on the same rows. They frame the online run ("the learner got X of the Y that
 * hindsight allowed") and need no stack at all, so they are pure functions of the rows.
 *
 * Quality is the mean score over rows (0..1). A "loss" is measured in score units summed over
 * rows, so a 5% budget allows losing 5% of the all-baseline score sum, i.e. keeping 95% of the
 * baseline's quality, which is how the run's `quality_retained` is defined too.
 */
import type { ReplayRow } from './replay-dataset.js';

/** The cost of serving one row with one model, in USD. */
export type RowCost = (row: ReplayRow, model: string) => number;

export type ToleranceMode = 'budget' | 'per-task';

/** Cost and quality of serving every row with some policy. */
export interface CostQuality {
  readonly costUsd: number;
  /** Mean score over rows, 0..1. */
  readonly quality: number;
}

/** One task's statistics per model, summed over its rows. */
export interface TaskModelStats {
  readonly rows: number;
  readonly scoreSum: number;
  readonly costSum: number;
}

export interface TaskStats {
  readonly task: string;
  readonly rows: number;
  readonly byModel: ReadonlyMap<string, TaskModelStats>;
}

/** How a policy serves one task: shares of its traffic per model (they sum to 1). */
export interface TaskAssignment {
  readonly task: string;
  readonly rows: number;
  readonly shares: Readonly<Record<string, number>>;
  readonly baselineQuality: number;
  readonly quality: number;
}

/** A named policy's outcome on the dataset, with its comparison to all-baseline. */
export interface ReferencePoint extends CostQuality {
  readonly name: string;
  readonly description: string;
  /** 1 - cost / all-baseline cost. */
  readonly saving: number;
  /** quality / all-baseline quality. */
  readonly qualityRetained: number;
  /** Share of the weak-to-strong quality gap recovered (see {@link pgr}). */
  readonly pgr: number;
  /** Share of rows served by the baseline model. */
  readonly baselineShare: number;
  readonly tasks?: readonly TaskAssignment[];
}

/** Everything the report shows next to the run. */
export interface ReferenceSet {
  readonly allBaseline: ReferencePoint;
  readonly allCheapest: ReferencePoint;
  readonly cheapestModel: string;
  readonly randomAtRunShare?: ReferencePoint;
  readonly bestPerTaskHindsight: ReferencePoint;
  readonly bestPerPromptHindsight: ReferencePoint;
  readonly sweep: readonly SweepPoint[];
}

/** One point of a tolerance sweep. */
export interface SweepPoint extends CostQuality {
  readonly tolerance: number;
  readonly mode: ToleranceMode;
  readonly saving: number;
  readonly qualityRetained: number;
  readonly pgr: number;
}

/** Options of {@link computeReferences}. */
export interface ReferenceOptions {
  readonly baseline: string;
  readonly candidates: readonly string[];
  readonly cost: RowCost;
  readonly tolerance: number;
  readonly mode: ToleranceMode;
  /** Share of calls each model served in the run, for "random at the same share". */
  readonly runShares?: Readonly<Record<string, number>>;
  /** Tolerances of the hindsight sweep. Defaults to 0%, 1%, ... 20%. */
  readonly sweepTolerances?: readonly number[];
}

const DEFAULT_SWEEP = Array.from({ length: 21 }, (_, i) => i / 100);

/**
 * PGR, RouteLLM's "performance gap recovered": where `quality` sits between the weak model's
 * quality (0) and the strong model's (1). Undefined gaps (equal qualities) give 1.
 *
 * @example pgr(0.78, 0.68, 0.80) // 0.8333…
 */
export function pgr(quality: number, weakQuality: number, strongQuality: number): number {
  const gap = strongQuality - weakQuality;
  if (Math.abs(gap) < 1e-12) return 1;
  return (quality - weakQuality) / gap;
}

/** Per-task, per-model sums over the rows. Rows missing a model's outcome are not counted for it. */
export function taskStats(
  rows: readonly ReplayRow[],
  models: readonly string[],
  cost: RowCost,
): TaskStats[] {
  const tasks = new Map<string, { rows: number; byModel: Map<string, MutableStats> }>();
  for (const row of rows) {
    let entry = tasks.get(row.task);
    if (!entry) {
      entry = { rows: 0, byModel: new Map() };
      tasks.set(row.task, entry);
    }
    entry.rows += 1;
    for (const model of models) {
      const outcome = row.outcomes[model];
      if (!outcome) continue;
      let s = entry.byModel.get(model);
      if (!s) {
        s = { rows: 0, scoreSum: 0, costSum: 0 };
        entry.byModel.set(model, s);
      }
      s.rows += 1;
      s.scoreSum += outcome.score;
      s.costSum += cost(row, model);
    }
  }
  return [...tasks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([task, e]) => ({ task, rows: e.rows, byModel: e.byModel }));
}

interface MutableStats {
  rows: number;
  scoreSum: number;
  costSum: number;
}

/**
 * The best assignment of tasks to models in hindsight at a tolerance.
 *
 * Per task: each task independently takes the cheapest model whose quality on it is at least
 * `(1 - tolerance)` of the baseline's. Budget: the summed quality loss may reach `tolerance` of
 * the baseline's score sum; tasks are moved in order of saving per unit of quality lost (free
 * moves first), and the last one that does not fit whole gets a share. That greedy order is
 * optimal for the fractional problem (it is a fractional knapsack over each task's lower convex
 * hull of cost against quality).
 */
export function hindsightAssignment(
  stats: readonly TaskStats[],
  baseline: string,
  candidates: readonly string[],
  tolerance: number,
  mode: ToleranceMode,
): TaskAssignment[] {
  if (mode === 'per-task') {
    return stats.map((t) => {
      const base = t.byModel.get(baseline);
      if (!base) return keep(t, baseline);
      let best = baseline;
      let bestCost = base.costSum;
      for (const c of candidates) {
        const s = t.byModel.get(c);
        if (!s || s.rows !== base.rows) continue;
        if (s.scoreSum >= (1 - tolerance) * base.scoreSum - 1e-9 && s.costSum < bestCost) {
          best = c;
          bestCost = s.costSum;
        }
      }
      return assignment(t, baseline, { [best]: 1 });
    });
  }

  // Budget mode: build each task's hull steps, then spend the budget on the best ratios first.
  const totalBaselineScore = stats.reduce(
    (sum, t) => sum + (t.byModel.get(baseline)?.scoreSum ?? 0),
    0,
  );
  let budget = tolerance * totalBaselineScore;
  interface Step {
    task: number;
    from: string;
    to: string;
    loss: number;
    saving: number;
  }
  const steps: Step[] = [];
  stats.forEach((t, index) => {
    const base = t.byModel.get(baseline);
    if (!base) return;
    const options = [baseline, ...candidates]
      .map((model) => ({ model, s: t.byModel.get(model) }))
      .filter((o): o is { model: string; s: TaskModelStats } => !!o.s && o.s.rows === base.rows)
      .map((o) => ({ model: o.model, loss: base.scoreSum - o.s.scoreSum, cost: o.s.costSum }));
    // Walk the lower-left hull from the baseline: at each point take the option with the best
    // saving per extra loss among the cheaper ones.
    let current = options.find((o) => o.model === baseline)!;
    for (;;) {
      let next: (typeof options)[number] | undefined;
      let bestRatio = -Infinity;
      for (const o of options) {
        if (o.cost >= current.cost - 1e-15) continue;
        const extraLoss = o.loss - current.loss;
        const ratio = extraLoss <= 0 ? Infinity : (current.cost - o.cost) / extraLoss;
        if (ratio > bestRatio || (ratio === bestRatio && next && o.cost < next.cost)) {
          bestRatio = ratio;
          next = o;
        }
      }
      if (!next) break;
      steps.push({
        task: index,
        from: current.model,
        to: next.model,
        loss: next.loss - current.loss,
        saving: current.cost - next.cost,
      });
      current = next;
    }
  });
  const ratioOf = (s: Step) => (s.loss <= 0 ? Infinity : s.saving / s.loss);
  // Stable order: hull steps of one task stay in order because their ratios decrease.
  const order = steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => ratioOf(b.s) - ratioOf(a.s) || a.i - b.i);
  const shares: Record<string, number>[] = stats.map(() => ({ [baseline]: 1 }));
  const blocked = new Set<number>();
  for (const { s } of order) {
    if (blocked.has(s.task)) continue;
    const share = shares[s.task]!;
    const fromShare = share[s.from] ?? 0;
    let fraction = 1;
    if (s.loss > 0) {
      if (budget <= 1e-12) {
        blocked.add(s.task);
        continue;
      }
      fraction = Math.min(1, budget / s.loss);
      budget -= fraction * s.loss;
    } else {
      budget -= s.loss; // a free move (no loss or a gain) also returns budget
    }
    const moved = fromShare * fraction;
    share[s.from] = fromShare - moved;
    share[s.to] = (share[s.to] ?? 0) + moved;
    if (fraction < 1) blocked.add(s.task);
  }
  return stats.map((t, i) => assignment(t, baseline, shares[i]!));
}

function keep(t: TaskStats, baseline: string): TaskAssignment {
  return assignment(t, baseline, { [baseline]: 1 });
}

function assignment(
  t: TaskStats,
  baseline: string,
  rawShares: Record<string, number>,
): TaskAssignment {
  const shares: Record<string, number> = {};
  let scoreSum = 0;
  for (const [model, share] of Object.entries(rawShares)) {
    if (share <= 1e-12) continue;
    shares[model] = share;
    scoreSum += share * (t.byModel.get(model)?.scoreSum ?? 0);
  }
  const base = t.byModel.get(baseline);
  return {
    task: t.task,
    rows: t.rows,
    shares,
    baselineQuality: base ? base.scoreSum / base.rows : 0,
    quality: t.rows ? scoreSum / t.rows : 0,
  };
}

function assignmentTotals(
  stats: readonly TaskStats[],
  assignments: readonly TaskAssignment[],
  baseline: string,
): { costUsd: number; scoreSum: number; rows: number; baselineRows: number } {
  let costUsd = 0;
  let scoreSum = 0;
  let rows = 0;
  let baselineRows = 0;
  stats.forEach((t, i) => {
    const a = assignments[i]!;
    rows += t.rows;
    for (const [model, share] of Object.entries(a.shares)) {
      const s = t.byModel.get(model);
      if (!s) continue;
      costUsd += share * s.costSum;
      scoreSum += share * s.scoreSum;
      if (model === baseline) baselineRows += share * t.rows;
    }
  });
  return { costUsd, scoreSum, rows, baselineRows };
}

/**
 * Computes every reference point of the dataset: all-baseline, all-cheapest, random at the run's
 * shares, the best per-task assignment and the best per-prompt choice in hindsight, and a
 * tolerance sweep of the per-task hindsight (in the run's mode).
 *
 * @example
 * const refs = computeReferences(rows, { baseline: 'gpt-4', candidates: ['mixtral'], cost,
 *   tolerance: 0.05, mode: 'budget' });
 * refs.bestPerTaskHindsight.saving // e.g. 0.6
 */
export function computeReferences(
  rows: readonly ReplayRow[],
  options: ReferenceOptions,
): ReferenceSet {
  const { baseline, candidates, cost } = options;
  if (candidates.length === 0) throw new Error('computeReferences: at least one candidate model');
  const models = [baseline, ...candidates.filter((c) => c !== baseline)];
  const usable = rows.filter((r) => models.every((m) => r.outcomes[m] !== undefined));
  const n = usable.length;
  const totals = new Map<string, { cost: number; score: number }>();
  for (const m of models) totals.set(m, { cost: 0, score: 0 });
  for (const row of usable) {
    for (const m of models) {
      const t = totals.get(m)!;
      t.cost += cost(row, m);
      t.score += row.outcomes[m]!.score;
    }
  }
  const baseTotals = totals.get(baseline)!;
  const baselineCost = baseTotals.cost;
  const baselineQuality = n ? baseTotals.score / n : 0;
  let cheapestModel = candidates[0]!;
  for (const c of candidates) {
    if (totals.get(c)!.cost < totals.get(cheapestModel)!.cost) cheapestModel = c;
  }
  const weakQuality = n ? totals.get(cheapestModel)!.score / n : 0;

  const point = (
    name: string,
    description: string,
    costUsd: number,
    quality: number,
    baselineShare: number,
    tasks?: readonly TaskAssignment[],
  ): ReferencePoint => ({
    name,
    description,
    costUsd,
    quality,
    saving: baselineCost > 0 ? 1 - costUsd / baselineCost : 0,
    qualityRetained: baselineQuality > 0 ? quality / baselineQuality : 1,
    pgr: pgr(quality, weakQuality, baselineQuality),
    baselineShare,
    ...(tasks ? { tasks } : {}),
  });

  const allBaseline = point(
    'all-baseline',
    `every call to ${baseline}`,
    baselineCost,
    baselineQuality,
    1,
  );
  const allCheapest = point(
    'all-cheapest',
    `every call to ${cheapestModel}`,
    totals.get(cheapestModel)!.cost,
    weakQuality,
    0,
  );

  let randomAtRunShare: ReferencePoint | undefined;
  if (options.runShares) {
    let c = 0;
    let q = 0;
    let sum = 0;
    for (const [model, share] of Object.entries(options.runShares)) {
      const t = totals.get(model);
      if (!t) continue;
      c += share * t.cost;
      q += share * (n ? t.score / n : 0);
      sum += share;
    }
    if (sum > 0) {
      const baseShare = (options.runShares[baseline] ?? 0) / sum;
      randomAtRunShare = point(
        'random-at-run-share',
        `each call to a model at random, with the run's shares (${formatShares(options.runShares)}); expected value`,
        c / sum,
        q / sum,
        baseShare,
      );
    }
  }

  const stats = taskStats(usable, models, cost);
  const hindsight = hindsightAssignment(
    stats,
    baseline,
    candidates,
    options.tolerance,
    options.mode,
  );
  const h = assignmentTotals(stats, hindsight, baseline);
  const bestPerTaskHindsight = point(
    'best-per-task-hindsight',
    `the best model share per task knowing every outcome (${options.mode}, tolerance ${options.tolerance})`,
    h.costUsd,
    n ? h.scoreSum / n : 0,
    n ? h.baselineRows / n : 0,
    hindsight,
  );

  let oracleCost = 0;
  let oracleScore = 0;
  let oracleBaselineRows = 0;
  for (const row of usable) {
    let best = baseline;
    for (const m of models) {
      const o = row.outcomes[m]!;
      const b = row.outcomes[best]!;
      if (o.score > b.score || (o.score === b.score && cost(row, m) < cost(row, best))) best = m;
    }
    oracleCost += cost(row, best);
    oracleScore += row.outcomes[best]!.score;
    if (best === baseline) oracleBaselineRows += 1;
  }
  const bestPerPromptHindsight = point(
    'best-per-prompt-hindsight',
    'per prompt, the cheapest model among those with the best recorded score (an oracle)',
    oracleCost,
    n ? oracleScore / n : 0,
    n ? oracleBaselineRows / n : 0,
  );

  const sweep = (options.sweepTolerances ?? DEFAULT_SWEEP).map((tolerance): SweepPoint => {
    const a = hindsightAssignment(stats, baseline, candidates, tolerance, options.mode);
    const t = assignmentTotals(stats, a, baseline);
    const quality = n ? t.scoreSum / n : 0;
    return {
      tolerance,
      mode: options.mode,
      costUsd: t.costUsd,
      quality,
      saving: baselineCost > 0 ? 1 - t.costUsd / baselineCost : 0,
      qualityRetained: baselineQuality > 0 ? quality / baselineQuality : 1,
      pgr: pgr(quality, weakQuality, baselineQuality),
    };
  });

  return {
    allBaseline,
    allCheapest,
    cheapestModel,
    ...(randomAtRunShare ? { randomAtRunShare } : {}),
    bestPerTaskHindsight,
    bestPerPromptHindsight,
    sweep,
  };
}

function formatShares(shares: Readonly<Record<string, number>>): string {
  const sum = Object.values(shares).reduce((a, b) => a + b, 0) || 1;
  return Object.entries(shares)
    .map(([m, s]) => `${m} ${((100 * s) / sum).toFixed(1)}%`)
    .join(', ');
}
