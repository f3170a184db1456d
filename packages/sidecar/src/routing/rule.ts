/**
 * What a routing rule is, and the store the router reads rules from.
 *
 * Static rules come from the config file; learned rules come from the learner through a
 * `RuleStore`. Pins ("never downgrade agent X") always win over both. The router reads
 * `snapshot()` synchronously on every request, so stores keep the current snapshot in memory and
 * replace it whole when anything changes (Redis pub/sub on other replicas).
 */

/** Which requests a rule or pin applies to. An absent field matches everything. */
export interface RuleMatch {
  readonly agent?: string;
  readonly task?: string;
  /** The model the caller asked for. */
  readonly model?: string;
  /** Estimated prompt tokens, inclusive bounds. */
  readonly minPromptTokens?: number;
  readonly maxPromptTokens?: number;
  /** A regular expression (source text) tested against the concatenated message text. */
  readonly messagePattern?: string;
}

export type RuleSource = 'static' | 'learned';
/** `downgrade` serves matching traffic with a cheaper model; `canary` explores a candidate. */
export type RuleKind = 'downgrade' | 'canary';
export type CacheMode = 'default' | 'no-store' | 'force';

/** Why the learner believes a rule is safe: what the rules API and dashboard show. */
export interface RuleEvidence {
  readonly mode: 'per-task' | 'budget';
  readonly tolerance: number;
  readonly baselineModel: string;
  readonly candidateModel: string;
  readonly baselineSamples: number;
  readonly candidateSamples: number;
  readonly baselineQuality: number;
  readonly candidateQuality: number;
  /** Confidence that the candidate's quality loss is within tolerance, 0..1. */
  readonly confidence: number;
  readonly projectedSavingUsdPerDay: number;
  readonly note?: string;
}

export interface Rule {
  readonly id: string;
  readonly source: RuleSource;
  readonly kind: RuleKind;
  readonly match: RuleMatch;
  readonly targetModel: string;
  /** Share of matching requests sent to `targetModel`, 0..1 (1 for a full downgrade). */
  readonly share: number;
  readonly cache?: CacheMode;
  readonly evidence?: RuleEvidence;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An operator's pin: matching requests are always served with the model they asked for. */
export interface Pin {
  readonly id: string;
  readonly match: RuleMatch;
  readonly note?: string;
  readonly createdAt: number;
}

export type RuleChangeAction =
  | 'created'
  | 'updated'
  | 'reverted'
  | 'removed'
  | 'pinned'
  | 'unpinned'
  | 'dry-run';

/** One entry of the rules' history. */
export interface RuleChange {
  readonly at: number;
  readonly action: RuleChangeAction;
  readonly ruleId?: string;
  readonly pinId?: string;
  readonly detail: string;
  readonly evidence?: RuleEvidence;
}

export interface RuleSnapshot {
  /** Increases with every change; lets replicas and caches tell snapshots apart. */
  readonly version: number;
  readonly rules: readonly Rule[];
  readonly pins: readonly Pin[];
  /** When true the learner reports rules but the router does not apply learned ones. */
  readonly dryRun: boolean;
}

/** Where learned rules and pins live: memory (one process) or Redis (all replicas). */
export interface RuleStore {
  /** The current rules. Synchronous and allocation-free: it is on every request's path. */
  snapshot(): RuleSnapshot;
  /** Replaces the learned rules and appends the changes to the history. */
  setLearnedRules(rules: readonly Rule[], changes: readonly RuleChange[]): Promise<void>;
  pin(match: RuleMatch, note?: string): Promise<Pin>;
  unpin(id: string): Promise<boolean>;
  setDryRun(dryRun: boolean): Promise<void>;
  /** Newest first. */
  history(limit?: number): Promise<readonly RuleChange[]>;
  /** Called with each new snapshot, from this replica or another. Returns an unsubscribe. */
  subscribe(listener: (snapshot: RuleSnapshot) => void): () => void;
  close(): Promise<void>;
}
