/**
 * Optional shadow judging: for a bounded, budgeted sample of candidate calls, ask a judge model
 * (any OpenAI-compatible endpoint, through an injected `fetch`) whether the candidate's answer is
 * as good as the baseline's answer to the same prompt, and record the verdict as feedback
 * (`source: 'judge'`) on the candidate call.
 *
 * Bounds: a sample rate, at most `maxConcurrent` judgements in flight (others are skipped, never
 * queued), and a spend cap per rolling day computed from the judge's reported usage and the price
 * table. Prompts and answers go only to the configured judge, never to logs.
 */
import type { LearningSink, LlmCallRecord } from './llm-call.js';
import type { ModelPrices } from './model-prices.js';

export interface ShadowJudgeOptions {
  /** OpenAI-compatible base URL of the judge, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly sink: LearningSink;
  readonly prices: ModelPrices;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly random: () => number;
  /** Share of offered pairs that are judged. Default 0.05. */
  readonly sampleRate?: number;
  /** Judge spend allowed per rolling 24 h, USD. Default 1. */
  readonly maxSpendUsdPerDay?: number;
  /** Judgements in flight at once. Default 2. */
  readonly maxConcurrent?: number;
  /** Abort a judge call after this long. Default 30,000 ms. */
  readonly timeoutMs?: number;
}

/** A prompt with the answers of both models; `call` is the candidate's call the verdict is for. */
export interface JudgePair {
  readonly call: LlmCallRecord;
  readonly messages: readonly { readonly role: string; readonly content: string }[];
  readonly baselineAnswer: string;
  readonly candidateAnswer: string;
  /** Sent to the judge when no `apiKey` is configured (the caller's own key). */
  readonly authorization?: string;
}

export type JudgeOutcome =
  | 'judged'
  | 'skipped-sample'
  | 'skipped-budget'
  | 'skipped-busy'
  | 'failed';

export interface ShadowJudge {
  /** Judges the pair if the sample, the budget and the concurrency allow. Never rejects. */
  offer(pair: JudgePair): Promise<JudgeOutcome>;
  /** USD spent in the last 24 h. */
  spentUsd(): number;
  /** Counts other spend toward the cap (the baseline call made to have something to compare). */
  recordSpend(usd: number): void;
}

const DAY_MS = 86_400_000;

const INSTRUCTIONS =
  'You compare two answers to the same request. REFERENCE comes from a strong model; CANDIDATE from a cheaper one. ' +
  'Reply with only a JSON object {"score": s} where s is 1 if CANDIDATE is as good as REFERENCE for the user, ' +
  '0 if it is unusable, and a value in between otherwise.';

/** Reads `{"score": s}` (possibly inside other text) from the judge's reply. */
export function parseJudgeScore(text: string): number | undefined {
  const m = /\{[^{}]*"score"\s*:\s*(-?\d+(?:\.\d+)?)[^{}]*\}/.exec(text);
  if (m === null) return undefined;
  const s = Number(m[1]);
  return Number.isFinite(s) && s >= 0 && s <= 1 ? s : undefined;
}

/**
 * @example const judge = createShadowJudge({ baseUrl, model: 'gpt-4o', sink: learner, prices, fetch, now: Date.now, random: Math.random });
 */
export function createShadowJudge(options: ShadowJudgeOptions): ShadowJudge {
  const sampleRate = options.sampleRate ?? 0.05;
  const cap = options.maxSpendUsdPerDay ?? 1;
  const maxConcurrent = options.maxConcurrent ?? 2;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(sampleRate >= 0 && sampleRate <= 1))
    throw new RangeError('shadow judge: sampleRate must be in [0, 1]');
  if (!(cap >= 0)) throw new RangeError('shadow judge: maxSpendUsdPerDay must be >= 0');
  // Spend entries of the last day, oldest first; bounded by the cap (each entry costs > 0) and pruned.
  const spend: { at: number; usd: number }[] = [];
  let inFlight = 0;

  function spentUsd(): number {
    const since = options.now() - DAY_MS;
    while (spend.length > 0 && spend[0]!.at < since) spend.shift();
    let total = 0;
    for (const s of spend) total += s.usd;
    return total;
  }

  async function offer(pair: JudgePair): Promise<JudgeOutcome> {
    if (!(options.random() < sampleRate)) return 'skipped-sample';
    if (spentUsd() >= cap) return 'skipped-budget';
    if (inFlight >= maxConcurrent) return 'skipped-busy';
    inFlight++;
    try {
      const prompt = pair.messages.map((m) => `${m.role.toUpperCase()}: ${m.content}`).join('\n');
      const body = {
        model: options.model,
        temperature: 0,
        messages: [
          { role: 'system', content: INSTRUCTIONS },
          {
            role: 'user',
            content: `REQUEST:\n${prompt}\n\nREFERENCE:\n${pair.baselineAnswer}\n\nCANDIDATE:\n${pair.candidateAnswer}`,
          },
        ],
      };
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
      else if (pair.authorization !== undefined) headers.authorization = pair.authorization;
      const res = await options.fetch(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) return 'failed';
      const json = (await res.json()) as {
        choices?: { message?: { content?: string } }[];
        usage?: { prompt_tokens?: number; completion_tokens?: number };
      };
      const usage = {
        inputTokens: json.usage?.prompt_tokens ?? 0,
        outputTokens: json.usage?.completion_tokens ?? 0,
      };
      const usd = options.prices.cost(options.model, usage)?.totalUsd ?? 0;
      if (usd > 0) spend.push({ at: options.now(), usd });
      const score = parseJudgeScore(json.choices?.[0]?.message?.content ?? '');
      if (score === undefined) return 'failed';
      options.sink.recordVerdict(pair.call, { score, source: 'judge', timeUnixMs: options.now() });
      return 'judged';
    } catch {
      return 'failed';
    } finally {
      inFlight--;
    }
  }

  function recordSpend(usd: number): void {
    if (Number.isFinite(usd) && usd > 0) spend.push({ at: options.now(), usd });
  }

  return { offer, spentUsd, recordSpend };
}
