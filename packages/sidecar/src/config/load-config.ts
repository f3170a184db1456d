/**
 * Loads the sidecar's configuration once: explicit flag > environment variable > config file >
 * default. Every error names the setting and the fix, and the result is deep-frozen.
 */
import { readFileSync } from 'node:fs';
import type { ModelPrice } from '@switchyard/instrumentation/pricing';
import type { CacheMode, Pin, Rule, RuleKind, RuleMatch } from '../routing/rule.js';
import { ConfigError } from './config-error.js';
import { OPTION_SPECS, type OptionSpec } from './option-table.js';
import type {
  LearningConfig,
  LogLevel,
  ProviderConfig,
  SidecarConfig,
  UpstreamConfig,
} from './sidecar-config.js';

export interface LoadConfigOptions {
  /** Command-line arguments after the subcommand, e.g. `['--port', '9000']`. */
  readonly argv?: readonly string[];
  /** Environment; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The config file: a path to read, or its already parsed content. When absent, the path comes
   * from `--config` or `SWITCHYARD_CONFIG`.
   */
  readonly file?: string | Readonly<Record<string, unknown>>;
  /** Reads a file as UTF-8; injectable for tests. */
  readonly readFile?: (path: string) => string;
  /** Epoch ms used for `createdAt` of static rules and pins. */
  readonly now?: () => number;
}

const CACHE_MODES: readonly CacheMode[] = ['default', 'no-store', 'force'];
const RULE_KINDS: readonly RuleKind[] = ['downgrade', 'canary'];
const MATCH_KEYS = new Set([
  'agent',
  'task',
  'model',
  'minPromptTokens',
  'maxPromptTokens',
  'messagePattern',
]);
const FILE_KEYS = new Set([
  'port',
  'host',
  'upstreamUrl',
  'maxBodyBytes',
  'logLevel',
  'redisUrl',
  'redisKeyPrefix',
  'stateDir',
  'shutdownTimeoutMs',
  'cache',
  'upstream',
  'learning',
  'providers',
  'prices',
  'rules',
  'pins',
]);

/**
 * Builds the frozen `SidecarConfig`.
 *
 * @example
 * const config = loadConfig({ argv: ['--port', '9000'], env: process.env });
 * @throws ConfigError naming the setting, e.g. "SWITCHYARD_PORT must be an integer 0-65535, got 'abc'"
 */
export function loadConfig(options: LoadConfigOptions = {}): SidecarConfig {
  const env = options.env ?? process.env;
  const flags = parseArgv(options.argv ?? []);
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const now = (options.now ?? Date.now)();

  let configFile: string | undefined;
  let file: Readonly<Record<string, unknown>> = {};
  const fileOption = options.file ?? flags.get('config') ?? nonEmpty(env.SWITCHYARD_CONFIG);
  if (typeof fileOption === 'string') {
    configFile = fileOption;
    file = readConfigFile(fileOption, readFile);
  } else if (fileOption !== undefined) {
    file = fileOption;
  }
  flags.delete('config');
  checkKeys(file, FILE_KEYS, 'config file');

  const known = new Set(OPTION_SPECS.flatMap((s) => (s.flag === undefined ? [] : [s.flag])));
  for (const flag of flags.keys()) {
    if (!known.has(flag)) {
      throw new ConfigError(
        `--${flag}`,
        `Unknown option --${flag}; run 'switchyard start --help' to list options.`,
      );
    }
  }

  const v = new Map<string, string | number | boolean | undefined>();
  for (const spec of OPTION_SPECS) v.set(spec.key, resolveOption(spec, flags, env, file));

  const num = (key: string): number => v.get(key) as number;
  const str = (key: string): string => v.get(key) as string;
  const optStr = (key: string): string | undefined => v.get(key) as string | undefined;
  const bool = (key: string): boolean => v.get(key) as boolean;

  const host = str('host');
  const adminToken = optStr('adminToken');
  if (!isLoopback(host) && (adminToken === undefined || adminToken.length === 0)) {
    throw new ConfigError(
      'SWITCHYARD_ADMIN_TOKEN',
      `SWITCHYARD_ADMIN_TOKEN must be set when listening beyond loopback (host '${host}'): the rules API would be open to the network. Set a long random token, or use --host 127.0.0.1.`,
    );
  }

  const upstream: UpstreamConfig = {
    timeoutMs: num('upstream.timeoutMs'),
    connectTimeoutMs: num('upstream.connectTimeoutMs'),
    streamIdleTimeoutMs: num('upstream.streamIdleTimeoutMs'),
    maxRetries: num('upstream.maxRetries'),
    retryBaseDelayMs: num('upstream.retryBaseDelayMs'),
    retryMaxDelayMs: num('upstream.retryMaxDelayMs'),
    maxRetryAfterMs: num('upstream.maxRetryAfterMs'),
    maxSockets: num('upstream.maxSockets'),
    breakerFailureThreshold: num('upstream.breakerFailureThreshold'),
    breakerCooldownMs: num('upstream.breakerCooldownMs'),
  };
  checkSection(file, 'upstream');
  checkSection(file, 'cache');
  checkSection(file, 'learning');

  const config: SidecarConfig = {
    port: num('port'),
    host,
    upstreamUrl: stripSlash(str('upstreamUrl')),
    configFile,
    providers: parseProviders(file.providers, env),
    prices: parsePrices(file.prices),
    rules: parseRules(file.rules, now),
    pins: parsePins(file.pins, now),
    cache: {
      enabled: bool('cache.enabled'),
      memoryMaxBytes: num('cache.memoryMaxBytes'),
      ttlMs: num('cache.ttlMs'),
      mode: str('cache.mode') as CacheMode,
    },
    maxBodyBytes: num('maxBodyBytes'),
    upstream,
    redisUrl: optStr('redisUrl'),
    redisKeyPrefix: str('redisKeyPrefix'),
    adminToken: adminToken === '' ? undefined : adminToken,
    logLevel: str('logLevel') as LogLevel,
    shutdownTimeoutMs: num('shutdownTimeoutMs'),
    stateDir: str('stateDir'),
    learning: parseLearning(file.learning, {
      mode: str('learning.mode') as LearningConfig['mode'],
      tolerance: num('learning.tolerance'),
      dryRun: bool('learning.dryRun'),
    }),
    telemetry: {
      tracesEnabled: tracesEnabled(env),
      serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? 'switchyard-sidecar',
    },
  };
  return deepFreeze(config);
}

/** True for 127.0.0.0/8, ::1 and `localhost`: the only hosts where the rules API may be open. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Parses `--name value`, `--name=value`, `--flag` (true) and `--no-flag` (false). Values stay
 * strings; booleans become 'true'/'false'. Positional arguments are refused.
 */
export function parseArgv(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const booleans = new Set(OPTION_SPECS.filter((s) => s.kind === 'bool').map((s) => s.flag));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigError(arg, `Unexpected argument '${arg}'; options look like --port 8080.`);
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (eq >= 0) {
      out.set(name, arg.slice(eq + 1));
    } else if (booleans.has(name)) {
      out.set(name, 'true');
    } else if (name.startsWith('no-') && booleans.has(name.slice(3))) {
      out.set(name.slice(3), 'false');
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(
          `--${name}`,
          `Option --${name} needs a value, e.g. --${name}=<value>.`,
        );
      }
      out.set(name, next);
      i++;
    }
  }
  return out;
}

function resolveOption(
  spec: OptionSpec,
  flags: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, unknown>>,
): string | number | boolean | undefined {
  if (spec.flag !== undefined && spec.secret !== true) {
    const raw = flags.get(spec.flag);
    if (raw !== undefined) return parseValue(spec, raw, `--${spec.flag}`);
  }
  if (spec.env !== undefined) {
    const raw = nonEmpty(env[spec.env]);
    if (raw !== undefined) return parseValue(spec, raw, spec.env);
  }
  if (spec.secret !== true) {
    const raw = getPath(file, spec.key);
    if (raw !== undefined && raw !== null)
      return parseValue(spec, raw, `config file field '${spec.key}'`);
  }
  return spec.default;
}

function parseValue(spec: OptionSpec, raw: unknown, source: string): string | number | boolean {
  const shown = typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      const intOk = spec.kind === 'number' || Number.isInteger(n);
      const lo = spec.min ?? Number.NEGATIVE_INFINITY;
      const hi = spec.max ?? Number.POSITIVE_INFINITY;
      if (!Number.isFinite(n) || !intOk || n < lo || n > hi) {
        const what = spec.kind === 'int' ? 'an integer' : 'a number';
        throw new ConfigError(source, `${source} must be ${what} ${lo}-${hi}, got ${shown}.`);
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
      if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
      throw new ConfigError(source, `${source} must be true or false, got ${shown}.`);
    }
    case 'enum': {
      const s = String(raw).trim();
      if (spec.values?.includes(s) !== true) {
        throw new ConfigError(
          source,
          `${source} must be one of ${spec.values?.join(', ')}, got ${shown}.`,
        );
      }
      return s;
    }
    case 'url': {
      if (typeof raw !== 'string' || !isHttpUrl(raw, spec.key === 'redisUrl')) {
        const want =
          spec.key === 'redisUrl' ? 'a redis:// or rediss:// URL' : 'an http:// or https:// URL';
        throw new ConfigError(source, `${source} must be ${want}, got ${shown}.`);
      }
      return raw.trim();
    }
    default: {
      if (typeof raw !== 'string' || raw.trim() === '') {
        throw new ConfigError(source, `${source} must be a non-empty string, got ${shown}.`);
      }
      return raw.trim();
    }
  }
}

function isHttpUrl(raw: string, redis: boolean): boolean {
  try {
    const u = new URL(raw.trim());
    return redis
      ? u.protocol === 'redis:' || u.protocol === 'rediss:'
      : u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      '--config',
      `Cannot read config file '${path}' (${reason}); check --config / SWITCHYARD_CONFIG.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError('--config', `Config file '${path}' is not valid JSON: ${reason}.`);
  }
  if (!isObject(parsed)) {
    throw new ConfigError(
      '--config',
      `Config file '${path}' must hold a JSON object at the top level.`,
    );
  }
  return parsed;
}

function parseProviders(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
): ProviderConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(
      'providers',
      "Config file field 'providers' must be an array of { name, baseURL, apiKeyEnv?, models }.",
    );
  const names = new Set<string>();
  return raw.map((p: unknown, i) => {
    const at = `providers[${i}]`;
    if (!isObject(p))
      throw new ConfigError(at, `${at} must be an object { name, baseURL, apiKeyEnv?, models }.`);
    checkKeys(p, new Set(['name', 'baseURL', 'apiKeyEnv', 'models']), at);
    const name = requireString(p.name, `${at}.name`);
    if (names.has(name))
      throw new ConfigError(
        `${at}.name`,
        `${at}.name '${name}' is used twice; provider names must be unique.`,
      );
    names.add(name);
    const baseURL = requireString(p.baseURL, `${at}.baseURL`);
    if (!isHttpUrl(baseURL, false))
      throw new ConfigError(
        `${at}.baseURL`,
        `${at}.baseURL must be an http:// or https:// URL, got '${baseURL}'.`,
      );
    const models = p.models === undefined ? [] : requireStringArray(p.models, `${at}.models`);
    const provider: { -readonly [K in keyof ProviderConfig]: ProviderConfig[K] } = {
      name,
      baseURL: stripSlash(baseURL),
      models,
    };
    if (p.apiKeyEnv !== undefined) {
      const keyEnv = requireString(p.apiKeyEnv, `${at}.apiKeyEnv`);
      const key = nonEmpty(env[keyEnv]);
      if (key === undefined) {
        throw new ConfigError(
          keyEnv,
          `${at}.apiKeyEnv names ${keyEnv}, which is not set; export ${keyEnv} or remove apiKeyEnv to pass client keys through.`,
        );
      }
      provider.apiKeyEnv = keyEnv;
      provider.apiKey = key;
    }
    return provider;
  });
}

function parsePrices(raw: unknown): Record<string, ModelPrice> {
  if (raw === undefined) return {};
  if (!isObject(raw))
    throw new ConfigError(
      'prices',
      "Config file field 'prices' must be an object { model: { input, output, cachedInput? } } in USD per million tokens.",
    );
  const out: Record<string, ModelPrice> = {};
  for (const [model, p] of Object.entries(raw)) {
    const at = `prices['${model}']`;
    if (!isObject(p))
      throw new ConfigError(
        at,
        `${at} must be { input, output, cachedInput? } in USD per million tokens.`,
      );
    checkKeys(p, new Set(['input', 'output', 'cachedInput']), at);
    const price: { input: number; output: number; cachedInput?: number } = {
      input: requirePrice(p.input, `${at}.input`),
      output: requirePrice(p.output, `${at}.output`),
    };
    if (p.cachedInput !== undefined)
      price.cachedInput = requirePrice(p.cachedInput, `${at}.cachedInput`);
    out[model] = price;
  }
  return out;
}

function parseMatch(raw: unknown, at: string): RuleMatch {
  if (raw === undefined) return {};
  if (!isObject(raw))
    throw new ConfigError(
      at,
      `${at} must be an object with any of agent, task, model, minPromptTokens, maxPromptTokens, messagePattern.`,
    );
  checkKeys(raw, MATCH_KEYS, at);
  const m: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = {};
  for (const k of ['agent', 'task', 'model'] as const) {
    if (raw[k] !== undefined) m[k] = requireString(raw[k], `${at}.${k}`);
  }
  for (const k of ['minPromptTokens', 'maxPromptTokens'] as const) {
    const n = raw[k];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new ConfigError(
        `${at}.${k}`,
        `${at}.${k} must be a non-negative integer, got ${JSON.stringify(n)}.`,
      );
    }
    m[k] = n;
  }
  if (raw.messagePattern !== undefined) {
    const src = requireString(raw.messagePattern, `${at}.messagePattern`);
    try {
      new RegExp(src);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(
        `${at}.messagePattern`,
        `${at}.messagePattern is not a valid regular expression: ${reason}.`,
      );
    }
    m.messagePattern = src;
  }
  return m;
}

function parseRules(raw: unknown, now: number): Rule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(
      'rules',
      "Config file field 'rules' must be an array of { id, match, targetModel, share?, cache?, kind? }.",
    );
  const ids = new Set<string>();
  return raw.map((r: unknown, i) => {
    const at = `rules[${i}]`;
    if (!isObject(r))
      throw new ConfigError(
        at,
        `${at} must be an object { id, match, targetModel, share?, cache?, kind? }.`,
      );
    checkKeys(r, new Set(['id', 'match', 'targetModel', 'share', 'cache', 'kind']), at);
    const id = r.id === undefined ? `static-${i + 1}` : requireString(r.id, `${at}.id`);
    if (ids.has(id))
      throw new ConfigError(`${at}.id`, `${at}.id '${id}' is used twice; rule ids must be unique.`);
    ids.add(id);
    const share = r.share === undefined ? 1 : r.share;
    if (typeof share !== 'number' || !(share > 0 && share <= 1)) {
      throw new ConfigError(
        `${at}.share`,
        `${at}.share must be a number in (0, 1], got ${JSON.stringify(share)}.`,
      );
    }
    const kind = r.kind === undefined ? 'downgrade' : r.kind;
    if (!RULE_KINDS.includes(kind as RuleKind)) {
      throw new ConfigError(
        `${at}.kind`,
        `${at}.kind must be one of ${RULE_KINDS.join(', ')}, got ${JSON.stringify(kind)}.`,
      );
    }
    const rule: { -readonly [K in keyof Rule]: Rule[K] } = {
      id,
      source: 'static',
      kind: kind as RuleKind,
      match: parseMatch(r.match, `${at}.match`),
      targetModel: requireString(r.targetModel, `${at}.targetModel`),
      share,
      createdAt: now,
      updatedAt: now,
    };
    if (r.cache !== undefined) rule.cache = parseCacheMode(r.cache, `${at}.cache`);
    return rule;
  });
}

function parsePins(raw: unknown, now: number): Pin[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(
      'pins',
      "Config file field 'pins' must be an array of { id?, match, note? }.",
    );
  return raw.map((p: unknown, i) => {
    const at = `pins[${i}]`;
    if (!isObject(p)) throw new ConfigError(at, `${at} must be an object { id?, match, note? }.`);
    checkKeys(p, new Set(['id', 'match', 'note']), at);
    const pin: { -readonly [K in keyof Pin]: Pin[K] } = {
      id: p.id === undefined ? `config-pin-${i + 1}` : requireString(p.id, `${at}.id`),
      match: parseMatch(p.match, `${at}.match`),
      createdAt: now,
    };
    if (p.note !== undefined) pin.note = requireString(p.note, `${at}.note`);
    return pin;
  });
}

function parseLearning(
  raw: unknown,
  scalars: Pick<LearningConfig, 'mode' | 'tolerance' | 'dryRun'>,
): LearningConfig {
  const obj = isObject(raw) ? raw : {};
  const ladders: Record<string, readonly string[]> = {};
  if (obj.ladders !== undefined) {
    if (!isObject(obj.ladders)) {
      throw new ConfigError(
        'learning.ladders',
        'learning.ladders must be an object { baselineModel: [cheaperModel, ...] }.',
      );
    }
    for (const [model, list] of Object.entries(obj.ladders)) {
      ladders[model] = requireStringArray(list, `learning.ladders['${model}']`);
    }
  }
  return { ...scalars, ladders, raw: obj };
}

function parseCacheMode(raw: unknown, at: string): CacheMode {
  if (typeof raw !== 'string' || !CACHE_MODES.includes(raw as CacheMode)) {
    throw new ConfigError(
      at,
      `${at} must be one of ${CACHE_MODES.join(', ')}, got ${JSON.stringify(raw)}.`,
    );
  }
  return raw as CacheMode;
}

function tracesEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
  if (nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') return false;
  const exporter = nonEmpty(env.OTEL_TRACES_EXPORTER)?.toLowerCase();
  if (exporter === 'none') return false;
  return (
    exporter !== undefined ||
    nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) !== undefined ||
    nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== undefined
  );
}

function checkSection(file: Readonly<Record<string, unknown>>, section: string): void {
  const raw = file[section];
  if (raw === undefined) return;
  if (!isObject(raw))
    throw new ConfigError(section, `Config file field '${section}' must be an object.`);
  if (section === 'learning') return; // the learner owns extra keys in its section
  const allowed = new Set(
    OPTION_SPECS.filter((s) => s.key.startsWith(`${section}.`)).map((s) =>
      s.key.slice(section.length + 1),
    ),
  );
  checkKeys(raw, allowed, section);
}

function checkKeys(
  obj: Readonly<Record<string, unknown>>,
  allowed: ReadonlySet<string>,
  at: string,
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      throw new ConfigError(
        `${at}.${k}`,
        `Unknown field '${k}' in ${at}; allowed: ${[...allowed].join(', ')}.`,
      );
    }
  }
}

function getPath(obj: Readonly<Record<string, unknown>>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function requireString(raw: unknown, at: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new ConfigError(at, `${at} must be a non-empty string, got ${JSON.stringify(raw)}.`);
  }
  return raw;
}

function requireStringArray(raw: unknown, at: string): string[] {
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string' || x === '')) {
    throw new ConfigError(
      at,
      `${at} must be an array of non-empty strings, got ${JSON.stringify(raw)}.`,
    );
  }
  return raw as string[];
}

function requirePrice(raw: unknown, at: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
    throw new ConfigError(
      at,
      `${at} must be a non-negative number (USD per million tokens), got ${JSON.stringify(raw)}.`,
    );
  }
  return raw;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
