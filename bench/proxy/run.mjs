// Proxy benchmark: Switchyard beside its floor and Portkey, in one run, on loopback.
//   node bench/proxy/run.mjs [--quick] [--systems direct,floor,...] [--rates 500,1000]
// Build first (`npm run build`). See bench/proxy/README.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closedLoop, merge, openLoop, summarize } from './load-generator.mjs';
import { cpuMicros, peakRssMb } from './process-stats.mjs';
import { requestBody } from './request-body.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    systems: {
      type: 'string',
      default: 'direct,floor,switchyard,switchyard-memory,switchyard-redis,portkey',
    },
    rates: { type: 'string', default: '500,1000' },
    'stream-rate': { type: 'string', default: '500' },
    connections: { type: 'string', default: '100' },
    chunks: { type: 'string', default: '20' },
    'chunk-interval-ms': { type: 'string', default: '1' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    // Writes a V8 CPU profile of every system under test to bench/results/profiles/.
    profile: { type: 'boolean', default: false },
    'phase-ms': { type: 'string' },
    rounds: { type: 'string' },
  },
});

const quick = args.quick;
const PHASE_MS = args['phase-ms'] !== undefined ? Number(args['phase-ms']) : quick ? 1000 : 10_000;
const WARMUP_MS = quick ? 500 : 3000;
const SETTLE_MS = quick ? 200 : 1000;
const ROUNDS = args.rounds !== undefined ? Number(args.rounds) : quick ? 2 : 5;
// Each phase's time is split over the rounds.
const ROUND_MS = Math.max(200, Math.round(PHASE_MS / ROUNDS));
const rates = args.rates.split(',').map(Number);
const streamRate = Number(args['stream-rate']);
const connections = Number(args.connections);
const systems = args.systems.split(',');
const redisPrefix = `sy-bench:${randomBytes(4).toString('hex')}:`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `GET url` gets any HTTP answer. */
async function waitForHttp(url, child, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const req = request(url, (res) => {
        res.resume();
        res.on('end', () => resolve(true));
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

function startChild(argv, env, label) {
  // Inherit nothing that would turn on telemetry export or point at another Redis by accident.
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'REDIS_URL'),
  );
  const profile =
    args.profile && label !== 'upstream'
      ? ['--cpu-prof', '--cpu-prof-dir', join(root, 'bench', 'results', 'profiles', label)]
      : [];
  const child = spawn(process.execPath, [...profile, ...argv], {
    env: { ...clean, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.label = label;
  child.lastStderr = () => stderr;
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const chatPath = '/v1/chat/completions';

/** How to start each system and address it. Returns { child?, base, headers }. */
async function launch(name, upstreamOrigin) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const sidecar = join(root, 'packages', 'sidecar', 'dist', 'cli.js');
  const switchyardEnv = {
    SWITCHYARD_PORT: String(port),
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_UPSTREAM_URL: `${upstreamOrigin}/v1`,
  };
  let child;
  let readyUrl = `${base}/`;
  let headers = {};
  switch (name) {
    case 'direct':
      return { base: upstreamOrigin, headers: {} };
    case 'floor':
      child = startChild([join(here, 'floor-proxy.mjs'), String(port), upstreamOrigin], {}, name);
      break;
    case 'switchyard':
      child = startChild([sidecar, 'start'], { ...switchyardEnv, SWITCHYARD_CACHE: 'false' }, name);
      readyUrl = `${base}/healthz`;
      break;
    case 'switchyard-memory':
      child = startChild([sidecar, 'start'], { ...switchyardEnv, SWITCHYARD_CACHE: 'true' }, name);
      readyUrl = `${base}/healthz`;
      break;
    case 'switchyard-redis':
      // The memory tier is sized so that no answer fits (entries above 1/8 of it are never
      // stored), so every hit has to come from Redis.
      child = startChild(
        [sidecar, 'start'],
        {
          ...switchyardEnv,
          SWITCHYARD_CACHE: 'true',
          SWITCHYARD_CACHE_MEMORY_BYTES: '1024',
          SWITCHYARD_CACHE_TTL_MS: '300000',
          REDIS_URL: args['redis-url'],
          SWITCHYARD_REDIS_PREFIX: redisPrefix,
        },
        name,
      );
      readyUrl = `${base}/healthz`;
      break;
    case 'portkey': {
      const script = join(
        root,
        'node_modules',
        '@portkey-ai',
        'gateway',
        'build',
        'start-server.js',
      );
      child = startChild(
        [script, `--port=${port}`, '--headless'],
        { NODE_ENV: 'production' },
        name,
      );
      headers = {
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${upstreamOrigin}/v1`,
      };
      break;
    }
    default:
      throw new Error(`unknown system ${name}`);
  }
  try {
    await waitForHttp(readyUrl, child);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${name} did not start: ${err.message}\n${child.lastStderr()}`);
  }
  return { child, base, headers };
}

/**
 * Measures every system with its phases interleaved: each round runs every phase once on every
 * system (in a rotating order), and a system's samples are merged over the rounds. On a shared
 * machine, load that comes and goes then hits all systems alike instead of whichever one
 * happened to be running.
 */
async function measureAll(names, upstreamOrigin) {
  const live = [];
  const failed = [];
  for (const name of names) {
    try {
      const sys = await launch(name, upstreamOrigin);
      const target = (stream) => ({
        url: new URL(`${sys.base}${chatPath}`),
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer sk-bench',
          ...sys.headers,
        },
        body: requestBody(stream),
      });
      live.push({ name, sys, pid: sys.child?.pid, target, raw: {}, cpu: {} });
    } catch (err) {
      process.stderr.write(`  ${name} failed: ${err.message}\n`);
      failed.push({ system: name, failed: err.message });
    }
  }
  const phases = [
    ...rates.map((rate) => ({
      key: `rate:${rate}`,
      run: (t) => openLoop(t(false), rate, ROUND_MS),
    })),
    { key: 'stream', run: (t) => openLoop(t(true), streamRate, ROUND_MS) },
    // Saturation last in each round: its aftermath (backlogs, sockets closing, GC) settles in
    // the pause before the next round.
    { key: 'max', run: (t) => closedLoop(t(false), connections, ROUND_MS) },
  ];
  try {
    for (const s of live) {
      process.stderr.write(`warming up ${s.name}...\n`);
      await openLoop(s.target(false), Math.min(...rates), WARMUP_MS); // JIT, pools, first cache fill
      await openLoop(s.target(true), Math.min(streamRate, 100), WARMUP_MS / 2);
    }
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
      for (const phase of phases) {
        for (let i = 0; i < live.length; i++) {
          const s = live[(i + round) % live.length];
          await sleep(SETTLE_MS);
          const before = s.pid ? cpuMicros(s.pid) : Number.NaN;
          const r = await phase.run(s.target);
          const after = s.pid ? cpuMicros(s.pid) : Number.NaN;
          s.raw[phase.key] = merge(s.raw[phase.key], r);
          s.cpu[phase.key] = (s.cpu[phase.key] ?? 0) + (after - before);
        }
      }
    }
  } finally {
    for (const s of live) {
      s.peakRssMb = s.pid ? peakRssMb(s.pid) : Number.NaN;
      if (s.sys.child) await stopChild(s.sys.child);
    }
  }
  const results = live.map((s) => {
    const phase = (key) => {
      const sum = summarize(s.raw[key]);
      const requests = sum.ok + sum.errors;
      return { ...sum, cpuMicrosPerRequest: requests > 0 ? s.cpu[key] / requests : Number.NaN };
    };
    return {
      system: s.name,
      rates: Object.fromEntries(rates.map((rate) => [rate, phase(`rate:${rate}`)])),
      stream: phase('stream'),
      max: phase('max'),
      peakRssMb: s.peakRssMb,
    };
  });
  return [...results, ...failed];
}

const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : '-';

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main() {
  const upstreamPort = await freePort();
  const upstream = startChild(
    [join(here, 'fake-upstream.mjs'), String(upstreamPort), args.chunks, args['chunk-interval-ms']],
    {},
    'upstream',
  );
  const upstreamOrigin = `http://127.0.0.1:${upstreamPort}`;
  await waitForHttp(`${upstreamOrigin}/v1/models`, upstream);

  let results;
  try {
    results = await measureAll(systems, upstreamOrigin);
  } finally {
    await stopChild(upstream);
  }

  const by = Object.fromEntries(results.map((r) => [r.system, r]));
  const hi = Math.max(...rates);
  const direct = by.direct?.rates?.[hi];
  const floor = by.floor;
  const portkey = by.portkey;
  const rows = results
    .filter((r) => !r.failed)
    .map((r) => {
      const at = r.rates[hi];
      const addP50 = at.p50 - (direct?.p50 ?? Number.NaN);
      const addP99 = at.p99 - (direct?.p99 ?? Number.NaN);
      r.summary = { addP50, addP99 };
      const cpu = at.cpuMicrosPerRequest;
      return [
        r.system,
        ...rates.flatMap((rate) => [fmt(r.rates[rate].p50, 3), fmt(r.rates[rate].p99, 3)]),
        fmt(addP50, 3),
        fmt(addP99, 3),
        fmt(r.max.throughput, 0),
        ratio(r.max.throughput, floor?.max?.throughput),
        ratio(r.max.throughput, portkey?.max?.throughput),
        fmt(cpu, 0),
        ratio(cpu, floor?.rates?.[hi]?.cpuMicrosPerRequest),
        ratio(cpu, portkey?.rates?.[hi]?.cpuMicrosPerRequest),
        fmt(r.peakRssMb, 1),
        ratio(r.peakRssMb, floor?.peakRssMb),
        ratio(r.peakRssMb, portkey?.peakRssMb),
        Object.entries(r.rates[hi].cache ?? {})
          .map(([k, v]) => `${k}:${v}`)
          .join(' ') || '-',
        r.rates[hi].errors + r.max.errors,
        fmt(r.rates[hi].sendLagP99, 2),
      ];
    });
  const headers = [
    'system',
    ...rates.flatMap((rate) => [`p50@${rate}`, `p99@${rate}`]),
    `+p50@${hi}`,
    `+p99@${hi}`,
    'max rps',
    '/floor',
    '/portkey',
    `cpu us/req@${hi}`,
    '/floor',
    '/portkey',
    'peak MB',
    '/floor',
    '/portkey',
    `cache@${hi}`,
    'errors',
    'gen lag p99',
  ];
  const directStream = by.direct?.stream;
  const streamRows = results
    .filter((r) => !r.failed)
    .map((r) => [
      r.system,
      fmt(r.stream.firstChunkP50, 3),
      fmt(r.stream.firstChunkP99, 3),
      fmt(r.stream.firstChunkP50 - (directStream?.firstChunkP50 ?? Number.NaN), 3),
      fmt(r.stream.firstChunkP99 - (directStream?.firstChunkP99 ?? Number.NaN), 3),
      fmt(r.stream.p50, 3),
      fmt(r.stream.p99, 3),
      fmt(r.stream.cpuMicrosPerRequest, 0),
      Object.entries(r.stream.cache ?? {})
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '-',
      `${r.stream.errors}/${r.stream.sent}`,
    ]);

  const out = [];
  out.push(
    `Proxy benchmark${quick ? ' (--quick: short phases, indicative only)' : ''}: ${PHASE_MS} ms per phase over ${ROUNDS} interleaved rounds, ` +
      `open loop at ${rates.join(' and ')} req/s, closed loop with ${connections} connections, ` +
      `${requestBody(false).length}-byte body. Latency in ms from the scheduled send time.`,
  );
  out.push('');
  out.push(table(headers, rows));
  out.push('');
  out.push(
    `Streaming at ${streamRate} req/s (${args.chunks} chunks, ${args['chunk-interval-ms']} ms apart): ` +
      'time to first chunk (ttfc) and to the end, in ms.',
  );
  out.push('');
  out.push(
    table(
      [
        'system',
        'ttfc p50',
        'ttfc p99',
        '+ttfc p50',
        '+ttfc p99',
        'end p50',
        'end p99',
        'cpu us/req',
        'cache',
        'errors',
      ],
      streamRows,
    ),
  );
  for (const r of results.filter((x) => x.failed)) out.push(`\n${r.system}: FAILED ${r.failed}`);

  // Targets of issue 3, checked against this run.
  const checks = [];
  const sy = by.switchyard;
  if (sy && !sy.failed && direct) {
    checks.push([
      'added p50 at 1,000 req/s <= 0.5 ms',
      sy.summary.addP50 <= 0.5,
      fmt(sy.summary.addP50, 3),
    ]);
    checks.push([
      'added p99 at 1,000 req/s <= 2 ms',
      sy.summary.addP99 <= 2,
      fmt(sy.summary.addP99, 3),
    ]);
    if (floor && !floor.failed) {
      const share = sy.max.throughput / floor.max.throughput;
      checks.push(['max throughput >= 70% of floor', share >= 0.7, `${(share * 100).toFixed(0)}%`]);
    }
    if (directStream) {
      const add = sy.stream.firstChunkP50 - directStream.firstChunkP50;
      checks.push(['stream first chunk added <= 0.5 ms (p50)', add <= 0.5, fmt(add, 3)]);
    }
    checks.push(['peak RSS <= 150 MB', sy.peakRssMb <= 150, fmt(sy.peakRssMb, 1)]);
  }
  const mem = by['switchyard-memory'];
  if (mem && !mem.failed && floor && !floor.failed) {
    checks.push([
      'memory hits at least as fast as floor (p50 at top rate)',
      mem.rates[hi].p50 <= floor.rates[hi].p50,
      `${fmt(mem.rates[hi].p50, 3)} vs ${fmt(floor.rates[hi].p50, 3)}`,
    ]);
  }
  const red = by['switchyard-redis'];
  if (red && !red.failed && direct) {
    checks.push([
      'Redis hit added p50 <= 1 ms',
      red.summary.addP50 <= 1,
      fmt(red.summary.addP50, 3),
    ]);
  }
  if (checks.length > 0) {
    out.push('');
    out.push('Targets (issue 3):');
    for (const [what, ok, value] of checks)
      out.push(`  ${ok ? 'PASS' : 'MISS'}  ${what}: ${value}`);
  }
  console.log(out.join('\n'));

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `proxy-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
  );
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        quick,
        node: process.version,
        phaseMs: PHASE_MS,
        rounds: ROUNDS,
        rates,
        streamRate,
        connections,
        results,
        checks: checks.map(([what, ok, value]) => ({ what, ok, value })),
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten ${file}`);
}

await main();
