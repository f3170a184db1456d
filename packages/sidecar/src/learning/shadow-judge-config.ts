/**
 * The operator's shadow-judge settings: `learning.shadowJudge` in the config file. Absent means
 * no judging at all (no hook is installed on the proxy). Validated once at start-up; every error
 * names the setting and the fix.
 */
import { LearningConfigError } from './learning-config.js';

export interface ShadowJudgeSettings {
  /** The judge model, e.g. `gpt-4o`. */
  readonly model: string;
  /** OpenAI-compatible base URL of the judge. Default: the sidecar's `upstreamUrl`. */
  readonly baseUrl: string | undefined;
  /** Environment variable holding the judge's API key. Absent: the caller's key is forwarded. */
  readonly apiKeyEnv: string | undefined;
  /** The key read from `apiKeyEnv` at start-up. Never logged. */
  readonly apiKey: string | undefined;
  /** Share of routed answers that are judged. Default 0.05. */
  readonly sampleRate: number;
  /** Judge plus baseline spend allowed per rolling 24 h, USD. Default 1. */
  readonly maxSpendUsdPerDay: number;
  /** Judgements (baseline call + judge call) in flight at once. Default 2. */
  readonly maxConcurrent: number;
  /** Abort a baseline or judge call after this long. Default 30,000 ms. */
  readonly timeoutMs: number;
}

const KEYS = new Set([
  'model',
  'baseUrl',
  'apiKeyEnv',
  'sampleRate',
  'maxSpendUsdPerDay',
  'maxConcurrent',
  'timeoutMs',
]);

function fail(setting: string, fix: string): never {
  throw new LearningConfigError(`learning.shadowJudge.${setting}: ${fix}`);
}

/**
 * Reads `learning.shadowJudge` from the config file's raw `learning` object.
 * @example shadowJudgeFromSidecar(config.learning.raw, process.env)
 */
export function shadowJudgeFromSidecar(
  raw: Readonly<Record<string, unknown>> | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ShadowJudgeSettings | undefined {
  const section = raw?.shadowJudge;
  if (section === undefined || section === null) return undefined;
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw new LearningConfigError(
      'learning.shadowJudge: must be an object { model, baseUrl?, apiKeyEnv?, sampleRate?, maxSpendUsdPerDay?, maxConcurrent? }; remove it to turn judging off',
    );
  }
  const s = section as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!KEYS.has(k)) fail(k, `unknown setting; use one of ${[...KEYS].join(', ')}`);
  }
  if (typeof s.model !== 'string' || s.model === '') {
    fail('model', 'set the judge model name, e.g. "gpt-4o"');
  }
  let baseUrl: string | undefined;
  if (s.baseUrl !== undefined) {
    if (typeof s.baseUrl !== 'string') fail('baseUrl', 'must be a URL string');
    let u: URL;
    try {
      u = new URL(s.baseUrl);
    } catch {
      fail('baseUrl', 'must be an absolute http(s) URL, e.g. "https://api.openai.com/v1"');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      fail('baseUrl', 'must be an http(s) URL, e.g. "https://api.openai.com/v1"');
    }
    baseUrl = s.baseUrl.replace(/\/+$/, '');
  }
  let apiKeyEnv: string | undefined;
  let apiKey: string | undefined;
  if (s.apiKeyEnv !== undefined) {
    if (typeof s.apiKeyEnv !== 'string' || s.apiKeyEnv === '') {
      fail('apiKeyEnv', 'must name an environment variable, e.g. "JUDGE_API_KEY"');
    }
    apiKeyEnv = s.apiKeyEnv;
    apiKey = env[apiKeyEnv];
    if (apiKey === undefined || apiKey === '') {
      fail('apiKeyEnv', `environment variable ${apiKeyEnv} is not set; set it or remove apiKeyEnv`);
    }
  }
  const num = (key: string, dflt: number, ok: (v: number) => boolean, fix: string): number => {
    const v = s[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !ok(v)) fail(key, fix);
    return v;
  };
  return Object.freeze({
    model: s.model,
    baseUrl,
    apiKeyEnv,
    apiKey,
    sampleRate: num(
      'sampleRate',
      0.05,
      (v) => v >= 0 && v <= 1,
      'must be a share in [0, 1], e.g. 0.05 to judge 5% of routed answers',
    ),
    maxSpendUsdPerDay: num(
      'maxSpendUsdPerDay',
      1,
      (v) => v >= 0 && !Number.isNaN(v),
      'must be a USD amount >= 0, e.g. 1',
    ),
    maxConcurrent: num(
      'maxConcurrent',
      2,
      (v) => Number.isInteger(v) && v > 0 && v <= 1000,
      'must be an integer in 1..1000, e.g. 2',
    ),
    timeoutMs: num(
      'timeoutMs',
      30_000,
      (v) => Number.isInteger(v) && v > 0,
      'must be a positive integer of milliseconds, e.g. 30000',
    ),
  });
}
