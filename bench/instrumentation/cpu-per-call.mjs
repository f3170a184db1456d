#!/usr/bin/env node

// Added CPU time per call of instrumenting the openai SDK, without sockets: the client gets an
// injected `fetch` that answers at once, so nearly all the time measured is JavaScript and the
// figures repeat within a few percent even on a busy machine (overhead.mjs measures wall time
// over real sockets and is the benchmark of record; this one says where a change moved the CPU).
//
//   npm run build && node bench/instrumentation/cpu-per-call.mjs [--quick] [--calls N] [--rounds N]
//
// Each variant (none, floor = a hand-written span and histogram records, contrib =
// @opentelemetry/instrumentation-openai, ours) runs in its own child
// process with the same tracer and meter setup as overhead.mjs; each child measures its process
// CPU time (user + system) over batches of calls and reports the lowest batch mean, the usual
// estimator when the noise (other processes, frequency changes) only ever adds time. Variants run
// one after another, round after round, and the median of the rounds is printed.

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { COMPLETION_BODY, installVariantTelemetry, VARIANTS } from './variant-telemetry.mjs';

function parseArgs(argv) {
  const quick = argv.includes('--quick');
  const opts = { calls: quick ? 2500 : 4000, rounds: quick ? 1 : 3, batches: quick ? 3 : 5 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]?.replace(/^--/, '');
    if (key !== undefined && key in opts) {
      const n = Number(argv[i + 1]);
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`--${key} needs a positive integer, got ${argv[i + 1]}`);
      }
      opts[key] = n;
      i++;
    }
  }
  return opts;
}

async function child(variant, calls, batches) {
  const require = createRequire(import.meta.url);
  const { tracerProvider, meterProvider, prepareClient, exportedSpans } =
    await installVariantTelemetry(variant);
  const { OpenAI } = require('openai');
  const client = new OpenAI({
    apiKey: 'sk-bench',
    baseURL: 'http://127.0.0.1:9/v1',
    maxRetries: 0,
    fetch: async () =>
      new Response(COMPLETION_BODY, {
        status: 200,
        headers: { 'content-type': 'application/json' },
      }),
  });
  prepareClient(client);
  const messages = [{ role: 'user', content: 'ping' }];
  async function run(n) {
    for (let i = 0; i < n; i++) {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    }
  }
  await run(calls); // warm-up: the JIT settles before anything is measured
  let best = Number.POSITIVE_INFINITY;
  for (let b = 0; b < batches; b++) {
    const start = process.cpuUsage();
    await run(calls);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / calls);
  }
  // A variant that was timed but emitted nothing would make its figure meaningless.
  const spans = await exportedSpans();
  if ((variant === 'none') !== (spans === 0)) {
    throw new Error(`variant ${variant} exported ${spans} spans; the run measured nothing`);
  }
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  process.send({ us: best });
}

function runChild(variant, opts) {
  return new Promise((resolve, reject) => {
    const proc = fork(
      fileURLToPath(import.meta.url),
      ['--child', variant, String(opts.calls), String(opts.batches)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let result;
    proc.on('message', (msg) => {
      result = msg.us;
    });
    proc.on('exit', (code) =>
      result === undefined
        ? reject(new Error(`${variant} child exited with code ${code}`))
        : resolve(result),
    );
  });
}

const signed = (n) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  console.log(
    `instrumentation CPU per call (injected fetch, no sockets): ${opts.rounds} rounds x ` +
      `${opts.batches} batches of ${opts.calls} calls${opts.rounds === 1 ? ' [indicative only]' : ''}`,
  );
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < opts.rounds; round++) {
    for (const v of VARIANTS) samples[v].push(await runChild(v, opts));
  }
  const m = Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v])]));
  console.log('\nvariant   CPU µs/call  added µs');
  for (const v of VARIANTS) {
    const added = v === 'none' ? '-' : (m[v] - m.none).toFixed(2);
    console.log(`${v.padEnd(8)} ${m[v].toFixed(2).padStart(12)} ${added.padStart(9)}`);
  }
  const ours = m.ours - m.none;
  const contrib = m.contrib - m.none;
  console.log(
    `\nours/contrib added CPU per non-streaming call: ${(ours / contrib).toFixed(2)} ` +
      `(ours ${signed(ours)} µs, contrib ${signed(contrib)} µs)`,
  );
  const floor = m.floor - m.none;
  console.log(
    `floor/contrib added CPU per call: ${(floor / contrib).toFixed(2)} (floor ${signed(floor)} µs: ` +
      'one hand-written span and three histogram records per call through the same SDK)',
  );
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4]), Number(process.argv[5])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
