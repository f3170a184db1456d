#!/usr/bin/env node

// Added cost of instrumenting the openai SDK: no instrumentation, @opentelemetry/instrumentation-openai,
// and @switchyard/instrumentation, measured in one run against the same fake server, with a floor:
// the least telemetry any instrumentation must emit through the same SDK (variant-telemetry.mjs).
//
//   npm run build && node bench/instrumentation/overhead.mjs [--quick] [--rounds N] [--batch N]
//       [--stream-batch N] [--chunks N] [--warmup N] [--variants none,floor,contrib,ours,als]
//
// Each variant lives in its own child process (so patches never meet), with the same tracer and
// meter setup: a BatchSpanProcessor feeding a no-op exporter and a periodic metric reader, as in
// production minus the network. The parent runs the fake OpenAI server and asks the children for
// batches in turn, round after round, rotating the order, so drift on a shared machine hits every
// variant alike. Reported numbers are medians over rounds.
//
//   per call  = time of one non-streaming chat completion
//   per chunk = (time of a stream of C chunks - time of a stream of 1 chunk) / (C - 1)
//   added     = variant - none;  ratio = ours added / contrib added  (target: <= 0.5), with a
//               95% interval from resampling the rounds; the verdict needs the whole interval
//   floor     = one hand-written span + the three GenAI histogram records per call; floor added /
//               contrib added says how low any instrumentation emitting that telemetry can go

import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  COMPLETION_BODY,
  EXTRA_VARIANTS,
  installVariantTelemetry,
  VARIANTS,
} from './variant-telemetry.mjs';

function parseArgs(argv) {
  const quick = argv.includes('--quick');
  const opts = {
    quick,
    rounds: quick ? 6 : 30,
    batch: quick ? 40 : 200,
    streamBatch: quick ? 20 : 60,
    // Long streams, so the per-chunk cost (a few µs) stands out of the per-stream noise.
    chunks: quick ? 200 : 500,
    warmup: quick ? 150 : 1000,
    variants: VARIANTS,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]?.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (key === 'variants') {
      const list = String(argv[i + 1] ?? '').split(',');
      const known = [...VARIANTS, ...EXTRA_VARIANTS];
      if (!list.includes('none') || list.some((v) => !known.includes(v))) {
        throw new Error(`--variants takes a comma list of ${known.join(', ')} including none`);
      }
      opts.variants = list;
      i++;
    } else if (key && key in opts && key !== 'quick') {
      const n = Number(argv[i + 1]);
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`--${key} needs a positive integer, got ${argv[i + 1]}`);
      }
      opts[key] = n;
      i++;
    }
  }
  if (opts.chunks < 2) throw new Error('--chunks must be at least 2');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Fake OpenAI-compatible server: answers at once. `max_tokens` of a streamed request sets how many
// content chunks it sends, so one server serves every stream length.
function startFakeServer() {
  const chunk = (delta, finish) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-bench',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    })}\n\n`;
  const usageChunk = `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
  })}\n\n`;
  const first = chunk({ role: 'assistant', content: '' }, null);
  const middle = chunk({ content: 'tok ' }, null);
  const last = chunk({}, 'stop');
  const streams = new Map();
  function streamBody(n, withUsage) {
    const key = `${n}:${withUsage}`;
    let body = streams.get(key);
    if (body === undefined) {
      body = `${first}${middle.repeat(n)}${last}${withUsage ? usageChunk : ''}data: [DONE]\n\n`;
      streams.set(key, body);
    }
    return body;
  }

  const server = createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          '{"error":{"message":"bad json","type":"invalid_request_error","param":null,"code":null}}',
        );
        return;
      }
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.end(streamBody(body.max_tokens ?? 1, body.stream_options?.include_usage === true));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(COMPLETION_BODY);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------------------------------------
// Child: one variant.
async function child(variant, port) {
  const require = createRequire(import.meta.url);
  const { tracerProvider, meterProvider, prepareClient, exportedSpans } =
    await installVariantTelemetry(variant);

  // Loaded through require after the instrumentations registered, so their require hook patches it.
  const { OpenAI } = require('openai');
  const client = new OpenAI({
    apiKey: 'sk-bench',
    baseURL: `http://127.0.0.1:${port}/v1`,
    maxRetries: 0,
  });
  prepareClient(client);
  const messages = [{ role: 'user', content: 'ping' }];

  async function calls(n) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    }
    return Number(process.hrtime.bigint() - start) / n;
  }
  async function streams(n, chunks) {
    let seen = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        max_tokens: chunks,
      });
      for await (const _ of stream) seen++;
    }
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (seen !== n * (chunks + 2))
      throw new Error(`expected ${n * (chunks + 2)} chunks, saw ${seen}`);
    return ns;
  }

  process.on('message', async (msg) => {
    try {
      let ns;
      if (msg.op === 'calls') ns = await calls(msg.n);
      else if (msg.op === 'streams') ns = await streams(msg.n, msg.chunks);
      else if (msg.op === 'spans') ns = await exportedSpans();
      else if (msg.op === 'exit') {
        await tracerProvider.shutdown();
        await meterProvider.shutdown();
        process.disconnect();
        return;
      }
      process.send({ id: msg.id, ns });
    } catch (error) {
      process.send({ id: msg.id, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true });
}

// ---------------------------------------------------------------------------------------------
// Parent: server, children, rounds, report.
function spawnVariant(variant, port) {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', variant, String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const pending = new Map();
  let readyResolve;
  let readyReject;
  const ready = new Promise((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  proc.on('message', (msg) => {
    if (msg.ready) return readyResolve();
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(`${variant}: ${msg.error}`));
    else p?.resolve(msg.ns);
  });
  proc.on('exit', (code) => {
    const err = new Error(`${variant} child exited with code ${code}`);
    readyReject(err);
    for (const p of pending.values()) p.reject(err);
  });
  return {
    variant,
    ready,
    ask(msg) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        proc.send({ ...msg, id });
      });
    },
    exit() {
      return new Promise((resolve) => {
        proc.once('exit', resolve);
        proc.send({ op: 'exit', id: -1 });
      });
    },
  };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// 2.5th and 97.5th percentiles of (median added a) / (median added b) over 2,000 resamplings of
// the rounds, with a fixed seed so the same samples always print the same interval.
function ratioInterval(samples, a, b, k) {
  const rounds = samples.none[k].length;
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ratios = [];
  const pick = new Array(rounds);
  for (let i = 0; i < 2000; i++) {
    for (let r = 0; r < rounds; r++) pick[r] = Math.floor(random() * rounds);
    const med = (v) => median(pick.map((r) => samples[v][k][r]));
    const none = med('none');
    ratios.push((med(a) - none) / (med(b) - none));
  }
  ratios.sort((x, y) => x - y);
  return [ratios[Math.floor(0.025 * ratios.length)], ratios[Math.ceil(0.975 * ratios.length) - 1]];
}

const us = (ns) => (ns / 1000).toFixed(2);
const sign = (ns) => `${ns >= 0 ? '+' : ''}${us(ns)}`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const server = await startFakeServer();
  const { port } = server.address();
  const VARIANTS = opts.variants;
  const children = VARIANTS.map((v) => spawnVariant(v, port));
  try {
    await Promise.all(children.map((c) => c.ready));
    console.log(
      `instrumentation overhead: ${opts.rounds} rounds x (${opts.batch} calls, ` +
        `${opts.streamBatch} streams of 1 and of ${opts.chunks} chunks), warmup ${opts.warmup}` +
        `${opts.quick ? ' [--quick: indicative only]' : ''}`,
    );
    for (const c of children) {
      await c.ask({ op: 'calls', n: opts.warmup });
      await c.ask({ op: 'streams', n: Math.ceil(opts.warmup / 4), chunks: opts.chunks });
    }

    const samples = Object.fromEntries(
      VARIANTS.map((v) => [v, { call: [], chunk: [], stream1: [] }]),
    );
    for (let round = 0; round < opts.rounds; round++) {
      const order = children.map((_, i) => children[(i + round) % children.length]);
      for (const c of order) {
        const call = await c.ask({ op: 'calls', n: opts.batch });
        const s1 = await c.ask({ op: 'streams', n: opts.streamBatch, chunks: 1 });
        const sN = await c.ask({ op: 'streams', n: opts.streamBatch, chunks: opts.chunks });
        samples[c.variant].call.push(call);
        samples[c.variant].stream1.push(s1);
        samples[c.variant].chunk.push((sN - s1) / (opts.chunks - 1));
      }
    }

    // A variant that was timed but emitted nothing would make its figures meaningless.
    for (const c of children) {
      const spans = await c.ask({ op: 'spans' });
      const expected = c.variant === 'none' || c.variant === 'als' ? 0 : 1;
      if (expected === 0 ? spans !== 0 : spans === 0) {
        throw new Error(`variant ${c.variant} exported ${spans} spans; the run measured nothing`);
      }
    }

    const m = Object.fromEntries(
      VARIANTS.map((v) => [
        v,
        {
          call: median(samples[v].call),
          stream1: median(samples[v].stream1),
          chunk: median(samples[v].chunk),
        },
      ]),
    );
    const added = (v, k) => m[v][k] - m.none[k];
    console.log('');
    console.log(
      'variant   per call µs  added µs   stream(1) µs  added µs   per chunk µs  added µs',
    );
    for (const v of VARIANTS) {
      const row = [
        v.padEnd(8),
        us(m[v].call).padStart(11),
        (v === 'none' ? '-' : us(added(v, 'call'))).padStart(9),
        us(m[v].stream1).padStart(14),
        (v === 'none' ? '-' : us(added(v, 'stream1'))).padStart(9),
        us(m[v].chunk).padStart(14),
        (v === 'none' ? '-' : us(added(v, 'chunk'))).padStart(9),
      ];
      console.log(row.join(' '));
    }
    console.log('');
    if (!(VARIANTS.includes('ours') && VARIANTS.includes('contrib'))) return;
    // Each ratio comes with a 95% interval from resampling the rounds (the same rounds for every
    // variant, since drift on a shared machine hits a round as a whole). A verdict is printed only
    // when the whole interval is on one side of the target; otherwise the run cannot tell.
    const interval = (v, k) => ratioInterval(samples, v, 'contrib', k);
    const fmt = ([lo, hi]) =>
      `95% interval ${lo.toFixed(2)}${lo < 0 ? ' to ' : '-'}${hi.toFixed(2)}`;
    for (const [k, label] of [
      ['call', 'per non-streaming call'],
      ['stream1', 'per stream (fixed part)'],
      ['chunk', 'per stream chunk'],
    ]) {
      const ours = added('ours', k);
      const contrib = added('contrib', k);
      const [lo, hi] = interval('ours', k);
      let verdict = '';
      if (contrib <= 0) verdict = '  (contrib adds nothing measurable: no verdict)';
      else if (k !== 'stream1') {
        if (hi <= 0.5) verdict = '  (target <= 0.50: met)';
        else if (lo > 0.5) verdict = '  (target <= 0.50: NOT met)';
        else verdict = '  (target <= 0.50: cannot tell, the interval spans it)';
      }
      const shown = contrib > 0 ? `${(ours / contrib).toFixed(2)}, ${fmt([lo, hi])}` : 'n/a';
      console.log(
        `ours/contrib added ${label}: ${shown} (ours ${sign(ours)} µs, contrib ${sign(contrib)} µs)${verdict}`,
      );
    }
    if (VARIANTS.includes('floor')) {
      for (const [k, label] of [
        ['call', 'per call'],
        ['chunk', 'per chunk'],
      ]) {
        const floor = added('floor', k);
        const contrib = added('contrib', k);
        if (contrib <= 0) continue;
        const [lo, hi] = interval('floor', k);
        console.log(
          `floor/contrib added ${label}: ${(floor / contrib).toFixed(2)}, ${fmt([lo, hi])} ` +
            `(floor ${sign(floor)} µs)` +
            (lo > 0.5 ? ': a 0.50 target is below the floor in this run' : ''),
        );
      }
    }
    console.log(
      '\nNegative or tiny "added" values mean the difference is within noise; rerun without --quick on a quiet machine.',
    );
  } finally {
    await Promise.all(children.map((c) => c.exit().catch(() => {})));
    server.close();
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
