// The load generator: an evenly paced open loop for fixed rates, and a closed loop for maximum
// throughput. Both run in the benchmark's main process, one system under test at a time.
//
// Open loop: request i is due at t0 + i/rate whatever happened to earlier requests, and its
// latency counts from that due time (so a stall in the system under test shows up as latency of
// every request it delayed, not as fewer requests). Pacing: the loop sleeps with setTimeout
// until a request is less than a millisecond away, then polls with setImmediate, because libuv
// timers only have millisecond resolution. How late each send left is reported as `sendLagP99`.
import { Agent, request } from 'node:http';

const NS_PER_MS = 1_000_000;

/**
 * @typedef {{ url: URL, headers: Record<string, string>, body: Buffer }} Target
 * @typedef {{ latencies: number[], firstChunk: number[], errors: number, statuses: Record<string, number>, cache: Record<string, number> }} Samples
 */

function newSamples() {
  return { latencies: [], firstChunk: [], errors: 0, statuses: {}, cache: {} };
}

/** Sends one request; resolves with { ok, status, firstChunkNs, endNs, cache }. */
function send(agent, target) {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.url.hostname,
        port: target.url.port,
        path: target.url.pathname,
        method: 'POST',
        headers: { ...target.headers, 'content-length': target.body.length },
      },
      (res) => {
        let firstChunkNs = 0n;
        res.on('data', () => {
          if (firstChunkNs === 0n) firstChunkNs = process.hrtime.bigint();
        });
        res.on('end', () =>
          resolve({
            ok: res.statusCode === 200,
            status: res.statusCode,
            firstChunkNs,
            endNs: process.hrtime.bigint(),
            cache: res.headers['x-switchyard-cache'],
          }),
        );
        res.on('error', () =>
          resolve({ ok: false, status: 'reset', endNs: process.hrtime.bigint() }),
        );
      },
    );
    req.on('error', () => resolve({ ok: false, status: 'error', endNs: process.hrtime.bigint() }));
    req.end(target.body);
  });
}

function record(samples, startNs, result) {
  samples.statuses[result.status] = (samples.statuses[result.status] ?? 0) + 1;
  if (result.cache !== undefined)
    samples.cache[result.cache] = (samples.cache[result.cache] ?? 0) + 1;
  if (!result.ok) {
    samples.errors++;
    return;
  }
  samples.latencies.push(Number(result.endNs - startNs) / NS_PER_MS);
  if (result.firstChunkNs > 0n)
    samples.firstChunk.push(Number(result.firstChunkNs - startNs) / NS_PER_MS);
}

/**
 * Open loop at `rate` requests per second for `durationMs`.
 * @param {Target} target
 */
export async function openLoop(target, rate, durationMs) {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const samples = newSamples();
  const lags = [];
  const total = Math.round((rate * durationMs) / 1000);
  const intervalNs = 1e9 / rate;
  const t0 = process.hrtime.bigint() + 2n * BigInt(NS_PER_MS);
  const pending = [];
  let i = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (i < total) {
        const due = t0 + BigInt(Math.round(i * intervalNs));
        if (due > now) break;
        lags.push(Number(now - due) / NS_PER_MS);
        pending.push(send(agent, target).then((r) => record(samples, due, r)));
        i++;
      }
      if (i >= total) {
        done();
        return;
      }
      const nextDue = t0 + BigInt(Math.round(i * intervalNs));
      const waitMs = Number(nextDue - process.hrtime.bigint()) / NS_PER_MS;
      if (waitMs > 1.5) setTimeout(tick, Math.floor(waitMs - 1));
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  return { ...samples, sent: total, lags, completed: samples.latencies.length, elapsedS: 0 };
}

/**
 * Closed loop: `connections` workers, each sending its next request when the last one ends.
 * @param {Target} target
 */
export async function closedLoop(target, connections, durationMs) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const samples = newSamples();
  const start = process.hrtime.bigint();
  const end = start + BigInt(durationMs) * BigInt(NS_PER_MS);
  let completed = 0;
  const worker = async () => {
    while (process.hrtime.bigint() < end) {
      const t = process.hrtime.bigint();
      const r = await send(agent, target);
      record(samples, t, r);
      if (r.ok) completed++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return {
    ...samples,
    sent: samples.latencies.length + samples.errors,
    lags: [],
    completed,
    elapsedS,
  };
}

/** Adds the raw samples of `b` to `a` (phases of one system measured over several rounds). */
export function merge(a, b) {
  if (a === undefined) return b;
  const add = (x, y) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    latencies: a.latencies.concat(b.latencies),
    firstChunk: a.firstChunk.concat(b.firstChunk),
    errors: a.errors + b.errors,
    statuses: add(a.statuses, b.statuses),
    cache: add(a.cache, b.cache),
    sent: a.sent + b.sent,
    lags: a.lags.concat(b.lags),
    completed: a.completed + b.completed,
    elapsedS: a.elapsedS + b.elapsedS,
  };
}

export function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

/** Percentiles (ms) and counts of raw samples. */
export function summarize(samples) {
  const lat = [...samples.latencies].sort((a, b) => a - b);
  const fc = [...samples.firstChunk].sort((a, b) => a - b);
  const lags = [...samples.lags].sort((a, b) => a - b);
  return {
    ok: lat.length,
    errors: samples.errors,
    sent: samples.sent,
    statuses: samples.statuses,
    cache: samples.cache,
    throughput: samples.elapsedS > 0 ? samples.completed / samples.elapsedS : Number.NaN,
    sendLagP99: percentile(lags, 0.99),
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    max: lat.at(-1) ?? Number.NaN,
    firstChunkP50: percentile(fc, 0.5),
    firstChunkP99: percentile(fc, 0.99),
  };
}
