import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/config-error.js';
import { startHelpText } from '../src/config/help-text.js';
import { isLoopback, loadConfig } from '../src/config/load-config.js';
import { OPTION_SPECS } from '../src/config/option-table.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ argv: [], env: {} });
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.upstreamUrl).toBe('https://api.openai.com/v1');
    expect(c.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(c.logLevel).toBe('info');
    expect(c.redisUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.cache).toEqual({
      enabled: true,
      memoryMaxBytes: 32 * 1024 * 1024,
      ttlMs: 3_600_000,
      mode: 'default',
    });
    expect(c.upstream.maxRetries).toBe(2);
    expect(c.learning).toMatchObject({
      mode: 'per-task',
      tolerance: 0.05,
      dryRun: false,
      ladders: {},
    });
    expect(c.telemetry.tracesEnabled).toBe(false);
    expect(c.rules).toEqual([]);
  });

  it('takes flag over env over file over default', () => {
    const file = { port: 7000, host: '127.0.0.2', cache: { ttlMs: 1000 } };
    expect(loadConfig({ argv: [], env: {}, file }).port).toBe(7000);
    expect(loadConfig({ argv: [], env: { SWITCHYARD_PORT: '7100' }, file }).port).toBe(7100);
    expect(
      loadConfig({ argv: ['--port', '7200'], env: { SWITCHYARD_PORT: '7100' }, file }).port,
    ).toBe(7200);
    expect(loadConfig({ argv: ['--port=7300'], env: {}, file }).port).toBe(7300);
    expect(loadConfig({ argv: [], env: {}, file }).cache.ttlMs).toBe(1000);
    expect(
      loadConfig({ argv: ['--no-cache'], env: { SWITCHYARD_CACHE: 'true' } }).cache.enabled,
    ).toBe(false);
    expect(loadConfig({ argv: [], env: { SWITCHYARD_CACHE: 'off' } }).cache.enabled).toBe(false);
    expect(loadConfig({ argv: ['--dry-run'], env: {} }).learning.dryRun).toBe(true);
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig({
      argv: [],
      env: {},
      file: { rules: [{ id: 'r', match: { task: 't' }, targetModel: 'm' }] },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.cache)).toBe(true);
    expect(Object.isFrozen(c.rules[0]?.match)).toBe(true);
  });

  it('names the setting and the fix in its errors', () => {
    expect(configError(() => loadConfig({ env: { SWITCHYARD_PORT: 'abc' } })).message).toBe(
      "SWITCHYARD_PORT must be an integer 0-65535, got 'abc'.",
    );
    expect(configError(() => loadConfig({ argv: ['--port', '70000'], env: {} })).message).toMatch(
      /^--port must be an integer 0-65535, got '70000'/,
    );
    expect(configError(() => loadConfig({ env: {}, file: { port: 'x' } })).message).toMatch(
      /config file field 'port'/,
    );
    expect(
      configError(() => loadConfig({ env: { SWITCHYARD_UPSTREAM_URL: 'ftp://x' } })).message,
    ).toMatch(/SWITCHYARD_UPSTREAM_URL must be an http/);
    expect(configError(() => loadConfig({ env: { REDIS_URL: 'http://x' } })).message).toMatch(
      /REDIS_URL must be a redis:\/\//,
    );
    expect(
      configError(() => loadConfig({ env: { SWITCHYARD_LOG_LEVEL: 'loud' } })).message,
    ).toMatch(/one of debug, info, warn, error, silent/);
    expect(configError(() => loadConfig({ argv: ['--bogus', '1'], env: {} })).message).toMatch(
      /Unknown option --bogus.*--help/,
    );
    expect(configError(() => loadConfig({ argv: ['--port'], env: {} })).message).toMatch(
      /--port needs a value/,
    );
    expect(configError(() => loadConfig({ env: { SWITCHYARD_CACHE: 'maybe' } })).message).toMatch(
      /SWITCHYARD_CACHE must be true or false/,
    );
    expect(configError(() => loadConfig({ env: { SWITCHYARD_TOLERANCE: '2' } })).message).toMatch(
      /SWITCHYARD_TOLERANCE must be a number 0-1/,
    );
  });

  it('refuses to listen beyond loopback without an admin token', () => {
    const e = configError(() => loadConfig({ argv: ['--host', '0.0.0.0'], env: {} }));
    expect(e.setting).toBe('SWITCHYARD_ADMIN_TOKEN');
    expect(e.message).toMatch(/--host 127\.0\.0\.1/);
    expect(
      loadConfig({ argv: ['--host', '0.0.0.0'], env: { SWITCHYARD_ADMIN_TOKEN: 't' } }).adminToken,
    ).toBe('t');
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('[::1]')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });

  it('never takes the admin token from a flag or the file', () => {
    expect(
      configError(() => loadConfig({ argv: ['--admin-token', 'x'], env: {} })).message,
    ).toMatch(/Unknown option --admin-token/);
    expect(loadConfig({ env: {}, file: { port: 1 } }).adminToken).toBeUndefined();
  });

  it('reads and validates the config file: providers, prices, rules, pins, learning', () => {
    const text = JSON.stringify({
      providers: [
        {
          name: 'groq',
          baseURL: 'https://api.groq.com/openai/v1/',
          apiKeyEnv: 'GROQ_KEY',
          models: ['llama-3-70b'],
        },
      ],
      prices: { 'llama-3-70b': { input: 0.59, output: 0.79 } },
      rules: [
        {
          id: 'r1',
          match: { agent: 'a', messagePattern: '^x', minPromptTokens: 10 },
          targetModel: 'llama-3-70b',
          share: 0.25,
          cache: 'force',
        },
      ],
      pins: [{ match: { agent: 'refine' }, note: 'never' }],
      learning: { ladders: { 'gpt-4o': ['gpt-4o-mini'] }, judge: { model: 'gpt-4o' } },
    });
    const c = loadConfig({
      argv: ['--config', 'sy.json'],
      env: { GROQ_KEY: 'gsk-1' },
      readFile: (p) => (p === 'sy.json' ? text : ''),
      now: () => 42,
    });
    expect(c.configFile).toBe('sy.json');
    expect(c.providers).toEqual([
      {
        name: 'groq',
        baseURL: 'https://api.groq.com/openai/v1',
        apiKeyEnv: 'GROQ_KEY',
        apiKey: 'gsk-1',
        models: ['llama-3-70b'],
      },
    ]);
    expect(c.prices['llama-3-70b']).toEqual({ input: 0.59, output: 0.79 });
    expect(c.rules[0]).toEqual({
      id: 'r1',
      source: 'static',
      kind: 'downgrade',
      match: { agent: 'a', minPromptTokens: 10, messagePattern: '^x' },
      targetModel: 'llama-3-70b',
      share: 0.25,
      cache: 'force',
      createdAt: 42,
      updatedAt: 42,
    });
    expect(c.pins[0]).toEqual({
      id: 'config-pin-1',
      match: { agent: 'refine' },
      note: 'never',
      createdAt: 42,
    });
    expect(c.learning.ladders).toEqual({ 'gpt-4o': ['gpt-4o-mini'] });
    expect(c.learning.raw.judge).toEqual({ model: 'gpt-4o' });
  });

  it('explains what is wrong in the file', () => {
    const load = (file: Record<string, unknown>, env: Record<string, string> = {}) =>
      configError(() => loadConfig({ env, file }));
    expect(load({ nope: 1 }).message).toMatch(/Unknown field 'nope' in config file/);
    expect(load({ cache: { ttl: 5 } }).message).toMatch(
      /Unknown field 'ttl' in cache; allowed: enabled, memoryMaxBytes, ttlMs, mode/,
    );
    expect(load({ rules: [{ id: 'a', targetModel: 'm', share: 0 }] }).message).toMatch(
      /rules\[0\]\.share must be a number in \(0, 1\]/,
    );
    expect(
      load({ rules: [{ id: 'a', match: { messagePattern: '(' }, targetModel: 'm' }] }).message,
    ).toMatch(/rules\[0\]\.match\.messagePattern is not a valid regular expression/);
    expect(load({ rules: [{ id: 'a', match: { tusk: 'x' }, targetModel: 'm' }] }).message).toMatch(
      /Unknown field 'tusk' in rules\[0\]\.match/,
    );
    expect(
      load({
        rules: [
          { id: 'a', targetModel: 'm' },
          { id: 'a', targetModel: 'n' },
        ],
      }).message,
    ).toMatch(/used twice/);
    expect(load({ rules: [{ id: 'a' }] }).message).toMatch(
      /rules\[0\]\.targetModel must be a non-empty string/,
    );
    expect(
      load({ providers: [{ name: 'p', baseURL: 'http://x', apiKeyEnv: 'MISSING_KEY' }] }).message,
    ).toMatch(/MISSING_KEY, which is not set/);
    expect(load({ prices: { m: { input: -1, output: 1 } } }).message).toMatch(
      /prices\['m'\]\.input must be a non-negative number/,
    );
    expect(
      configError(() => loadConfig({ env: {}, file: 'x.json', readFile: () => '{oops' })).message,
    ).toMatch(/Config file 'x.json' is not valid JSON/);
    expect(
      configError(() =>
        loadConfig({
          env: {},
          file: 'x.json',
          readFile: () => {
            throw new Error('ENOENT');
          },
        }),
      ).message,
    ).toMatch(/Cannot read config file 'x.json'/);
  });

  it('turns traces on only when an OTLP endpoint or exporter is configured', () => {
    expect(
      loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' } }).telemetry.tracesEnabled,
    ).toBe(true);
    expect(loadConfig({ env: { OTEL_TRACES_EXPORTER: 'console' } }).telemetry.tracesEnabled).toBe(
      true,
    );
    expect(
      loadConfig({ env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' } })
        .telemetry.tracesEnabled,
    ).toBe(false);
    expect(
      loadConfig({ env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' } })
        .telemetry.tracesEnabled,
    ).toBe(false);
    expect(loadConfig({ env: { OTEL_SERVICE_NAME: 'edge' } }).telemetry.serviceName).toBe('edge');
  });

  it('documents every option with its default and variable in --help', () => {
    const help = startHelpText();
    for (const spec of OPTION_SPECS) {
      if (spec.env !== undefined) expect(help).toContain(spec.env);
      if (spec.flag !== undefined && spec.secret !== true)
        expect(help).toMatch(new RegExp(`--(\\[no-\\])?${spec.flag}\\b`));
    }
    expect(help).toContain('default 8080');
    expect(help).toContain('--config <path>');
  });
});
