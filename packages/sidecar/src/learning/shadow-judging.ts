/**
 * Shadow judging wired to the proxy: the `RoutedAnswerHook` that, for a sampled routed answer,
 * asks the requested (baseline) model for its own answer to the same request, has the shadow
 * judge compare the two, and lets the judge record the verdict on the candidate's call as
 * feedback (`source: 'judge'`).
 *
 * It all runs in the background after the proxy handed the answer over: the client's answer is
 * never delayed or failed by it. Bounds: the sample rate and the concurrency are checked in
 * `wants()` before the proxy parses anything; the spend cap covers both the baseline call and
 * the judge call. Failures are logged at debug level without prompt text.
 */
import type { ProviderConfig } from '../config/sidecar-config.js';
import type { RoutedAnswer, RoutedAnswerHook } from '../proxy/routed-answer.js';
import type { Logger } from '../telemetry/request-logger.js';
import type { LearningSink, LlmCallRecord } from './llm-call.js';
import type { ModelPrices } from './model-prices.js';
import { createShadowJudge, type JudgeOutcome } from './shadow-judge.js';
import type { ShadowJudgeSettings } from './shadow-judge-config.js';

export interface ShadowJudgingOptions {
  readonly settings: ShadowJudgeSettings;
  /** The sidecar's default upstream (models no provider lists, and the judge's default URL). */
  readonly upstreamUrl: string;
  readonly providers: readonly ProviderConfig[];
  readonly sink: LearningSink;
  readonly prices: ModelPrices;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly random: () => number;
  readonly logger: Logger;
}

/** Outcomes of one routed answer, beyond the judge's own. */
export type ShadowJudgingOutcome = JudgeOutcome | 'baseline-failed' | 'unreadable-request';

export interface ShadowJudging extends RoutedAnswerHook {
  /** Judging spend (baseline + judge) in the last 24 h, USD. */
  spentUsd(): number;
  /** Counts per outcome since start. */
  outcomes(): Readonly<Record<string, number>>;
  /** Stops taking answers and waits for those in flight. */
  close(): Promise<void>;
}

interface Target {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
}

/**
 * @example const judging = createShadowJudging({ settings, upstreamUrl, providers, sink: learner, prices, fetch, now: Date.now, random: Math.random, logger });
 */
export function createShadowJudging(options: ShadowJudgingOptions): ShadowJudging {
  const s = options.settings;
  const byModel = new Map<string, Target>();
  for (const p of options.providers) {
    for (const m of p.models) {
      if (!byModel.has(m)) byModel.set(m, { baseUrl: p.baseURL, apiKey: p.apiKey });
    }
  }
  const defaultTarget: Target = { baseUrl: options.upstreamUrl, apiKey: undefined };
  const targetOf = (model: string): Target => byModel.get(model) ?? defaultTarget;
  // Without its own URL and key the judge goes where its model is served, with that provider's key.
  const judgeTarget = s.baseUrl === undefined ? targetOf(s.model) : undefined;
  const judge = createShadowJudge({
    baseUrl: s.baseUrl ?? judgeTarget?.baseUrl ?? options.upstreamUrl,
    model: s.model,
    ...((s.apiKey ?? judgeTarget?.apiKey) !== undefined
      ? { apiKey: (s.apiKey ?? judgeTarget?.apiKey) as string }
      : {}),
    sink: options.sink,
    prices: options.prices,
    fetch: options.fetch,
    now: options.now,
    random: options.random,
    // Sampling and concurrency are decided in `wants()`, before the proxy parses the answer.
    sampleRate: 1,
    maxSpendUsdPerDay: s.maxSpendUsdPerDay,
    maxConcurrent: s.maxConcurrent,
    timeoutMs: s.timeoutMs,
  });
  const pending = new Set<Promise<void>>();
  const counts: Record<string, number> = {};
  let inFlight = 0;
  let closed = false;

  function count(outcome: ShadowJudgingOutcome): void {
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    if (outcome !== 'judged' && options.logger.enabled('debug')) {
      options.logger.log('debug', 'shadow judging: answer not judged', { outcome });
    }
  }

  function wants(): boolean {
    if (closed || inFlight >= s.maxConcurrent) return false;
    if (!(options.random() < s.sampleRate)) return false;
    if (judge.spentUsd() >= s.maxSpendUsdPerDay) {
      count('skipped-budget');
      return false;
    }
    return true;
  }

  function take(answer: RoutedAnswer): void {
    if (closed) return;
    inFlight++;
    const p: Promise<void> = new Promise<void>((r) => setImmediate(r))
      .then(() => judgeOne(answer))
      .then(count, () => count('failed'))
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  }

  async function judgeOne(a: RoutedAnswer): Promise<ShadowJudgingOutcome> {
    const messages = plainMessages(a.body.messages);
    if (messages === undefined) return 'unreadable-request';
    const baseline = await baselineAnswer(a);
    if (baseline === undefined) return 'baseline-failed';
    const call: LlmCallRecord = {
      traceId: '',
      spanId: '',
      ...(a.responseId !== undefined ? { responseId: a.responseId } : {}),
      agent: a.agent ?? 'unknown',
      task: a.task ?? 'unknown',
      operation: 'chat',
      requestedModel: a.requestedModel,
      servedModel: a.servedModel,
      routeReason: a.reason,
      ...(a.ruleId !== undefined ? { ruleId: a.ruleId } : {}),
      inputTokens: a.usage?.inputTokens ?? 0,
      outputTokens: a.usage?.outputTokens ?? 0,
      startTimeUnixMs: a.startTimeUnixMs,
      durationMs: a.durationMs,
      error: false,
      finishReasons: a.finishReasons ?? [],
    };
    return judge.offer({
      call,
      messages,
      baselineAnswer: baseline,
      candidateAnswer: a.answerText,
      ...(a.authorization !== undefined ? { authorization: a.authorization } : {}),
    });
  }

  /** The requested model's answer to the same request, its cost counted toward the cap. */
  async function baselineAnswer(a: RoutedAnswer): Promise<string | undefined> {
    const target = targetOf(a.requestedModel);
    const body: Record<string, unknown> = { ...a.body, model: a.requestedModel, stream: false };
    delete body.stream_options;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = target.apiKey !== undefined ? `Bearer ${target.apiKey}` : a.authorization;
    if (auth !== undefined) headers.authorization = auth;
    const res = await options.fetch(`${target.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(s.timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const json = (await res.json()) as {
      choices?: { message?: { content?: unknown } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const usd = options.prices.cost(a.requestedModel, {
      inputTokens: json.usage?.prompt_tokens ?? 0,
      outputTokens: json.usage?.completion_tokens ?? 0,
    })?.totalUsd;
    if (usd !== undefined) judge.recordSpend(usd);
    const text = json.choices?.[0]?.message?.content;
    return typeof text === 'string' ? text : undefined;
  }

  return {
    wants,
    take,
    spentUsd: () => judge.spentUsd(),
    outcomes: () => ({ ...counts }),
    async close() {
      closed = true;
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** Chat messages as role + text (text parts joined); undefined when they are not readable. */
function plainMessages(raw: unknown): { role: string; content: string }[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out: { role: string; content: string }[] = [];
  for (const m of raw) {
    if (typeof m !== 'object' || m === null) return undefined;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') return undefined;
    if (typeof content === 'string') out.push({ role, content });
    else if (Array.isArray(content)) {
      const parts: string[] = [];
      for (const p of content) {
        const t = (p as { text?: unknown } | null)?.text;
        if (typeof t === 'string') parts.push(t);
      }
      out.push({ role, content: parts.join('\n') });
    } else out.push({ role, content: '' });
  }
  return out;
}
