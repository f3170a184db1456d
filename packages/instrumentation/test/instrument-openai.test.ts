import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instrumentOpenAI, uninstrumentOpenAI } from '../src/index.js';
import { ORIGINAL_METHOD } from '../src/internal/create-wrapper.js';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_RESPONSE_ID,
  GEN_AI_OPERATION_EMBEDDINGS,
} from '../src/semconv.js';
import { type FakeOpenAIServer, startFakeOpenAIServer } from './fixtures/fake-openai-server.js';
import { type AnyOpenAI, loadOpenAI } from './fixtures/openai-majors.js';
import { setupTracing } from './fixtures/tracing.js';

// No module instrumentation in this file: this is the bundled-app path, one client at a time.
const tracing = setupTracing();

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  tracing.reset();
  server.requests.length = 0;
});

function newClient(moduleName: string): AnyOpenAI {
  const { OpenAI } = loadOpenAI(moduleName);
  return new OpenAI({ apiKey: 'sk-test', baseURL: server.baseURL, maxRetries: 0 });
}

describe('instrumentOpenAI(client)', () => {
  for (const moduleName of ['openai-v4', 'openai-v5', 'openai']) {
    it(`${moduleName}: traces the instance, leaves other clients and the class alone`, async () => {
      const client = newClient(moduleName);
      const other = newClient(moduleName);
      expect(instrumentOpenAI(client, { tracerProvider: tracing.provider })).toBe(client);
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
      await other.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      const spans = tracing.spans();
      expect(spans.map((s) => [s.name, s.kind])).toEqual([
        ['chat gpt-4o-mini', SpanKind.CLIENT],
        ['embeddings text-embedding-3-small', SpanKind.CLIENT],
      ]);
      expect(spans[0]?.attributes[ATTR_GEN_AI_RESPONSE_ID]).toBe('chatcmpl-1');
      expect(spans[1]?.attributes[ATTR_GEN_AI_OPERATION_NAME]).toBe(GEN_AI_OPERATION_EMBEDDINGS);
      const { OpenAI } = loadOpenAI(moduleName);
      expect(OpenAI.Chat.Completions.prototype.create[ORIGINAL_METHOD]).toBeUndefined();
      // The request still went out with trace context for the instrumented client only.
      expect(server.requests.map((r) => r.headers.traceparent === undefined)).toEqual([
        false,
        false,
        true,
      ]);
    });
  }

  it('instrumenting twice is harmless: one span per call', async () => {
    const client = newClient('openai');
    instrumentOpenAI(client, { tracerProvider: tracing.provider });
    instrumentOpenAI(client, { tracerProvider: tracing.provider });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(tracing.spans()).toHaveLength(1);
  });

  it('uninstrumentOpenAI restores the instance', async () => {
    const client = newClient('openai');
    instrumentOpenAI(client, { tracerProvider: tracing.provider });
    expect(Object.hasOwn(client.chat.completions, 'create')).toBe(true);
    uninstrumentOpenAI(client);
    expect(Object.hasOwn(client.chat.completions, 'create')).toBe(false);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    expect(tracing.spans()).toEqual([]);
  });

  it('rejects something that is not a client', () => {
    expect(() => instrumentOpenAI(undefined as unknown as object)).toThrow(
      /OpenAI client instance/,
    );
  });
});
