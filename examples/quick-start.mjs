#!/usr/bin/env node
// Quick start: three agent steps call the real `openai` SDK (one streamed), a reviewer scores an
// answer, and the spans the instrumentation produced are printed as a table with agent, task,
// model, tokens and cost. Self-contained: a tiny fake OpenAI-compatible server on a free port
// stands in for the API, so no API key, network or Redis is needed.
//
//   npm run demo        (= npm run build && node examples/quick-start.mjs)

import { createServer } from 'node:http';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  instrumentOpenAI,
  recordFeedback,
  register,
  withAgent,
  withTask,
  withWorkflow,
} from '@switchyard/instrumentation';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_PRICING_VERSION,
  ATTR_SWITCHYARD_TASK_TYPE,
  METRIC_SWITCHYARD_CLIENT_COST,
} from '@switchyard/instrumentation/semconv';
import OpenAI from 'openai';

// --- 1. A fake OpenAI-compatible server ----------------------------------------------------------
const SNAPSHOTS = {
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
};

// Answers every chat call at once with a canned reply, sized by the prompt so the token counts
// differ between calls; streams when asked, with a usage chunk when the client requests one.
function fakeOpenAI() {
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      const id = `chatcmpl-demo-${++n}`;
      const prompt = JSON.stringify(body.messages ?? []);
      const usage = {
        prompt_tokens: 40 + prompt.length,
        completion_tokens: 120 + 7 * n,
        total_tokens: 160 + prompt.length + 7 * n,
      };
      const text = `Answer ${n} from the fake server.`;
      // Providers answer with a dated snapshot name; the price table resolves it to its base.
      const model = SNAPSHOTS[body.model] ?? body.model;
      const base = { id, created: 1_700_000_000, model };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [
              { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' },
            ],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (payload) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      const chunk = (delta, finish) =>
        send({
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta, finish_reason: finish }],
        });
      chunk({ role: 'assistant', content: '' }, null);
      for (const word of text.split(' ')) chunk({ content: `${word} ` }, null);
      chunk({}, 'stop');
      if (body.stream_options?.include_usage) {
        send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
      }
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- 2. Telemetry: one call sets up the SDK; here spans and metrics stay in memory --------------
const spans = new InMemorySpanExporter();
const metricsOut = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const telemetry = register({
  serviceName: 'quick-start',
  traceExporter: spans, // leave out to export OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
  metricExporter: metricsOut,
  // This file is ESM and bundle-friendly, so the client is instrumented explicitly below.
  instrumentation: false,
  autoDetectResources: false,
});

const server = await fakeOpenAI();
const { port } = server.address();
const openai = instrumentOpenAI(
  new OpenAI({ apiKey: 'sk-demo', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 }),
  { includeStreamUsage: true }, // streamed calls report tokens (and so cost) too
);

// --- 3. A small multi-agent workflow --------------------------------------------------------------
let draftId;
await withWorkflow('quick-start', async () => {
  const notes = await withAgent({ name: 'research', task: 'summarize' }, () =>
    openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Summarize what OpenTelemetry is.' }],
    }),
  );

  await withAgent({ name: 'draft', task: 'write' }, async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [
        { role: 'system', content: 'You write short blog posts.' },
        { role: 'user', content: notes.choices[0].message.content },
      ],
    });
    process.stdout.write('draft agent, streamed: ');
    for await (const chunk of stream) {
      draftId = chunk.id;
      process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
    }
    process.stdout.write('\n');
  });

  await withAgent({ name: 'review', task: 'review' }, async () => {
    // A task can change inside one agent step: this call is labelled `classify`.
    await withTask('classify', () =>
      openai.chat.completions.create({
        model: 'gpt-4.1-nano',
        messages: [{ role: 'user', content: 'Is this post on topic? yes/no' }],
      }),
    );
    // The reviewer's verdict on the draft: the quality signal the sidecar learns from.
    recordFeedback(draftId, 0.9, { source: 'reviewer' });
  });
});

// --- 4. What the instrumentation recorded ---------------------------------------------------------
await telemetry.forceFlush();
// As a tree: each span under its parent, siblings in start order.
const all = spans.getFinishedSpans();
const ids = new Set(all.map((s) => s.spanContext().spanId));
const startNs = (s) => s.startTime[0] * 1e9 + s.startTime[1];
const childrenOf = (parentId) =>
  all
    .filter(
      (s) =>
        (s.parentSpanContext && ids.has(s.parentSpanContext.spanId)
          ? s.parentSpanContext.spanId
          : undefined) === parentId,
    )
    .sort((x, y) => startNs(x) - startNs(y));
const finished = [];
const depths = new Map();
const walk = (parentId, d) => {
  for (const s of childrenOf(parentId)) {
    finished.push(s);
    depths.set(s, d);
    walk(s.spanContext().spanId, d + 1);
  }
};
walk(undefined, 0);
const depth = (s) => depths.get(s);
const rows = finished.map((s) => {
  const a = s.attributes;
  const cost = a[ATTR_SWITCHYARD_COST_USD];
  const score = a[ATTR_SWITCHYARD_FEEDBACK_SCORE];
  return {
    span: `${'  '.repeat(depth(s))}${s.name}`,
    agent: a[ATTR_GEN_AI_AGENT_NAME] ?? '',
    task: a[ATTR_SWITCHYARD_TASK_TYPE] ?? '',
    model: a[ATTR_GEN_AI_RESPONSE_MODEL] ?? a[ATTR_GEN_AI_REQUEST_MODEL] ?? '',
    'in tok': a[ATTR_GEN_AI_USAGE_INPUT_TOKENS] ?? '',
    'out tok': a[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] ?? '',
    'cost USD': typeof cost === 'number' ? cost.toFixed(6) : '',
    feedback: score === undefined ? '' : `${score} (${a[ATTR_SWITCHYARD_FEEDBACK_SOURCE]})`,
  };
});
printTable(rows);

const total = finished.reduce((sum, s) => sum + (s.attributes[ATTR_SWITCHYARD_COST_USD] ?? 0), 0);
const version = finished.find((s) => s.attributes[ATTR_SWITCHYARD_PRICING_VERSION])?.attributes[
  ATTR_SWITCHYARD_PRICING_VERSION
];
console.log(`\n${finished.length} spans, total cost $${total.toFixed(6)} (price table ${version})`);

await telemetry.shutdown(); // also exports the metrics one last time
const costMetric = metricsOut
  .getMetrics()
  .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
  .filter((m) => m.descriptor.name === METRIC_SWITCHYARD_CLIENT_COST)
  .at(-1);
if (costMetric) {
  const perAgent = costMetric.dataPoints
    .map((p) => `${p.attributes[ATTR_GEN_AI_AGENT_NAME] ?? '-'} $${p.value.toFixed(6)}`)
    .join(', ');
  console.log(`metric ${METRIC_SWITCHYARD_CLIENT_COST} by agent: ${perAgent}`);
}
server.close();

function printTable(list) {
  if (list.length === 0) {
    console.log('(no spans)');
    return;
  }
  const cols = Object.keys(list[0]);
  const width = Object.fromEntries(
    cols.map((c) => [c, Math.max(c.length, ...list.map((r) => String(r[c]).length))]),
  );
  const line = (r) =>
    cols
      .map((c) => String(r[c]).padEnd(width[c]))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(Object.fromEntries(cols.map((c) => [c, c])))}`);
  console.log(cols.map((c) => '-'.repeat(width[c])).join('  '));
  for (const r of list) console.log(line(r));
}
