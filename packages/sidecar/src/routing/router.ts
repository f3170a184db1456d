/**
 * Decides which model serves a request. Order: pins (config and store) → static rules →
 * learned rules (skipped while the store is in dry-run) → the requested model.
 *
 * Matchers are compiled once: static ones at construction, the store's once per snapshot (the
 * store hands out the same snapshot object until something changes). Message text and the
 * token estimate are computed only when a rule needs them, and at most once per request.
 */
import type { RouteReason } from '@switchyard/instrumentation/semconv';
import { type CompiledMatch, compileMatch, type MatchSubject } from './compiled-match.js';
import type { CacheMode, Pin, Rule, RuleSnapshot, RuleStore } from './rule.js';

export interface RouteInput {
  readonly agent?: string | undefined;
  readonly task?: string | undefined;
  /** The model the caller asked for. */
  readonly model: string;
  /** Estimated prompt tokens; called only if a rule bounds prompt tokens. */
  promptTokens(): number;
  /** Concatenated message text; called only if a rule has a `messagePattern`. */
  messageText(): string;
}

export interface RouteDecision {
  /** The model to send the request to. */
  readonly model: string;
  readonly reason: RouteReason;
  /** The rule or pin that decided, if any. */
  readonly ruleId?: string;
  /** The deciding rule's cache policy, if it has one. */
  readonly cacheMode?: CacheMode;
}

export interface RouterOptions {
  readonly staticRules?: readonly Rule[];
  readonly pins?: readonly Pin[];
  /** Learned rules and operator pins; read on every request through `snapshot()`. */
  readonly store?: RuleStore;
  /** Uniform in [0, 1); decides which requests a rule with `share < 1` takes. */
  readonly random?: () => number;
}

interface CompiledRule {
  readonly rule: Rule;
  readonly match: CompiledMatch;
}

interface CompiledPin {
  readonly pin: Pin;
  readonly match: CompiledMatch;
}

interface CompiledSnapshot {
  readonly snapshot: RuleSnapshot;
  readonly pins: readonly CompiledPin[];
  /** Rules applied from this snapshot (learned ones dropped in dry-run). */
  readonly rules: readonly CompiledRule[];
  readonly needsText: boolean;
  readonly needsTokens: boolean;
}

/**
 * Routes requests by rules and pins.
 *
 * @example
 * const router = new Router({ staticRules: config.rules, pins: config.pins, store });
 * router.route({ agent: 'research', task: 'summarize', model: 'gpt-4o', promptTokens, messageText });
 * // → { model: 'gpt-4o-mini', reason: 'rule', ruleId: 'summaries-to-mini' }
 */
export class Router {
  readonly #staticRules: readonly CompiledRule[];
  readonly #pins: readonly CompiledPin[];
  readonly #store: RuleStore | undefined;
  readonly #random: () => number;
  readonly #staticNeedsText: boolean;
  readonly #staticNeedsTokens: boolean;
  #compiled: CompiledSnapshot | undefined;

  constructor(options: RouterOptions = {}) {
    this.#staticRules = (options.staticRules ?? []).map((rule) => ({
      rule,
      match: compileMatch(rule.match),
    }));
    this.#pins = (options.pins ?? []).map((pin) => ({ pin, match: compileMatch(pin.match) }));
    this.#store = options.store;
    this.#random = options.random ?? Math.random;
    const all = [...this.#staticRules, ...this.#pins];
    this.#staticNeedsText = all.some((c) => c.match.needsText);
    this.#staticNeedsTokens = all.some((c) => c.match.needsTokens);
  }

  /** True when no rule or pin could change any request's model (lets callers skip work). */
  get empty(): boolean {
    if (this.#staticRules.length > 0 || this.#pins.length > 0) return false;
    const c = this.#current();
    return c === undefined || (c.rules.length === 0 && c.pins.length === 0);
  }

  route(input: RouteInput): RouteDecision {
    const dynamic = this.#current();
    const noRules =
      this.#staticRules.length === 0 &&
      this.#pins.length === 0 &&
      (dynamic === undefined || (dynamic.rules.length === 0 && dynamic.pins.length === 0));
    if (noRules) return { model: input.model, reason: 'default' };

    const subject =
      this.#staticNeedsText ||
      this.#staticNeedsTokens ||
      dynamic?.needsText === true ||
      dynamic?.needsTokens === true
        ? memoSubject(input)
        : (input as MatchSubject);

    for (const p of this.#pins) {
      if (p.match.test(subject)) return { model: input.model, reason: 'pin', ruleId: p.pin.id };
    }
    if (dynamic !== undefined) {
      for (const p of dynamic.pins) {
        if (p.match.test(subject)) return { model: input.model, reason: 'pin', ruleId: p.pin.id };
      }
    }
    const fromStatic = this.#firstRule(this.#staticRules, subject);
    if (fromStatic !== undefined) return fromStatic;
    if (dynamic !== undefined) {
      const fromStore = this.#firstRule(dynamic.rules, subject);
      if (fromStore !== undefined) return fromStore;
    }
    return { model: input.model, reason: 'default' };
  }

  #firstRule(rules: readonly CompiledRule[], subject: MatchSubject): RouteDecision | undefined {
    for (const c of rules) {
      if (!c.match.test(subject)) continue;
      const rule = c.rule;
      // A partial rule takes only its share of matching requests; the rest fall through.
      if (rule.share < 1 && !(this.#random() < rule.share)) continue;
      const reason: RouteReason = rule.kind === 'canary' ? 'canary' : 'rule';
      return rule.cache === undefined
        ? { model: rule.targetModel, reason, ruleId: rule.id }
        : { model: rule.targetModel, reason, ruleId: rule.id, cacheMode: rule.cache };
    }
    return undefined;
  }

  #current(): CompiledSnapshot | undefined {
    if (this.#store === undefined) return undefined;
    const snapshot = this.#store.snapshot();
    const compiled = this.#compiled;
    if (compiled !== undefined && compiled.snapshot === snapshot) return compiled;
    if (compiled !== undefined && compiled.snapshot.version === snapshot.version) {
      return compiled;
    }
    const rules = snapshot.rules
      .filter((r) => !(snapshot.dryRun && r.source === 'learned'))
      .map((rule) => ({ rule, match: compileMatch(rule.match) }));
    const pins = snapshot.pins.map((pin) => ({ pin, match: compileMatch(pin.match) }));
    const all = [...rules, ...pins];
    this.#compiled = {
      snapshot,
      rules,
      pins,
      needsText: all.some((c) => c.match.needsText),
      needsTokens: all.some((c) => c.match.needsTokens),
    };
    return this.#compiled;
  }
}

function memoSubject(input: RouteInput): MatchSubject {
  let text: string | undefined;
  let tokens: number | undefined;
  return {
    agent: input.agent,
    task: input.task,
    model: input.model,
    messageText: () => {
      if (text === undefined) text = input.messageText();
      return text;
    },
    promptTokens: () => {
      if (tokens === undefined) tokens = input.promptTokens();
      return tokens;
    },
  };
}
