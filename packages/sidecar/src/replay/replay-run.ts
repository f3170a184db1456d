/**
 * The replay run: pushes every dataset row through the real stack and measures what routing
 * saved and what it cost in quality.
 *
 *   replay client (instrumented openai SDK, withAgent, recordFeedback)
 *     -> sidecar (router, learner, OTLP intake)  -> replay provider (recorded outcomes)
 *   client spans -> OTLP exporter -> sidecar /v1/traces -> learner -> rules -> router
 *
 * The run asks for the baseline model on every call, exactly as an application would; the
 * sidecar decides what serves it. The "judge" is the recorded score of the model that actually
 * answered, reported with `recordFeedback`. Nothing else about other models reaches the sidecar.
 *
 * The stack's two sides are injected (`ReplayStackFactory`), so this file holds only the
 * measurement: ordering, concurrency, bookkeeping, the report.
 */
import type { RuleSnapshot } from '../routing/rule.js';
import type { ProgressBar } from './progress-bar.js';
import {
  computeReferences,
  pgr as pgrOf,
  type ReferencePoint,
  type SweepPoint,
  type ToleranceMode,
} from './reference-points.js';
import type { ReplayDataset, ReplayRow, SkippedLine } from './replay-dataset.js';
import type { ModelPriceInfo, ReplayPricing } from './replay-pricing.js';
import { createReplayProvider, type ServedTotals } from './replay-provider.js';
import { seededRandom, seededShuffle } from './seeded-shuffle.js';

/** What the application side did for one call. */
export interface ReplayCallResult {
  /** `completion.id`, the key feedback is recorded against. */
  readonly responseId: string;
  /** The model that answered (`x-switchyard-model`, else the response's `model`). */
  readonly servedModel: string;
  /** `x-switchyard-route-reason`: rule, canary, pin, default, fallback. */
  readonly routeReason?: string;
  readonly ruleId?: string;
}

/** The application side: an instrumented openai client talking to the sidecar. */
export interface ReplayApplication {
  /** One call for `row`, asking for `model`, inside the row's agent step and task. */
  call(row: ReplayRow, model: string): Promise<ReplayCallResult>;
  /** Reports a quality score for a call, as an application's reviewer would. */
  feedback(responseId: string, score: number): void;
  /** Exports every buffered span now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The sidecar side, pointed at the replay provider. */
export interface ReplaySidecar {
  /** OpenAI base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:PORT/v1/traces`. */
  readonly tracesUrl: string;
  /** The rules in force now. */
  rules(): RuleSnapshot;
  close(): Promise<void>;
}

export interface ReplaySidecarOptions {
  readonly upstreamUrl: string;
  readonly models: readonly string[];
  readonly baseline: string;
  readonly candidates: readonly string[];
  readonly mode: ToleranceMode;
  readonly tolerance: number;
  readonly pricing: ReplayPricing;
  /** The sidecar's clock (epoch ms): simulated time that advances with every call. */
  readonly now: () => number;
  /** Seeded uniform [0, 1) for the router's share decisions, so a seed repeats its routing. */
  readonly random: () => number;
}

export interface ReplayStackFactory {
  startSidecar(options: ReplaySidecarOptions): Promise<ReplaySidecar>;
  startApplication(options: {
    readonly sidecarUrl: string;
    readonly tracesUrl: string;
    readonly pricing: ReplayPricing;
    /** Calls per synced round (see `ReplayRunOptions.syncEvery`); 0 = not synced. */
    readonly syncEvery?: number;
  }): Promise<ReplayApplication>;
}

export interface ReplayRunOptions {
  readonly datasetName: string;
  readonly dataset: ReplayDataset;
  readonly baseline: string;
  readonly candidates: readonly string[];
  readonly tolerance: number;
  readonly mode: ToleranceMode;
  readonly seed: number;
  readonly limit?: number;
  readonly concurrency: number;
  readonly pricing: ReplayPricing;
  readonly progress?: ProgressBar;
  /**
   * Simulated time between two calls, in ms (default 1,000: 86,400 calls a day). The sidecar's
   * clock advances by this much per call, so its time-based settings (hysteresis, per-day spend
   * caps, statistics windows) see production-like time however fast the replay runs.
   */
  readonly callIntervalMs?: number;
  /**
   * Calls per round; after each round the replay waits until the round's spans reached the
   * sidecar (default 10; 0 = never wait, spans flow on the exporter's own schedule).
   */
  readonly syncEvery?: number;
  /** Wall clock for the report's duration. Defaults to `Date.now`. */
  readonly now?: () => number;
}

/** Simulated time: starts at the wall clock and moves only when a call starts. */
export class ReplayClock {
  #at: number;
  readonly #step: number;
  constructor(startMs: number, stepMs: number) {
    this.#at = startMs;
    this.#step = stepMs;
  }
  readonly now = (): number => this.#at;
  tick(): void {
    this.#at += this.#step;
  }
}

/** A change of the rules in force for one task, and when (after how many calls) it was seen. */
export interface RuleEvent {
  readonly call: number;
  readonly task: string;
  readonly agent?: string;
  readonly action: 'added' | 'changed' | 'removed';
  readonly kind?: string;
  readonly model?: string;
  readonly share?: number;
  readonly rule_id: string;
}

export interface TaskOutcome {
  readonly task: string;
  /** The model the task's final rule serves it with (baseline when no rule). */
  readonly model: string;
  /** The final rule's share of the task's traffic (0 without a rule). */
  readonly share: number;
  readonly rule_kind?: string;
  readonly calls: number;
  /** Mean score of what was served for this task. */
  readonly quality: number;
  /** Mean recorded score of the baseline on the same rows. */
  readonly baseline_quality: number;
  readonly cost_usd: number;
  readonly baseline_cost_usd: number;
  readonly served: Readonly<Record<string, number>>;
  /** Number of calls completed when the first rule for this task was seen, if any. */
  readonly first_rule_at_call?: number;
  readonly decisions: readonly RuleEvent[];
}

export interface ReplayReport {
  readonly dataset: string;
  readonly baseline: string;
  readonly candidates: readonly string[];
  readonly mode: ToleranceMode;
  readonly tolerance: number;
  readonly seed: number;
  readonly concurrency: number;
  readonly call_interval_ms: number;
  readonly sync_every: number;
  readonly rows: number;
  readonly calls: number;
  readonly errors: number;
  readonly skipped_lines: number;
  readonly skipped: readonly SkippedLine[];
  /** Rows left out because they lack the baseline's or a candidate's outcome. */
  readonly rows_without_models: number;
  readonly cost_usd: number;
  readonly baseline_cost_usd: number;
  readonly saving: number;
  readonly quality: number;
  readonly baseline_quality: number;
  readonly weak_quality: number;
  readonly quality_retained: number;
  readonly pgr: number;
  readonly baseline_share: number;
  readonly exploration: {
    readonly calls: number;
    readonly cost_usd: number;
    /** Score units lost on canary calls against the baseline's recorded scores. */
    readonly quality_lost: number;
    /** `quality_lost` as a share of the all-baseline score sum (the budget's unit). */
    readonly quality_lost_share: number;
  };
  readonly served: Readonly<Record<string, { calls: number; cost_usd: number }>>;
  /** What the replay provider itself counted (a cross-check of `served`). */
  readonly provider_served: Readonly<
    Record<string, { calls: number; input_tokens: number; output_tokens: number; cost_usd: number }>
  >;
  readonly route_reasons: Readonly<Record<string, number>>;
  readonly tasks: readonly TaskOutcome[];
  readonly rule_events: readonly RuleEvent[];
  readonly references: Readonly<Record<string, ReferenceJson>>;
  /** The hindsight tolerance sweep in the run's mode. */
  readonly sweep: readonly SweepJson[];
  readonly prices: readonly ModelPriceInfo[];
  readonly pricing_version: string;
  readonly cost_basis: string;
  readonly duration_ms: number;
}

export interface SweepJson {
  readonly tolerance: number;
  readonly mode: ToleranceMode;
  readonly cost_usd: number;
  readonly quality: number;
  readonly saving: number;
  readonly quality_retained: number;
  readonly pgr: number;
}

export interface ReferenceJson {
  readonly description: string;
  readonly cost_usd: number;
  readonly quality: number;
  readonly saving: number;
  readonly quality_retained: number;
  readonly pgr: number;
  readonly baseline_share: number;
}

export const DEFAULT_CALL_INTERVAL_MS = 1_000;
export const DEFAULT_SYNC_EVERY = 10;

/** A sweep point in the report's JSON spelling. */
export function sweepToJson(p: SweepPoint): SweepJson {
  return {
    tolerance: p.tolerance,
    mode: p.mode,
    cost_usd: p.costUsd,
    quality: p.quality,
    saving: p.saving,
    quality_retained: p.qualityRetained,
    pgr: p.pgr,
  };
}

/** Rows that hold outcomes of the baseline and every candidate, shuffled and limited. */
export function selectRows(
  rows: readonly ReplayRow[],
  models: readonly string[],
  seed: number,
  limit?: number,
): { rows: ReplayRow[]; withoutModels: number } {
  const usable = rows.filter((r) => models.every((m) => r.outcomes[m] !== undefined));
  const shuffled = seededShuffle(usable, seed);
  return {
    rows: limit !== undefined && limit < shuffled.length ? shuffled.slice(0, limit) : shuffled,
    withoutModels: rows.length - usable.length,
  };
}

/**
 * Runs the replay through the stack the factory starts and returns the report.
 *
 * @example
 * const report = await runReplay(options, defaultReplayStack);
 * console.log(formatReplayReport(report));
 */
export async function runReplay(
  options: ReplayRunOptions,
  stack: ReplayStackFactory,
): Promise<ReplayReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const { baseline, candidates, pricing } = options;
  const models = [baseline, ...candidates];
  const { rows, withoutModels } = selectRows(
    options.dataset.rows,
    models,
    options.seed,
    options.limit,
  );
  if (rows.length === 0) {
    throw new Error(
      `no row of the dataset has outcomes for ${models.join(', ')} (dataset models: ${options.dataset.models.join(', ')})`,
    );
  }

  const clock = new ReplayClock(now(), options.callIntervalMs ?? DEFAULT_CALL_INTERVAL_MS);
  const provider = createReplayProvider({ rows, cost: pricing.cost, now: clock.now });
  const providerUrl = await provider.listen(0);
  let sidecar: ReplaySidecar | undefined;
  let app: ReplayApplication | undefined;
  try {
    sidecar = await stack.startSidecar({
      upstreamUrl: providerUrl,
      models: options.dataset.models,
      baseline,
      candidates,
      mode: options.mode,
      tolerance: options.tolerance,
      pricing,
      now: clock.now,
      random: seededRandom(options.seed ^ 0x5eed),
    });
    app = await stack.startApplication({
      sidecarUrl: sidecar.baseUrl,
      tracesUrl: sidecar.tracesUrl,
      pricing,
      syncEvery: options.syncEvery ?? DEFAULT_SYNC_EVERY,
    });
    const ledger = await drive(rows, options, sidecar, app, clock);
    await app.flush();
    return buildReport(options, rows, withoutModels, ledger, provider.served(), now() - started);
  } finally {
    await app?.close().catch(() => {});
    await sidecar?.close().catch(() => {});
    await provider.close();
  }
}

interface CallRecord {
  readonly row: ReplayRow;
  readonly served: string;
  readonly reason: string;
  readonly costUsd: number;
  readonly score: number;
}

interface Ledger {
  readonly calls: CallRecord[];
  readonly events: RuleEvent[];
  finalRules: RuleSnapshot;
  errors: number;
}

async function drive(
  rows: readonly ReplayRow[],
  options: ReplayRunOptions,
  sidecar: ReplaySidecar,
  app: ReplayApplication,
  clock: ReplayClock,
): Promise<Ledger> {
  const { baseline, pricing } = options;
  const ledger: Ledger = { calls: [], events: [], finalRules: sidecar.rules(), errors: 0 };
  let seen = new Map(ledger.finalRules.rules.map((r) => [r.id, r]));
  let seenVersion = ledger.finalRules.version;
  let costUsd = 0;
  let baselineCostUsd = 0;
  let next = 0;
  let firstError: unknown;

  const watchRules = () => {
    const snapshot = sidecar.rules();
    if (snapshot.version === seenVersion) return;
    seenVersion = snapshot.version;
    const current = new Map(snapshot.rules.map((r) => [r.id, r]));
    const call = ledger.calls.length;
    for (const [id, rule] of current) {
      const before = seen.get(id);
      if (
        before &&
        before.targetModel === rule.targetModel &&
        before.share === rule.share &&
        before.kind === rule.kind
      ) {
        continue;
      }
      ledger.events.push({
        call,
        task: rule.match.task ?? '*',
        ...(rule.match.agent ? { agent: rule.match.agent } : {}),
        action: before ? 'changed' : 'added',
        kind: rule.kind,
        model: rule.targetModel,
        share: rule.share,
        rule_id: id,
      });
    }
    for (const [id, rule] of seen) {
      if (current.has(id)) continue;
      ledger.events.push({
        call,
        task: rule.match.task ?? '*',
        ...(rule.match.agent ? { agent: rule.match.agent } : {}),
        action: 'removed',
        rule_id: id,
      });
    }
    seen = current;
    ledger.finalRules = snapshot;
  };

  const progressState = () => ({
    calls: ledger.calls.length,
    total: rows.length,
    costUsd,
    baselineCostUsd,
    rules: describeRules(ledger.finalRules),
  });

  // Rows are replayed in rounds of `syncEvery`; after each round the replay waits until the
  // round's spans (calls and feedback) have reached the sidecar. In production, feedback reaches
  // the learner within seconds, i.e. a few calls at the simulated rate; without this, a fast
  // machine would deliver it hundreds of calls late and learning would depend on CPU speed.
  const syncEvery = options.syncEvery ?? DEFAULT_SYNC_EVERY;
  let roundEnd = syncEvery > 0 ? Math.min(syncEvery, rows.length) : rows.length;
  const worker = async () => {
    for (;;) {
      if (next >= roundEnd) return;
      const index = next++;
      const row = rows[index];
      if (!row) return;
      clock.tick();
      try {
        const result = await app.call(row, baseline);
        const outcome = row.outcomes[result.servedModel];
        if (!outcome) {
          throw new Error(
            `the sidecar answered row ${row.id} with "${result.servedModel}", which the dataset has no outcome for`,
          );
        }
        app.feedback(result.responseId, outcome.score);
        const cost = pricing.cost(row, result.servedModel);
        costUsd += cost;
        baselineCostUsd += pricing.cost(row, baseline);
        ledger.calls.push({
          row,
          served: result.servedModel,
          reason: result.routeReason ?? 'unknown',
          costUsd: cost,
          score: outcome.score,
        });
      } catch (error) {
        ledger.errors += 1;
        firstError ??= error;
        // A stack that fails every call is broken, not noisy: stop early with the cause.
        if (ledger.errors >= 20 && ledger.errors > ledger.calls.length) {
          throw new Error(
            `replay calls keep failing; first error: ${String((firstError as Error)?.message ?? firstError)}`,
          );
        }
      }
      watchRules();
      options.progress?.update(progressState());
    }
  };
  const workers = Math.max(1, options.concurrency);
  while (next < rows.length) {
    await Promise.all(Array.from({ length: workers }, worker));
    if (syncEvery > 0) {
      await app.flush();
      roundEnd = Math.min(roundEnd + syncEvery, rows.length);
    }
  }
  watchRules();
  options.progress?.done(progressState());
  return ledger;
}

/** `12 rules: 9 downgrade, 3 canary` */
export function describeRules(snapshot: RuleSnapshot): string {
  const learned = snapshot.rules;
  if (learned.length === 0) return 'no rules yet';
  const downgrade = learned.filter((r) => r.kind === 'downgrade');
  const full = downgrade.filter((r) => r.share >= 1).length;
  const canary = learned.length - downgrade.length;
  return `${learned.length} rules: ${full} full, ${downgrade.length - full} partial downgrades, ${canary} canary`;
}

function buildReport(
  options: ReplayRunOptions,
  rows: readonly ReplayRow[],
  withoutModels: number,
  ledger: Ledger,
  providerServed: ReadonlyMap<string, ServedTotals>,
  durationMs: number,
): ReplayReport {
  const { baseline, candidates, pricing } = options;
  const calls = ledger.calls;
  const n = calls.length;
  let cost = 0;
  let baselineCost = 0;
  let score = 0;
  let baselineScore = 0;
  let baselineServed = 0;
  const served: Record<string, { calls: number; cost_usd: number }> = {};
  const reasons: Record<string, number> = {};
  const exploration = { calls: 0, cost_usd: 0, quality_lost: 0, quality_lost_share: 0 };
  const shares: Record<string, number> = {};
  for (const c of calls) {
    const baseOutcome = c.row.outcomes[baseline]!;
    cost += c.costUsd;
    baselineCost += pricing.cost(c.row, baseline);
    score += c.score;
    baselineScore += baseOutcome.score;
    if (c.served === baseline) baselineServed += 1;
    const s = served[c.served] ?? { calls: 0, cost_usd: 0 };
    s.calls += 1;
    s.cost_usd += c.costUsd;
    served[c.served] = s;
    shares[c.served] = (shares[c.served] ?? 0) + 1;
    reasons[c.reason] = (reasons[c.reason] ?? 0) + 1;
    if (c.reason === 'canary') {
      exploration.calls += 1;
      exploration.cost_usd += c.costUsd;
      exploration.quality_lost += baseOutcome.score - c.score;
    }
  }
  exploration.quality_lost_share = baselineScore > 0 ? exploration.quality_lost / baselineScore : 0;

  // References on exactly the rows that were replayed.
  const replayedRows = calls.map((c) => c.row);
  const refs = computeReferences(replayedRows.length ? replayedRows : rows, {
    baseline,
    candidates,
    cost: pricing.cost,
    tolerance: options.tolerance,
    mode: options.mode,
    runShares: shares,
  });
  const quality = n ? score / n : 0;
  const baselineQuality = n ? baselineScore / n : 0;
  const weakQuality = refs.allCheapest.quality;

  const byTask = new Map<string, CallRecord[]>();
  for (const c of calls) {
    const list = byTask.get(c.row.task) ?? [];
    list.push(c);
    byTask.set(c.row.task, list);
  }
  const finalByTask = new Map<string, { model: string; share: number; kind: string }>();
  for (const r of ledger.finalRules.rules) {
    if (r.match.task === undefined) continue;
    if (r.match.model !== undefined && r.match.model !== baseline) continue;
    finalByTask.set(r.match.task, { model: r.targetModel, share: r.share, kind: r.kind });
  }
  const tasks: TaskOutcome[] = [...byTask.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([task, list]) => {
      const servedCounts: Record<string, number> = {};
      let q = 0;
      let bq = 0;
      let c = 0;
      let bc = 0;
      for (const call of list) {
        servedCounts[call.served] = (servedCounts[call.served] ?? 0) + 1;
        q += call.score;
        bq += call.row.outcomes[baseline]!.score;
        c += call.costUsd;
        bc += pricing.cost(call.row, baseline);
      }
      const decisions = ledger.events.filter((e) => e.task === task);
      const final = finalByTask.get(task);
      const first = decisions.find((e) => e.action !== 'removed');
      return {
        task,
        model: final?.model ?? baseline,
        share: final?.share ?? 0,
        ...(final ? { rule_kind: final.kind } : {}),
        calls: list.length,
        quality: q / list.length,
        baseline_quality: bq / list.length,
        cost_usd: c,
        baseline_cost_usd: bc,
        served: servedCounts,
        ...(first ? { first_rule_at_call: first.call } : {}),
        decisions,
      };
    });

  const toJson = (p: ReferencePoint): ReferenceJson => ({
    description: p.description,
    cost_usd: p.costUsd,
    quality: p.quality,
    saving: p.saving,
    quality_retained: p.qualityRetained,
    pgr: p.pgr,
    baseline_share: p.baselineShare,
  });
  const references: Record<string, ReferenceJson> = {
    all_baseline: toJson(refs.allBaseline),
    all_cheapest: toJson(refs.allCheapest),
    best_per_task_hindsight: toJson(refs.bestPerTaskHindsight),
    best_per_prompt_hindsight: toJson(refs.bestPerPromptHindsight),
  };
  if (refs.randomAtRunShare) references.random_at_run_share = toJson(refs.randomAtRunShare);

  return {
    dataset: options.datasetName,
    baseline,
    candidates,
    mode: options.mode,
    tolerance: options.tolerance,
    seed: options.seed,
    concurrency: options.concurrency,
    call_interval_ms: options.callIntervalMs ?? DEFAULT_CALL_INTERVAL_MS,
    sync_every: options.syncEvery ?? DEFAULT_SYNC_EVERY,
    rows: rows.length,
    calls: n,
    errors: ledger.errors,
    skipped_lines: options.dataset.skipped.length,
    skipped: options.dataset.skipped.slice(0, 50),
    rows_without_models: withoutModels,
    cost_usd: cost,
    baseline_cost_usd: baselineCost,
    saving: baselineCost > 0 ? 1 - cost / baselineCost : 0,
    quality,
    baseline_quality: baselineQuality,
    weak_quality: weakQuality,
    quality_retained: baselineQuality > 0 ? quality / baselineQuality : 1,
    pgr: pgrOf(quality, weakQuality, baselineQuality),
    baseline_share: n ? baselineServed / n : 0,
    exploration,
    served,
    provider_served: Object.fromEntries(
      [...providerServed].map(([model, t]) => [
        model,
        {
          calls: t.calls,
          input_tokens: t.inputTokens,
          output_tokens: t.outputTokens,
          cost_usd: t.costUsd,
        },
      ]),
    ),
    route_reasons: reasons,
    tasks,
    rule_events: ledger.events,
    references,
    sweep: refs.sweep.map(sweepToJson),
    prices: pricing.describe([baseline, ...candidates]),
    pricing_version: pricing.table.version,
    cost_basis:
      "each call's cost is the served model's recorded cost_usd when the row has one, else its recorded (or counted) tokens priced with the price table; the same for the baseline",
    duration_ms: durationMs,
  };
}
