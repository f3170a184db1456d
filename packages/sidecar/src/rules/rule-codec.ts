/**
 * Checks for rules, pins and history entries read back from a file or Redis: anything another
 * version or a hand edit wrote that does not have the shape the router relies on is dropped,
 * never applied half-understood.
 */
import type { Pin, Rule, RuleChange, RuleMatch, RuleSnapshot } from '../routing/rule.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optionalString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

export function isRuleMatch(v: unknown): v is RuleMatch {
  return (
    isObject(v) &&
    optionalString(v.agent) &&
    optionalString(v.task) &&
    optionalString(v.model) &&
    optionalString(v.messagePattern) &&
    (v.minPromptTokens === undefined || typeof v.minPromptTokens === 'number') &&
    (v.maxPromptTokens === undefined || typeof v.maxPromptTokens === 'number')
  );
}

export function isRule(v: unknown): v is Rule {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    (v.source === 'static' || v.source === 'learned') &&
    (v.kind === 'downgrade' || v.kind === 'canary') &&
    isRuleMatch(v.match) &&
    typeof v.targetModel === 'string' &&
    typeof v.share === 'number' &&
    v.share >= 0 &&
    v.share <= 1 &&
    typeof v.createdAt === 'number' &&
    typeof v.updatedAt === 'number'
  );
}

export function isPin(v: unknown): v is Pin {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    isRuleMatch(v.match) &&
    optionalString(v.note) &&
    typeof v.createdAt === 'number'
  );
}

const ACTIONS = new Set([
  'created',
  'updated',
  'reverted',
  'removed',
  'pinned',
  'unpinned',
  'dry-run',
]);

export function isRuleChange(v: unknown): v is RuleChange {
  return (
    isObject(v) &&
    typeof v.at === 'number' &&
    typeof v.action === 'string' &&
    ACTIONS.has(v.action) &&
    typeof v.detail === 'string'
  );
}

/** Parses JSON, returning `undefined` instead of throwing. */
export function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A frozen snapshot, as the router expects (it compares snapshots by identity and version). */
export function freezeSnapshot(s: RuleSnapshot): RuleSnapshot {
  return Object.freeze({
    version: s.version,
    rules: Object.isFrozen(s.rules) ? s.rules : Object.freeze([...s.rules]),
    pins: Object.isFrozen(s.pins) ? s.pins : Object.freeze([...s.pins]),
    dryRun: s.dryRun,
  });
}

/** `agent=x task=y model=z`, for history entries. */
export function describeRuleMatch(match: RuleMatch): string {
  const parts: string[] = [];
  if (match.agent !== undefined) parts.push(`agent=${match.agent}`);
  if (match.task !== undefined) parts.push(`task=${match.task}`);
  if (match.model !== undefined) parts.push(`model=${match.model}`);
  return parts.length === 0 ? 'all requests' : parts.join(' ');
}
