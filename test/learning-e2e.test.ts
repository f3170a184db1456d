/**
 * The learning loop end to end, over real sockets: an `openai` client instrumented by
 * `@switchyard/instrumentation` calls the sidecar (started by `startSidecar` with the learning
 * plugin, as `switchyard start` wires it) inside `withAgent`; the sidecar forwards to a fake
 * upstream; the spans go through the real OTLP/HTTP protobuf exporter to the sidecar's
 * `/v1/traces`; feedback is recorded with `recordFeedback`. The fake upstream's cheap model is
 * as good as the strong one on task "easy" and clearly worse on task "hard".
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Context, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrumentOpenAI, recordFeedback, withAgent } from '@switchyard/instrumentation';
import {
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
} from '@switchyard/instrumentation/semconv';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RulesListing } from '../packages/sidecar/src/admin/rules-api.js';
import { loadConfig } from '../packages/sidecar/src/config/load-config.js';
import { createLearningPlugin } from '../packages/sidecar/src/learning/learning-plugin.js';
import { pricesFromTable } from '../packages/sidecar/src/learning/model-prices.js';
import { type RunningSidecar, startSidecar } from '../packages/sidecar/src/main.js';
import type { Rule } from '../packages/sidecar/src/routing/rule.js';

const STRONG = 'gpt-4o';
const CHEAP = 'gpt-4o-mini';
const prices = pricesFromTable({
  [STRONG]: { input: 2.5, output: 10 },
  [CHEAP]: { input: 0.15, output: 0.6 },
});
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fake OpenAI upstream answering as whichever model was asked for. */
async function startUpstream(): Promise<{
  url: string;
  server: Server;
  calls: Map<string, number>;
}> {
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const parsed = JSON.parse(body) as { model: string };
      calls.set(parsed.model, (calls.get(parsed.model) ?? 0) + 1);
      const payload = JSON.stringify({
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created: 1,
        model: parsed.model,
        choices: [
          { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 200, completion_tokens: 20, total_tokens: 220 },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(payload);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, server, calls };
}

interface Harness {
  sidecar: RunningSidecar;
  client: OpenAI;
  flush(): Promise<void>;
}

async function startLearningSidecar(opts: {
  mode: 'per-task' | 'budget';
  tolerance: number;
  stateDir?: string;
  redisPrefix?: string;
  upstream: string;
  learning?: Record<string, unknown>;
}): Promise<RunningSidecar> {
  const env: Record<string, string> = { SWITCHYARD_LOG_LEVEL: 'silent', SWITCHYARD_CACHE: 'false' };
  if (opts.redisPrefix !== undefined) {
    env.REDIS_URL = REDIS_URL;
    env.SWITCHYARD_REDIS_PREFIX = opts.redisPrefix;
  }
  if (opts.stateDir !== undefined) env.SWITCHYARD_STATE_DIR = opts.stateDir;
  const config = loadConfig({
    argv: ['--port', '0', '--host', '127.0.0.1', '--upstream-url', opts.upstream],
    env,
    file: {
      learning: {
        mode: opts.mode,
        tolerance: opts.tolerance,
        ladders: { [STRONG]: [CHEAP] },
        minSamples: 10,
        evaluateEveryVerdicts: 5,
        evaluateIntervalMs: 100,
        minChangeIntervalMs: 0,
        exploration: { share: 0.5, maxShare: 0.5 },
        ...opts.learning,
      },
    },
  });
  return startSidecar({ config, env, plugins: [createLearningPlugin({ prices })] });
}

/**
 * The application's one global tracer provider (set once: `recordFeedback` holds a proxy tracer
 * from it). Its processor forwards to the batch processor of the sidecar under test, so each
 * sidecar receives the spans of the calls made through it, from the real OTLP exporter.
 */
class SwitchableProcessor implements SpanProcessor {
  current: BatchSpanProcessor | undefined;
  onStart(span: Span, parent: Context): void {
    this.current?.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    this.current?.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.current?.forceFlush() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.current?.shutdown() ?? Promise.resolve();
  }
}
const processor = new SwitchableProcessor();
const provider = new BasicTracerProvider({ spanProcessors: [processor] });

/** An instrumented client of `sidecar`, whose spans are exported to its own `/v1/traces`. */
function harness(sidecar: RunningSidecar): Harness {
  const exporter = new OTLPTraceExporter({ url: `${sidecar.url}/v1/traces` });
  const previous = processor.current;
  previous?.shutdown().catch(() => {});
  processor.current = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: 50,
    maxExportBatchSize: 512,
  });
  const client = instrumentOpenAI(
    new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-test', maxRetries: 0 }),
    {
      tracerProvider: provider,
    },
  );
  return { sidecar, client, flush: () => provider.forceFlush() };
}

async function ask(
  h: Harness,
  task: string,
): Promise<{ id: string; model: string; reason: string; rule: string }> {
  return withAgent({ name: 'writer', task }, async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: STRONG, messages: [{ role: 'user', content: `do ${task}` }] })
      .withResponse();
    return {
      id: data.id,
      model: response.headers.get(HEADER_SWITCHYARD_MODEL) ?? data.model,
      reason: response.headers.get(HEADER_SWITCHYARD_ROUTE_REASON) ?? '',
      rule: response.headers.get(HEADER_SWITCHYARD_RULE) ?? '',
    };
  });
}

/** Delivers the spans still buffered for `sidecar`, then closes it (no export to a closed port). */
async function stop(sidecar: RunningSidecar): Promise<void> {
  await provider.forceFlush().catch(() => {});
  await sidecar.close();
}

async function rules(sidecar: RunningSidecar): Promise<RulesListing> {
  const res = await fetch(`${sidecar.url}/switchyard/rules`);
  expect(res.status).toBe(200);
  return (await res.json()) as RulesListing;
}

const ruleFor = (l: RulesListing, task: string): Rule | undefined =>
  l.rules.find((r) => r.match.task === task);

/** One round: a call per task, each judged by `score(task, model)`, spans flushed. */
async function round(
  h: Harness,
  tasks: readonly string[],
  score: (task: string, model: string) => number,
) {
  for (const task of tasks) {
    const r = await ask(h, task);
    recordFeedback(r.id, score(task, r.model), { source: 'validator' });
  }
  await h.flush();
}

/** Runs rounds until `done` holds (checked after each round), at most `max` rounds. */
async function until(
  h: Harness,
  tasks: readonly string[],
  score: (task: string, model: string) => number,
  done: (l: RulesListing) => boolean,
  max: number,
  each?: (l: RulesListing) => void,
): Promise<RulesListing> {
  for (let i = 0; i < max; i++) {
    await round(h, tasks, score);
    await new Promise((r) => setTimeout(r, 20));
    const l = await rules(h.sidecar);
    each?.(l);
    if (done(l)) return l;
  }
  const last = await rules(h.sidecar);
  const stats = await (await fetch(`${h.sidecar.url}/metrics`)).text();
  throw new Error(
    `not reached in ${max} rounds: ${JSON.stringify(last.rules)} ${JSON.stringify(last.learning)} ${stats
      .split('\n')
      .filter((x) => x.includes('trace') || x.includes('intake'))
      .join(' ')}`,
  );
}

let counter = 0;
/** Deterministic quality: the cheap model fails 2 of 3 "hard" calls; `easyCheapBad` breaks it on "easy". */
const quality =
  (state: { easyCheapBad: boolean }) =>
  (task: string, model: string): number => {
    counter++;
    if (model === STRONG) return 1;
    if (task === 'easy') return state.easyCheapBad ? 0 : 1;
    return counter % 3 === 0 ? 1 : 0;
  };

describe('learning loop, end to end', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let dir: string;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    const cm = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(cm);
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    );
    upstream = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'sy-learning-'));
  });
  afterAll(async () => {
    await new Promise((r) => upstream.server.close(r));
    await rm(dir, { recursive: true, force: true });
    processor.current = undefined;
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('per-task: downgrades "easy", never "hard", routes the next calls cheap, and reverts on drift', async () => {
    const sidecar = await startLearningSidecar({
      mode: 'per-task',
      tolerance: 0.1,
      upstream: upstream.url,
      stateDir: join(dir, 'a'),
    });
    const h = harness(sidecar);
    const state = { easyCheapBad: false };
    try {
      const learned = await until(
        h,
        ['easy', 'hard'],
        quality(state),
        (l) => ruleFor(l, 'easy')?.kind === 'downgrade',
        150,
        (l) => expect(ruleFor(l, 'hard')?.kind).not.toBe('downgrade'),
      );
      const rule = ruleFor(learned, 'easy')!;
      expect(rule).toMatchObject({ source: 'learned', targetModel: CHEAP, share: 1 });
      expect(rule.evidence?.candidateSamples).toBeGreaterThanOrEqual(10);
      expect(rule.evidence?.confidence).toBeGreaterThanOrEqual(0.9);

      // The next requests for "easy" go to the cheap model under that rule.
      for (let i = 0; i < 3; i++) {
        const r = await ask(h, 'easy');
        expect(r).toMatchObject({ model: CHEAP, reason: 'rule', rule: rule.id });
      }

      // The cheap model's quality on "easy" drops: the rule is reverted.
      state.easyCheapBad = true;
      await until(
        h,
        ['easy', 'hard'],
        quality(state),
        (l) => ruleFor(l, 'easy')?.kind !== 'downgrade',
        40,
      );
      const history = (await (await fetch(`${sidecar.url}/switchyard/history`)).json()) as {
        history: { action: string; ruleId?: string }[];
      };
      expect(history.history.some((x) => x.action === 'reverted' && x.ruleId === rule.id)).toBe(
        true,
      );
      expect(history.history.some((x) => x.action === 'created' && x.ruleId === rule.id)).toBe(
        true,
      );
    } finally {
      await stop(sidecar);
    }
  });

  it('budget: spends the quality budget where it is cheapest and keeps the summed loss within it', async () => {
    const sidecar = await startLearningSidecar({
      mode: 'budget',
      tolerance: 0.1,
      upstream: upstream.url,
      stateDir: join(dir, 'b'),
      // A short run: pay back early exploration within it.
      learning: { budgetHorizonCalls: 60, exploration: { share: 0.2, maxShare: 0.5 } },
    });
    const h = harness(sidecar);
    let served = 0;
    let quality = 0;
    const score = (task: string, model: string) => {
      served++;
      const s =
        model === STRONG
          ? 1
          : task === 'easy'
            ? 1
            : task === 'fair'
              ? served % 5 === 0
                ? 0
                : 1
              : 0;
      quality += s;
      return s;
    };
    try {
      for (let i = 0; i < 120; i++) await round(h, ['easy', 'fair', 'hard'], score);
      await new Promise((r) => setTimeout(r, 200));
      const l = await rules(sidecar);
      // All of it but the 10% holdout that keeps measuring the baseline (< 100 judged calls).
      expect(ruleFor(l, 'easy')?.share).toBeGreaterThanOrEqual(0.9);
      expect(ruleFor(l, 'easy')?.kind).toBe('downgrade');
      expect(ruleFor(l, 'fair')?.share ?? 0).toBeGreaterThan(ruleFor(l, 'hard')?.share ?? 0);
      // Every call's score is known here: the realised loss, exploration included, is within the
      // 10% budget of the all-strong quality (1 per call).
      expect(quality / served).toBeGreaterThanOrEqual(0.9);
      const budget = l.learning?.budget;
      expect(budget?.plannedLossPerCall).toBeLessThanOrEqual((budget?.capacityPerCall ?? 0) + 1e-9);
      expect(l.learning?.totals.savedUsd).toBeGreaterThan(0);
    } finally {
      await stop(sidecar);
    }
  });

  it('a restarted sidecar keeps its rules (snapshot file)', async () => {
    const stateDir = join(dir, 'restart');
    const first = await startLearningSidecar({
      mode: 'per-task',
      tolerance: 0.1,
      upstream: upstream.url,
      stateDir,
    });
    let ruleId = '';
    try {
      const l = await until(
        harness(first),
        ['easy'],
        quality({ easyCheapBad: false }),
        (x) => ruleFor(x, 'easy')?.kind === 'downgrade',
        150,
      );
      ruleId = ruleFor(l, 'easy')!.id;
    } finally {
      await stop(first);
    }
    const second = await startLearningSidecar({
      mode: 'per-task',
      tolerance: 0.1,
      upstream: upstream.url,
      stateDir,
    });
    try {
      expect(ruleFor(await rules(second), 'easy')).toMatchObject({ id: ruleId, kind: 'downgrade' });
      const r = await ask(harness(second), 'easy');
      expect(r).toMatchObject({ model: CHEAP, rule: ruleId });
    } finally {
      await stop(second);
    }
  });

  it('two sidecars sharing Redis apply the same rules', async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await probe.connect().catch((err: Error) => {
      throw new Error(`this test needs Redis at ${REDIS_URL} (set REDIS_URL): ${err.message}`);
    });
    const prefix = `sy-test:${randomUUID()}:`;
    const one = await startLearningSidecar({
      mode: 'per-task',
      tolerance: 0.1,
      upstream: upstream.url,
      redisPrefix: prefix,
    });
    const two = await startLearningSidecar({
      mode: 'per-task',
      tolerance: 0.1,
      upstream: upstream.url,
      redisPrefix: prefix,
    });
    try {
      // Only sidecar one receives spans; both must end up applying the rule.
      const l = await until(
        harness(one),
        ['easy'],
        quality({ easyCheapBad: false }),
        (x) => ruleFor(x, 'easy')?.kind === 'downgrade',
        150,
      );
      const rule = ruleFor(l, 'easy')!;
      let seen: Rule | undefined;
      for (let i = 0; i < 40 && seen?.kind !== 'downgrade'; i++) {
        seen = ruleFor(await rules(two), 'easy');
        if (seen?.kind !== 'downgrade') await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toMatchObject({ id: rule.id, kind: 'downgrade', targetModel: CHEAP });
      // Sidecar two never received a span, yet reports the statistics the two share in Redis.
      let calls = 0;
      for (let i = 0; i < 40 && calls === 0; i++) {
        calls = (await rules(two)).learning?.totals.calls ?? 0;
        if (calls === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(calls).toBeGreaterThan(0);
      const r = await ask(harness(two), 'easy');
      expect(r).toMatchObject({ model: CHEAP, reason: 'rule', rule: rule.id });
    } finally {
      await stop(one);
      await stop(two);
      const keys = await probe.keys(`${prefix}*`);
      if (keys.length > 0) await probe.del(...keys);
      probe.disconnect();
    }
  });
});
