/**
 * The numbers the learner keeps per (agent, task, requested model), split by the model that
 * served the call. Plain sums only, so that buckets add up, Redis can keep them with HINCRBYFLOAT
 * and every replica sees the same totals.
 */

/** Sums over the calls of one (agent, task, requested model) served by one model. */
export interface ArmStats {
  calls: number;
  /** Calls with a quality score: feedback joined, or a failure (error, truncation, refusal). */
  judged: number;
  /** Sum of quality scores (0..1) over judged calls. */
  qualitySum: number;
  /** Sum of squared scores: the variance of non-binary scores (judge grades) needs it. */
  qualitySquares: number;
  errors: number;
  /** `finish_reason = length`. */
  truncations: number;
  /** `finish_reason = content_filter` or a refusal. */
  refusals: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** What the requested model would have cost minus what was paid, for calls served by another model. */
  savedUsd: number;
  latencyMs: number;
  /** Calls sent to this model by a canary rule, and what they cost. */
  canaryCalls: number;
  canaryCostUsd: number;
}

export type ArmField = keyof ArmStats;

export const ARM_FIELDS: readonly ArmField[] = Object.freeze([
  'calls',
  'judged',
  'qualitySum',
  'qualitySquares',
  'errors',
  'truncations',
  'refusals',
  'inputTokens',
  'outputTokens',
  'costUsd',
  'savedUsd',
  'latencyMs',
  'canaryCalls',
  'canaryCostUsd',
]) as readonly ArmField[];

/** Which calls a group holds. */
export interface TaskKey {
  readonly agent: string;
  readonly task: string;
  /** The model the application asked for: the baseline of this group. */
  readonly model: string;
}

/** One group's statistics over the current window, by served model. */
export interface TaskStats {
  readonly key: TaskKey;
  readonly arms: Readonly<Record<string, ArmStats>>;
}

export function emptyArm(): ArmStats {
  return {
    calls: 0,
    judged: 0,
    qualitySum: 0,
    qualitySquares: 0,
    errors: 0,
    truncations: 0,
    refusals: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    savedUsd: 0,
    latencyMs: 0,
    canaryCalls: 0,
    canaryCostUsd: 0,
  };
}

/** Adds `delta` into `into` (mutates `into`). */
export function addArm(into: ArmStats, delta: Partial<ArmStats>): ArmStats {
  for (const f of ARM_FIELDS) {
    const v = delta[f];
    if (v !== undefined && Number.isFinite(v)) into[f] += v;
  }
  return into;
}

// A separator that cannot appear in agent/task/model names coming from spans we accept.
const SEP = '\u001f';

/** A stable string id for a group, usable as a map key or Redis hash field prefix. */
export function taskKeyId(key: TaskKey): string {
  return `${key.agent}${SEP}${key.task}${SEP}${key.model}`;
}

export function parseTaskKeyId(id: string): TaskKey | undefined {
  const parts = id.split(SEP);
  if (parts.length !== 3) return undefined;
  const [agent, task, model] = parts as [string, string, string];
  return { agent, task, model };
}

/** Human-readable `agent/task (model)`, for logs and history entries. */
export function describeTaskKey(key: TaskKey): string {
  return `${key.agent}/${key.task} (${key.model})`;
}
