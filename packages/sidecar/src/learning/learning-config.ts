/**
 * The learner's configuration: what it may downgrade to, how sure it must be, how fast it reacts.
 *
 * `resolveLearningConfig(partial)` fills defaults and validates once, so the learner never checks
 * a setting again on its hot path. Every error names the setting and the fix.
 */

/** How the operator states the quality they are willing to trade. */
export type ToleranceMode = 'per-task' | 'budget';

/** One rung of a model ladder: requests for `from` may be served by any of `to` (cheapest first). */
export interface ModelLadder {
  readonly from: string;
  readonly to: readonly string[];
}

export interface ExplorationConfig {
  /** Turn canary exploration on. Default true. */
  readonly enabled: boolean;
  /**
   * Share of a task's traffic sent to the candidate while its quality there is unknown
   * (fewer than `minSamples` judged candidate calls). Default 0.1.
   */
  readonly share: number;
  /** Highest canary share the learner ever sets for one task. Default 0.5. */
  readonly maxShare: number;
  /** Canary calls stop when their cost in the window, scaled to a day, exceeds this. Default 25 USD. */
  readonly maxSpendUsdPerDay: number;
}

export interface LearningConfig {
  /** Learn at all. When false the sidecar does no learning work. Default true. */
  readonly enabled: boolean;
  /** `budget` (default) or `per-task`. */
  readonly mode: ToleranceMode;
  /**
   * Quality loss allowed, as a share of the baseline's quality (0.05 = 5%). Per task in
   * `per-task` mode; traffic-weighted over all tasks in `budget` mode. Default 0.05.
   */
  readonly tolerance: number;
  /** Confidence required before a downgrade is applied in per-task mode. Default 0.9. */
  readonly confidence: number;
  /**
   * A per-task rule is reverted once the confidence that it is within tolerance falls below
   * this (lower than `confidence`, so a rule does not flip at the boundary). Default 0.5.
   */
  readonly revertConfidence: number;
  /** Judged calls each of baseline and candidate need before a rule is a downgrade. Default 20. */
  readonly minSamples: number;
  /** Smallest time between two flips (on/off) of one task's rule. Default 5,000 ms. */
  readonly minChangeIntervalMs: number;
  /** Budget mode: share changes smaller than this are not written. Default 0.05. */
  readonly shareStep: number;
  /** Candidate models per requested model. Default: gpt-4o→gpt-4o-mini, gpt-4-1106-preview→Mixtral. */
  readonly ladders: readonly ModelLadder[];
  /** Width of one statistics bucket. Default 1 hour. */
  readonly bucketMs: number;
  /** Buckets kept: the window is `bucketMs * buckets`. Default 24 (one day). */
  readonly buckets: number;
  /** Newest judged calls per (task, model) used by a decision; older buckets are ignored. Default 5,000. */
  readonly maxSamplesPerArm: number;
  /** Most (agent, task, model) groups tracked; calls of further groups are not learned from. Default 10,000. */
  readonly maxGroups: number;
  /** Evaluate on a timer this often. Default 1,000 ms. 0 turns the timer off. */
  readonly evaluateIntervalMs: number;
  /** Also evaluate after this many verdicts, so a fast stream is not starved. Default 25. */
  readonly evaluateEveryVerdicts: number;
  /**
   * Budget mode: the longest horizon, in calls, over which the learner pays back (or uses up)
   * the difference between the budget earned so far and the loss spent so far. The horizon is
   * the number of calls seen so far (at least 100), capped by this. Default 4,000 calls.
   */
  readonly budgetHorizonCalls: number;
  /**
   * Budget mode: the pooled prior for a task's quality gap before any candidate call is judged,
   * as a share of baseline quality. Default 0.15.
   */
  readonly priorGap: number;
  readonly exploration: ExplorationConfig;
  /** History entries kept. Default 1,000. */
  readonly maxHistory: number;
}

/** What callers may pass: any subset, exploration included. */
export type LearningConfigInput = Partial<Omit<LearningConfig, 'exploration'>> & {
  readonly exploration?: Partial<ExplorationConfig>;
};

/** The ladders used when none are configured. */
export const DEFAULT_LADDERS: readonly ModelLadder[] = Object.freeze([
  { from: 'gpt-4o', to: ['gpt-4o-mini'] },
  { from: 'gpt-4-1106-preview', to: ['mistralai/Mixtral-8x7B-Instruct-v0.1'] },
  { from: 'gpt-4-turbo', to: ['gpt-4o-mini'] },
  { from: 'gpt-4.1', to: ['gpt-4.1-mini'] },
  { from: 'gpt-4.1-mini', to: ['gpt-4.1-nano'] },
]);

export const DEFAULT_LEARNING_CONFIG: LearningConfig = Object.freeze({
  enabled: true,
  mode: 'budget',
  tolerance: 0.05,
  confidence: 0.9,
  revertConfidence: 0.5,
  minSamples: 20,
  minChangeIntervalMs: 5_000,
  shareStep: 0.05,
  ladders: DEFAULT_LADDERS,
  bucketMs: 3_600_000,
  buckets: 24,
  maxSamplesPerArm: 5_000,
  maxGroups: 10_000,
  evaluateIntervalMs: 1_000,
  evaluateEveryVerdicts: 25,
  budgetHorizonCalls: 4_000,
  priorGap: 0.15,
  exploration: Object.freeze({ enabled: true, share: 0.1, maxShare: 0.5, maxSpendUsdPerDay: 25 }),
  maxHistory: 1_000,
}) as LearningConfig;

/** Thrown for an invalid learning setting; the message names the setting and the fix. */
export class LearningConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LearningConfigError';
  }
}

function check(ok: boolean, setting: string, fix: string): void {
  if (!ok) throw new LearningConfigError(`learning.${setting}: ${fix}`);
}

function isShare(v: number): boolean {
  return Number.isFinite(v) && v >= 0 && v <= 1;
}

function isPositiveInt(v: number): boolean {
  return Number.isInteger(v) && v > 0;
}

/**
 * Defaults filled in and every value checked; the result is frozen.
 * @example resolveLearningConfig({ mode: 'per-task', tolerance: 0.02 })
 */
export function resolveLearningConfig(input: LearningConfigInput = {}): LearningConfig {
  const d = DEFAULT_LEARNING_CONFIG;
  const exploration: ExplorationConfig = Object.freeze({ ...d.exploration, ...input.exploration });
  const config: LearningConfig = { ...d, ...stripUndefined(input), exploration };
  check(
    config.mode === 'budget' || config.mode === 'per-task',
    'mode',
    `must be "budget" or "per-task", got ${JSON.stringify(config.mode)}`,
  );
  check(
    isShare(config.tolerance) && config.tolerance < 1,
    'tolerance',
    'must be a share of baseline quality in [0, 1), e.g. 0.05 for 5%',
  );
  check(
    Number.isFinite(config.confidence) && config.confidence > 0.5 && config.confidence < 1,
    'confidence',
    'must be in (0.5, 1), e.g. 0.9',
  );
  check(
    Number.isFinite(config.revertConfidence) &&
      config.revertConfidence > 0 &&
      config.revertConfidence < config.confidence,
    'revertConfidence',
    'must be in (0, confidence) so that rules do not flip at the boundary, e.g. 0.5',
  );
  check(isPositiveInt(config.minSamples), 'minSamples', 'must be a positive integer, e.g. 20');
  check(
    Number.isFinite(config.minChangeIntervalMs) && config.minChangeIntervalMs >= 0,
    'minChangeIntervalMs',
    'must be a number of milliseconds >= 0',
  );
  check(isShare(config.shareStep), 'shareStep', 'must be in [0, 1], e.g. 0.05');
  check(isPositiveInt(config.bucketMs), 'bucketMs', 'must be a positive integer (milliseconds)');
  check(
    isPositiveInt(config.buckets) && config.buckets <= 10_000,
    'buckets',
    'must be an integer in 1..10000',
  );
  check(isPositiveInt(config.maxSamplesPerArm), 'maxSamplesPerArm', 'must be a positive integer');
  check(isPositiveInt(config.maxGroups), 'maxGroups', 'must be a positive integer');
  check(
    Number.isInteger(config.evaluateIntervalMs) && config.evaluateIntervalMs >= 0,
    'evaluateIntervalMs',
    'must be an integer >= 0 (0 turns the timer off)',
  );
  check(
    Number.isInteger(config.evaluateEveryVerdicts) && config.evaluateEveryVerdicts >= 0,
    'evaluateEveryVerdicts',
    'must be an integer >= 0 (0 turns it off)',
  );
  check(
    isPositiveInt(config.budgetHorizonCalls),
    'budgetHorizonCalls',
    'must be a positive integer',
  );
  check(
    Number.isFinite(config.priorGap) && config.priorGap > 0 && config.priorGap <= 1,
    'priorGap',
    'must be in (0, 1], e.g. 0.15',
  );
  check(isShare(exploration.share), 'exploration.share', 'must be in [0, 1], e.g. 0.1');
  check(
    isShare(exploration.maxShare) && exploration.maxShare >= exploration.share,
    'exploration.maxShare',
    'must be in [exploration.share, 1]',
  );
  check(
    exploration.maxSpendUsdPerDay >= 0,
    'exploration.maxSpendUsdPerDay',
    'must be a USD amount >= 0 (Infinity for no cap)',
  );
  check(isPositiveInt(config.maxHistory), 'maxHistory', 'must be a positive integer');
  check(Array.isArray(config.ladders), 'ladders', 'must be a list of { from, to: [...] }');
  for (const [i, ladder] of config.ladders.entries()) {
    check(
      typeof ladder?.from === 'string' &&
        ladder.from !== '' &&
        Array.isArray(ladder.to) &&
        ladder.to.length > 0 &&
        ladder.to.every((m) => typeof m === 'string' && m !== '' && m !== ladder.from),
      `ladders[${i}]`,
      'must be { from: "<model>", to: ["<cheaper model>", ...] } with at least one other model',
    );
  }
  return Object.freeze({
    ...config,
    ladders: Object.freeze(config.ladders.map((l) => Object.freeze({ ...l, to: [...l.to] }))),
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && k !== 'exploration') (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** The `learning` section as the sidecar's config loader hands it over (see config/sidecar-config.ts). */
export interface SidecarLearningSection {
  readonly mode: ToleranceMode;
  readonly tolerance: number;
  /** Baseline model → cheaper candidates, cheapest preferred first. */
  readonly ladders: Readonly<Record<string, readonly string[]>>;
  /** The whole `learning` object of the config file: the learner reads its other keys from it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const RAW_KEYS = [
  'enabled',
  'confidence',
  'revertConfidence',
  'minSamples',
  'minChangeIntervalMs',
  'shareStep',
  'bucketMs',
  'buckets',
  'maxSamplesPerArm',
  'maxGroups',
  'evaluateIntervalMs',
  'evaluateEveryVerdicts',
  'budgetHorizonCalls',
  'priorGap',
  'maxHistory',
] as const;

/**
 * The learner's settings from the sidecar config: mode, tolerance and ladders from the parsed
 * section, everything else from the file's `learning` object (validated by
 * `resolveLearningConfig`, which names the setting when a value is wrong). No ladders configured
 * means the default ladders.
 * @example createLearner({ ..., config: learningConfigFromSidecar(config.learning) })
 */
export function learningConfigFromSidecar(section: SidecarLearningSection): LearningConfigInput {
  const raw = section.raw ?? {};
  const out: Record<string, unknown> = { mode: section.mode, tolerance: section.tolerance };
  for (const k of RAW_KEYS) if (raw[k] !== undefined) out[k] = raw[k];
  const ladders = Object.entries(section.ladders ?? {});
  if (ladders.length > 0) out.ladders = ladders.map(([from, to]) => ({ from, to: [...to] }));
  const exploration = raw.exploration;
  if (exploration !== undefined) {
    if (exploration === null || typeof exploration !== 'object' || Array.isArray(exploration)) {
      throw new LearningConfigError(
        'learning.exploration: must be an object { enabled, share, maxShare, maxSpendUsdPerDay }',
      );
    }
    out.exploration = exploration;
  }
  return out as LearningConfigInput;
}
