import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type Attributes, SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardOpenAIInstrumentation, withAgent } from '../src/index.js';
import { SCOPE_INSTRUMENTATION } from '../src/semconv.js';
import { type FakeOpenAIServer, startFakeOpenAIServer } from './fixtures/fake-openai-server.js';
import { type AnyOpenAI, loadOpenAI } from './fixtures/openai-majors.js';
import { setupTracing } from './fixtures/tracing.js';

interface Received {
  contentType: string;
  body: Buffer;
}

// A local OTLP/HTTP receiver: keeps the bytes exactly as the exporters sent them.
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      received.push({ contentType: String(req.headers['content-type']), body });
      res.writeHead(200, { 'content-type': String(req.headers['content-type']) });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/v1/traces`, received };
}

// biome-ignore lint/suspicious/noExplicitAny: decoded OTLP values are dynamically shaped.
type Decoded = any;

/** An OTLP AnyValue (proto `toObject` or OTLP/JSON) back to a plain attribute value. */
function fromAnyValue(value: Decoded): unknown {
  const v = value ?? {};
  const s = v.stringValue ?? v.string_value;
  if (s !== undefined) return s;
  const b = v.boolValue ?? v.bool_value;
  if (b !== undefined) return b;
  const i = v.intValue ?? v.int_value;
  if (i !== undefined) return Number(i);
  const d = v.doubleValue ?? v.double_value;
  if (d !== undefined) return Number(d);
  const a = v.arrayValue ?? v.array_value;
  if (a !== undefined) return (a.values ?? []).map(fromAnyValue);
  throw new Error(`unexpected AnyValue ${JSON.stringify(value)}`);
}

function attributeMap(keyValues: Decoded[]): Attributes {
  return Object.fromEntries(
    (keyValues ?? []).map((kv: Decoded) => [kv.key, fromAnyValue(kv.value)]),
  );
}

function spansOf(request: Decoded): { scope: string; span: Decoded }[] {
  const out: { scope: string; span: Decoded }[] = [];
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) out.push({ scope: ss.scope?.name, span });
    }
  }
  return out;
}

setupTracing();
// Created before `openai` loads, so the require hook patches it; each test points it at its provider.
const instrumentation = new SwitchyardOpenAIInstrumentation({ moduleNames: ['openai'] });
let fake: FakeOpenAIServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let client: AnyOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAIServer();
  receiver = await startReceiver();
  client = new (loadOpenAI('openai').OpenAI)({
    apiKey: 'sk-test',
    baseURL: fake.baseURL,
    maxRetries: 0,
  });
});
afterAll(async () => {
  await fake.close();
  await new Promise((resolve) => receiver.server.close(resolve));
});

async function exportCalls(
  exporter: OTLPJsonTraceExporter | OTLPProtoTraceExporter,
): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(exporter)],
  });
  instrumentation.setTracerProvider(provider);
  try {
    await withAgent({ name: 'research', task: 'search' }, async () => {
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 0.5,
        stop: ['a', 'b'],
      });
      await client.chat.completions
        .create({ model: 'error-429', messages: [{ role: 'user', content: 'hi' }] })
        .catch(() => undefined);
    });
    await provider.forceFlush();
    // Read before shutdown: shutting the in-memory exporter down forgets its spans.
    return memory.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
  } finally {
    await provider.shutdown();
  }
}

function checkAgainst(
  decoded: { scope: string; span: Decoded }[],
  original: ReadableSpan[],
  hexIds: (span: Decoded) => string,
): void {
  expect(original).toHaveLength(2);
  for (const span of original) {
    const match = decoded.find((d) => d.span.name === span.name);
    expect(match, `exported ${span.name}`).toBeDefined();
    expect(match?.scope).toBe(SCOPE_INSTRUMENTATION);
    expect(hexIds(match?.span)).toBe(`${span.spanContext().traceId}/${span.spanContext().spanId}`);
    // Every attribute survived serialization with its value and type.
    expect(attributeMap(match?.span.attributes)).toEqual(span.attributes);
    expect(Number(match?.span.kind)).toBe(3); // SPAN_KIND_CLIENT
    expect(Number(match?.span.status?.code ?? 0)).toBe(span.status.code);
  }
}

describe('OTLP/HTTP export of our spans', () => {
  it('protobuf: decodes against the OTLP schema with our attributes intact', async () => {
    receiver.received.length = 0;
    const original = await exportCalls(new OTLPProtoTraceExporter({ url: receiver.url }));
    expect(receiver.received.length).toBeGreaterThan(0);
    const root = protobuf.loadSync(
      fileURLToPath(new URL('./fixtures/otlp-trace.proto', import.meta.url)),
    );
    const Request = root.lookupType(
      'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    );
    const decoded = receiver.received.flatMap((r) => {
      expect(r.contentType).toBe('application/x-protobuf');
      return spansOf(Request.toObject(Request.decode(r.body), { longs: String, bytes: Buffer }));
    });
    checkAgainst(
      decoded,
      original,
      (s) => `${Buffer.from(s.traceId).toString('hex')}/${Buffer.from(s.spanId).toString('hex')}`,
    );
    const error = decoded.find((d) => d.span.name === 'chat error-429');
    expect(error?.span.status.message).toBe('429 fake failure 429');
    expect(error?.span.events.map((e: Decoded) => e.name)).toEqual(['exception']);
  });

  it('JSON: the OTLP/JSON body carries the same attributes', async () => {
    receiver.received.length = 0;
    const original = await exportCalls(new OTLPJsonTraceExporter({ url: receiver.url }));
    const decoded = receiver.received.flatMap((r) => {
      expect(r.contentType).toBe('application/json');
      return spansOf(JSON.parse(r.body.toString('utf8')));
    });
    checkAgainst(decoded, original, (s) => `${s.traceId}/${s.spanId}`);
  });
});
