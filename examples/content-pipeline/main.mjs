#!/usr/bin/env node
/**
 * The content pipeline on its own, against a real sidecar and provider, configured the standard
 * way by environment (what `deploy/docker-compose.yml`'s `example` service runs):
 *
 *   OPENAI_BASE_URL               the sidecar, e.g. http://127.0.0.1:8080/v1 (read by the openai SDK)
 *   OPENAI_API_KEY                the provider key; the sidecar passes it through (any value when
 *                                 the sidecar holds its own provider key)
 *   OTEL_EXPORTER_OTLP_ENDPOINT   where spans go: a Collector (http://otel-collector:4318) or the
 *                                 sidecar itself (http://127.0.0.1:8080), which takes /v1/traces
 *   OTEL_SERVICE_NAME             default content-pipeline
 *   PIPELINE_ITERATIONS           runs (default 1; --iterations wins)
 *   PIPELINE_MODEL                the agents' model (default gpt-4o)
 *   PIPELINE_REVIEWER_MODEL       the reviewer's model (default gpt-4o-mini)
 *
 *   node examples/content-pipeline/main.mjs [--iterations N] [--topic "..."] [--interval-ms MS]
 */
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { createPipeline } from './pipeline.mjs';
import { startTelemetry } from './telemetry.mjs';

const USAGE = `Usage: node examples/content-pipeline/main.mjs [options]

  --iterations N     pipeline runs (default $PIPELINE_ITERATIONS or 1)
  --topic TEXT       the article's topic (default: a list of topics in turn)
  --interval-ms MS   pause between runs (default 0)
  -h, --help         this text

Environment: OPENAI_BASE_URL (the sidecar), OPENAI_API_KEY, OTEL_EXPORTER_OTLP_ENDPOINT,
PIPELINE_MODEL (gpt-4o), PIPELINE_REVIEWER_MODEL (gpt-4o-mini).
`;

const TOPICS = [
  'How trace-based routing cuts LLM bills',
  'What OpenTelemetry GenAI spans record',
  'Choosing a model per task, not per app',
  'Measuring answer quality with reviewer agents',
];

function usageError(message) {
  process.stderr.write(`content-pipeline: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        iterations: { type: 'string', default: process.env.PIPELINE_ITERATIONS || '1' },
        topic: { type: 'string' },
        'interval-ms': { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    usageError(error.message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) {
    usageError(
      `--iterations (or PIPELINE_ITERATIONS) must be a whole number ≥ 1, got '${values.iterations}'`,
    );
  }
  const intervalMs = Number(values['interval-ms']);
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    usageError(`--interval-ms must be a number ≥ 0, got '${values['interval-ms']}'`);
  }
  return { iterations, topic: values.topic, intervalMs };
}

/** True when spans go straight to the sidecar, which takes /v1/traces but not /v1/metrics. */
function exportsToSidecar() {
  const base = process.env.OPENAI_BASE_URL;
  const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base || !otlp) return false;
  try {
    return new URL(base).origin === new URL(otlp).origin;
  } catch {
    return false;
  }
}

async function main() {
  const opts = options();
  if (!process.env.OPENAI_BASE_URL) {
    process.stderr.write(
      'content-pipeline: OPENAI_BASE_URL is not set, so calls go straight to the provider and ' +
        'not through a sidecar (set it to e.g. http://127.0.0.1:8080/v1).\n',
    );
  }
  if (!process.env.OPENAI_API_KEY) {
    usageError(
      'OPENAI_API_KEY is not set. Set it to the provider key (the sidecar passes it through), ' +
        'or to any value when the sidecar holds its own provider key.',
    );
  }
  const telemetry = startTelemetry({
    serviceName: 'content-pipeline',
    metrics: process.env.OTEL_METRICS_EXPORTER !== undefined || !exportsToSidecar(),
  });
  // The SDK reads OPENAI_BASE_URL and OPENAI_API_KEY itself.
  const openai = telemetry.instrument(new OpenAI());
  const pipeline = createPipeline({
    openai,
    model: process.env.PIPELINE_MODEL || 'gpt-4o',
    reviewerModel: process.env.PIPELINE_REVIEWER_MODEL || 'gpt-4o-mini',
  });

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('content-pipeline: stopping after this run\n');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  let failed = false;
  try {
    for (let i = 0; i < opts.iterations && !stopping; i++) {
      const topic = opts.topic ?? TOPICS[i % TOPICS.length];
      const run = await pipeline.run(topic);
      process.stdout.write(`run ${i + 1}/${opts.iterations}: ${topic}\n`);
      for (const s of run.steps) {
        const routed =
          s.servedModel === s.requestedModel
            ? s.servedModel
            : `${s.requestedModel} → ${s.servedModel}`;
        const score = s.score === undefined ? 'no score' : `score ${(s.score * 10).toFixed(0)}/10`;
        process.stdout.write(
          `  ${s.agent.padEnd(9)} ${routed.padEnd(24)} ${s.routeReason.padEnd(8)} rule ${s.ruleId.padEnd(17)} ` +
            `${String(s.inputTokens).padStart(6)} in ${String(s.outputTokens).padStart(6)} out  ${score}\n`,
        );
      }
      if (opts.intervalMs > 0 && i + 1 < opts.iterations && !stopping) {
        await new Promise((r) => setTimeout(r, opts.intervalMs));
      }
    }
  } catch (error) {
    failed = true;
    const status = error?.status !== undefined ? ` (HTTP ${error.status})` : '';
    process.stderr.write(`content-pipeline: a call failed${status}: ${error?.message ?? error}\n`);
  } finally {
    // Sends the last spans (and feedback) before the process ends.
    await telemetry.shutdown().catch(() => {});
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
