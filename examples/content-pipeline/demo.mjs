#!/usr/bin/env node
/**
 * The product demo, self-contained (no API key, no Redis, no network): everything listens on
 * 127.0.0.1 and a free port, in this one process.
 *
 *   fake provider (gpt-4o, gpt-4o-mini)  ◄──  sidecar (startSidecar + learning plugin, as
 *                                              `switchyard start` runs it; state in a temp dir)
 *                                                ▲ chat completions       ▲ OTLP/HTTP spans
 *                                                │                        │ (/v1/traces)
 *                                  content pipeline (openai SDK, instrumented, register())
 *
 * The pipeline runs N times; the reviewer's scores reach the sidecar as feedback spans; the
 * sidecar learns which tasks can be served by gpt-4o-mini and starts routing them there. At the
 * end the demo prints what was spent, the rules learned with their evidence, and the quality kept.
 *
 *   npm run demo                       (= npm run build && node examples/content-pipeline/demo.mjs)
 *   node examples/content-pipeline/demo.mjs --iterations 200 --mode budget --tolerance 0.05
 *   node examples/content-pipeline/demo.mjs --json report.json
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPriceTable } from '@switchyard/instrumentation';
import { createLearningPlugin, createLogger, startSidecar } from '@switchyard/sidecar';
import OpenAI from 'openai';
import { buildReport, printReport } from './demo-report.mjs';
import { seededRandom, startFakeProvider, WORLD_QUALITY } from './fake-provider.mjs';
import { createPipeline, PIPELINE_STEPS } from './pipeline.mjs';
import { createProgressLine } from './progress-line.mjs';
import { startTelemetry } from './telemetry.mjs';

const USAGE = `Usage: node examples/content-pipeline/demo.mjs [options]

  --iterations N     pipeline runs (default 300; each run is 4 agent calls + 4 reviews)
  --mode M           learning mode: per-task (default) or budget
  --tolerance X      allowed quality loss, 0 < X < 1 (default 0.05 = 5%)
  --seed S           seed of the fake provider's world and of the sidecar's draws (default 42)
  --json FILE        also write the report as JSON to FILE
  --quiet            no progress line
  -h, --help         this text
`;

/**
 * The learning settings for a short demo, written to the sidecar's config file as an operator
 * would (see docs/learning.md). The decision thresholds are the defaults (20 judged calls per
 * model, 90% confidence); what differs is pace: a larger exploration share (0.3, not 0.1) so the
 * cheaper model gets its 20 judged calls within about 70 runs, evaluations every 200 ms, and a
 * canary spend cap scaled up because the demo pushes a day's traffic through in seconds (the cap
 * is per day, extrapolated from the window, and $25/day would stop exploring after a few runs).
 */
const DEMO_LEARNING = {
  ladders: { 'gpt-4o': ['gpt-4o-mini'] },
  minSamples: 20,
  confidence: 0.9,
  evaluateIntervalMs: 200,
  evaluateEveryVerdicts: 8,
  minChangeIntervalMs: 2000,
  budgetHorizonCalls: 400,
  exploration: { share: 0.3, maxShare: 0.5, maxSpendUsdPerDay: 100000 },
};

const TOPICS = [
  'How trace-based routing cuts LLM bills',
  'What OpenTelemetry GenAI spans record',
  'Choosing a model per task, not per app',
  'Caching LLM answers safely across tenants',
  'Measuring answer quality with reviewer agents',
  'When a cheaper model is good enough',
  'Budgets for quality loss in agent systems',
  'Canary traffic for model changes',
  'Reading a multi-agent trace in Jaeger',
  'Pinning the steps that must not change',
];

function fail(message) {
  process.stderr.write(`demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        iterations: { type: 'string', default: '300' },
        mode: { type: 'string', default: 'per-task' },
        tolerance: { type: 'string', default: '0.05' },
        seed: { type: 'string', default: '42' },
        json: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(error.message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100_000) {
    fail(`--iterations must be a whole number from 1 to 100000, got '${values.iterations}'`);
  }
  if (values.mode !== 'per-task' && values.mode !== 'budget') {
    fail(`--mode must be per-task or budget, got '${values.mode}'`);
  }
  const tolerance = Number(values.tolerance);
  if (!Number.isFinite(tolerance) || tolerance <= 0 || tolerance >= 1) {
    fail(`--tolerance must be a number between 0 and 1 (0.05 = 5%), got '${values.tolerance}'`);
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    fail(`--seed must be a non-negative whole number, got '${values.seed}'`);
  }
  return { iterations, mode: values.mode, tolerance, seed, json: values.json, quiet: values.quiet };
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

function describeRules(listing) {
  const rules = listing.rules.filter((r) => r.source === 'learned');
  const full = rules.filter((r) => r.kind === 'downgrade').length;
  return `rules: ${full} downgrade, ${rules.length - full} canary`;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  // The demo is self-contained: the shell's OTEL_* settings (OTEL_SDK_DISABLED, a sampler, an
  // exporter) must not keep the spans from its own sidecar. The OpenTelemetry SDK reads some of
  // them straight from process.env, so they are removed from this process's environment.
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('OTEL_')) delete process.env[name];
  }
  const started = Date.now();
  const prices = createPriceTable();
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
  const cleanups = [() => rm(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const configPath = join(dir, 'switchyard.json');
    await writeFile(configPath, `${JSON.stringify({ learning: DEMO_LEARNING }, null, 2)}\n`);

    const provider = await startFakeProvider({ seed: options.seed });
    cleanups.push(() => provider.close());

    // The sidecar exactly as `switchyard start` builds it, with flags an operator would pass.
    // A clean environment: the demo never reaches a REDIS_URL or an OTEL_* backend of the shell.
    const sidecar = await startSidecar({
      argv: [
        '--config',
        configPath,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--upstream-url',
        provider.baseURL,
        '--state-dir',
        dir,
        '--learning-mode',
        options.mode,
        '--tolerance',
        String(options.tolerance),
        '--log-level',
        'warn',
      ],
      env: {},
      logger: createLogger('warn', (line) => process.stderr.write(line)),
      plugins: [createLearningPlugin()],
      // Seeded share draws (canary and partial rules), so a run can be repeated.
      random: seededRandom(options.seed ^ 0x5eed5eed),
    });
    cleanups.push(() => sidecar.close());

    // Spans go by OTLP/HTTP straight to the sidecar, as in production without a Collector.
    const telemetry = startTelemetry({
      serviceName: 'content-pipeline-demo',
      endpoint: sidecar.url,
      metrics: false,
    });
    cleanups.push(() => telemetry.shutdown());
    const openai = telemetry.instrument(
      new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-demo-no-key-needed', maxRetries: 1 }),
    );
    const pipeline = createPipeline({ openai });

    const progress = createProgressLine({
      total: options.iterations,
      ...(options.quiet ? { sink: { write() {}, isTTY: false } } : {}),
    });
    const runs = [];
    const timeline = [];
    let lastState = new Map();
    let spend = 0;
    let baseline = 0;
    let calls = 0;
    // Ctrl-C: finish the current run, then report what was done and close everything.
    let interrupted = false;
    const onSignal = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    cleanups.push(async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    for (let i = 0; i < options.iterations && !interrupted; i++) {
      const topic = `${TOPICS[i % TOPICS.length]} (#${i + 1})`;
      const run = await pipeline.run(topic);
      runs.push(run);
      for (const c of [...run.steps, ...run.reviews]) {
        calls++;
        const usage = { inputTokens: c.inputTokens, outputTokens: c.outputTokens };
        spend += prices.cost(c.servedModel, usage)?.totalUsd ?? 0;
        baseline += prices.cost(c.requestedModel, usage)?.totalUsd ?? 0;
      }
      // The sidecar learns from spans: send this run's spans (and feedback) now.
      await telemetry.flush();
      const listing = await getJson(`${sidecar.url}/switchyard/rules`);
      const state = new Map();
      for (const r of listing.rules) {
        if (r.source !== 'learned') continue;
        const key = `${r.match.agent}/${r.match.task}`;
        const desc = `${r.kind} ${Math.round(r.share * 100)}% to ${r.targetModel}`;
        state.set(key, desc);
        if (lastState.get(key) !== desc) {
          timeline.push({ run: i + 1, group: key, kind: r.kind, share: r.share, rule: desc });
        }
      }
      for (const key of lastState.keys()) {
        if (!state.has(key)) {
          timeline.push({ run: i + 1, group: key, kind: 'none', share: 0, rule: 'no rule' });
        }
      }
      lastState = state;
      progress.update({
        done: i + 1,
        calls,
        counted: listing.learning?.totals.calls ?? 0,
        spendUsd: spend,
        baselineUsd: baseline,
        rules: describeRules(listing),
      });
    }
    progress.done();

    // Let the sidecar count the last spans: the learner's report is refreshed at each evaluation.
    await telemetry.flush();
    let listing = await getJson(`${sidecar.url}/switchyard/rules`);
    for (
      let waited = 0;
      (listing.learning?.totals.calls ?? 0) < calls && waited < 3000;
      waited += 100
    ) {
      await new Promise((r) => setTimeout(r, 100));
      listing = await getJson(`${sidecar.url}/switchyard/rules`);
    }
    const history = await getJson(`${sidecar.url}/switchyard/history?limit=1000`);

    const report = buildReport({
      options,
      runs,
      listing,
      history: history.history,
      timeline,
      providerCalls: provider.calls(),
      prices,
      steps: PIPELINE_STEPS,
      world: WORLD_QUALITY,
      durationMs: Date.now() - started,
    });
    if (interrupted) {
      report.notes.unshift(`Interrupted after ${runs.length} of ${options.iterations} runs.`);
    }
    printReport(report, process.stdout);
    if (options.json !== undefined) {
      await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (error) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
