// Span intake benchmark: spans per second on one core for protobuf and JSON batches of realistic
// LLM spans (decode + extract + feedback join into a counting sink), against a floor in the same
// run (protobufjs' generic decode of the same bytes; JSON.parse of the same text), then over
// HTTP, then memory over a long run. Needs the built packages: `npm run build` first.
//
//   node --expose-gc bench/intake/intake-bench.mjs [--quick]
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import { OtlpProtobufDecoder } from '../../packages/sidecar/dist/intake/otlp-protobuf-decoder.js';
import { createTraceIntake } from '../../packages/sidecar/dist/intake/trace-intake.js';
import { MARKER_BYTES, MARKER_TEXT, makeBatch, SPANS_PER_BATCH } from './batch-maker.mjs';
import { ExportTraceServiceRequest } from './otlp-schema.mjs';

const QUICK = process.argv.includes('--quick');
const DISTINCT_BATCHES = QUICK ? 4 : 16;
const SECONDS = QUICK ? 0.9 : 6;
const MEMORY_BATCHES = QUICK ? 400 : 6000;
const HTTP_SECONDS = QUICK ? 0.8 : 4;

/** Offsets just after each marker, to stamp a pass number into every id in place. */
function markerOffsets(buf, marker) {
  const out = [];
  for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + 1)) {
    out.push(at + marker.length);
  }
  return out;
}

function stamper(buf) {
  const binary = markerOffsets(buf, MARKER_BYTES);
  const text = markerOffsets(buf, MARKER_TEXT);
  return (pass) => {
    for (const at of binary) buf.writeUInt32BE(pass >>> 0, at);
    if (text.length > 0) {
      const s = hex(pass >>> 0, 8);
      for (const at of text) buf.write(s, at, 'latin1');
    }
  };
}

class CountingSink {
  calls = 0;
  verdicts = 0;
  tokens = 0;
  recordCall(call) {
    this.calls++;
    this.tokens += call.inputTokens;
  }
  recordVerdict() {
    this.verdicts++;
  }
}

// --- measurement ------------------------------------------------------------------------------
// Contenders run in alternating rounds, so a neighbour's load on a shared machine hits both alike
// and the ratio stays meaningful even when the absolute figures do not.
let pass = 0;
const ROUNDS = QUICK ? 3 : 8;
function compare(batches, kind, runs) {
  const spans = runs.map(() => 0);
  const ms = runs.map(() => 0);
  let i = 0;
  const slice = (fn, seconds) => {
    let n = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      const b = batches[i++ % batches.length];
      b.stamp[kind](++pass);
      fn(b[kind]);
      n += b.spans;
    }
    return { n, elapsed: performance.now() - start };
  };
  for (const fn of runs) slice(fn, 0.2); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((fn, k) => {
      const { n, elapsed } = slice(fn, SECONDS / ROUNDS);
      spans[k] += n;
      ms[k] += elapsed;
    });
  }
  return runs.map((_, k) => (spans[k] / ms[k]) * 1000);
}

const hex = (n, width) => n.toString(16).padStart(width, '0');
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

console.log(`span intake benchmark${QUICK ? ' (--quick)' : ''}: Node ${process.version}`);
const batches = [];
for (let s = 0; s < DISTINCT_BATCHES; s++) {
  const b = makeBatch(s);
  b.stamp = { protobuf: stamper(b.protobuf), json: stamper(b.json) };
  batches.push(b);
}
const avgProto = batches.reduce((a, b) => a + b.protobuf.length, 0) / batches.length;
const avgJson = batches.reduce((a, b) => a + b.json.length, 0) / batches.length;
console.log(
  `${batches.length} distinct batches of ${SPANS_PER_BATCH} spans (70% chat with ~23 attributes, ` +
    `10% feedback, 10% invoke_agent, 10% HTTP); protobuf ${fmt(avgProto)} B/batch, ` +
    `JSON ${fmt(avgJson)} B/batch\n`,
);

function row(name, spansPerSec, floorName, floor) {
  const ratio = floor
    ? ` | ${(spansPerSec / floor).toFixed(2)}x ${floorName} (${fmt(floor)}/s)`
    : '';
  console.log(`${name.padEnd(44)} ${fmt(spansPerSec).padStart(11)} spans/s${ratio}`);
}

const rates = {};
{
  const sink = new CountingSink();
  const intake = createTraceIntake({ sink });
  const decoder = new OtlpProtobufDecoder();
  const [ours, decodeOnly, floor] = compare(batches, 'protobuf', [
    (buf) => intake.ingest(buf, 'protobuf'),
    (buf) => decoder.decode(buf),
    (buf) => ExportTraceServiceRequest.decode(buf),
  ]);
  rates.protobuf = ours;
  row('protobuf: decode+extract+join (in-process)', ours, 'protobufjs decode', floor);
  console.log(`  sink saw ${fmt(sink.calls)} calls, ${fmt(sink.verdicts)} verdicts`);
  if (sink.calls === 0 || sink.verdicts === 0) throw new Error('the benchmark extracted nothing');
  row('protobuf: lazy decode alone', decodeOnly, 'protobufjs decode', floor);
}
{
  const sink = new CountingSink();
  const intake = createTraceIntake({ sink });
  const [ours, floor] = compare(batches, 'json', [
    (buf) => intake.ingest(buf, 'json'),
    (buf) => JSON.parse(buf.toString('utf8')),
  ]);
  rates.json = ours;
  row('JSON: decode+extract+join (in-process)', ours, 'JSON.parse alone', floor);
  console.log(`  sink saw ${fmt(sink.calls)} calls, ${fmt(sink.verdicts)} verdicts`);
}

// --- over HTTP: the real handler on a socket, keep-alive client in the same process ------------
async function overHttp(kind, concurrency) {
  const sink = new CountingSink();
  const intake = createTraceIntake({ sink, maxQueue: 64 });
  const server = createServer((req, res) => void intake.handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const contentType = kind === 'json' ? 'application/json' : 'application/x-protobuf';
  const send = (body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/traces',
          method: 'POST',
          agent,
          headers: { 'content-type': contentType, 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let spans = 0;
  let i = 0;
  const start = performance.now();
  const end = start + HTTP_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const b = batches[i++ % batches.length];
        b.stamp[kind](++pass);
        // Copy: the next stamp must not change bytes still being sent.
        await send(Buffer.from(b[kind]));
        spans += b.spans;
      }
    }),
  );
  const rate = (spans / (performance.now() - start)) * 1000;
  agent.destroy();
  server.close();
  await intake.close();
  return rate;
}
const protoInProcess = rates.protobuf;
row(
  'protobuf over HTTP (4 in flight, keep-alive)',
  await overHttp('protobuf', 4),
  'in-process',
  protoInProcess,
);
row(
  'JSON over HTTP (4 in flight, keep-alive)',
  await overHttp('json', 4),
  'in-process',
  rates.json,
);

// --- memory over a long run --------------------------------------------------------------------
{
  const gc = globalThis.gc;
  const sink = new CountingSink();
  const intake = createTraceIntake({ sink });
  console.log(
    `\nmemory: ${fmt(MEMORY_BATCHES)} protobuf batches (${fmt(MEMORY_BATCHES * SPANS_PER_BATCH)} spans, ` +
      `fresh ids each batch)${gc ? ', after gc' : ' (run with --expose-gc for settled figures)'}`,
  );
  const snapshots = [];
  const every = Math.max(1, Math.floor(MEMORY_BATCHES / 10));
  for (let n = 1; n <= MEMORY_BATCHES; n++) {
    const b = batches[n % batches.length];
    b.stamp.protobuf(++pass);
    intake.ingest(b.protobuf, 'protobuf');
    if (n % every === 0) {
      gc?.();
      const m = process.memoryUsage();
      const st = intake.stats();
      snapshots.push(m.heapUsed);
      console.log(
        `  after ${String(n).padStart(5)} batches: heapUsed ${mb(m.heapUsed).padStart(9)}  rss ${mb(m.rss).padStart(9)}` +
          `  remembered calls ${fmt(st.rememberedCalls).padStart(6)}  waiting feedback ${fmt(st.pendingFeedback)}`,
      );
    }
  }
  // The join window fills during the first ~140 batches (50,000 calls); compare after that.
  const settled = snapshots.slice(Math.ceil(snapshots.length / 2));
  const growth = settled[settled.length - 1] - settled[0];
  console.log(`  heapUsed change over the second half of the run: ${mb(growth)}`);
}

const target = 50_000;
console.log(
  `\ntarget: >= ${fmt(target)} protobuf spans/s in-process; measured ${fmt(protoInProcess)} ` +
    `(${(protoInProcess / target).toFixed(1)}x target)`,
);
