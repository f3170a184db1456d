import { type Attributes, DiagLogLevel, diag, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SwitchyardOpenAIInstrumentation } from '../src/index.js';
import { ORIGINAL_METHOD } from '../src/internal/create-wrapper.js';
import { defaultPriceTable } from '../src/pricing/index.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
  ATTR_GEN_AI_REQUEST_ENCODING_FORMATS,
  ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_P,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SWITCHYARD_CACHE_STATUS,
  ATTR_SWITCHYARD_COST_CACHE_READ_USD,
  ATTR_SWITCHYARD_COST_INPUT_USD,
  ATTR_SWITCHYARD_COST_OUTPUT_USD,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_PRICING_VERSION,
  ATTR_SWITCHYARD_ROUTE_MODEL,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_ROUTE_RULE_ID,
  ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_OPERATION_TEXT_COMPLETION,
  GEN_AI_PROVIDER_OPENAI,
  HEADER_SWITCHYARD_CACHE,
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
} from '../src/semconv.js';
import {
  type FakeOpenAIServer,
  RESPONSE_MODEL_SUFFIX,
  startFakeOpenAIServer,
} from './fixtures/fake-openai-server.js';
import { type AnyOpenAI, loadOpenAI, MODULE_NAMES, SDK_MAJORS } from './fixtures/openai-majors.js';
import { setupTracing } from './fixtures/tracing.js';

const tracing = setupTracing();
const instrumentation = new SwitchyardOpenAIInstrumentation({ moduleNames: MODULE_NAMES });
instrumentation.setTracerProvider(tracing.provider);

// The SDK warns through diag when an ended span is ended or changed again, and we report our own
// failures there: every test must leave this empty ("ends exactly once", "never throws").
const diagMessages: string[] = [];
diag.setLogger(
  {
    error: (...args) => diagMessages.push(`error: ${args.join(' ')}`),
    warn: (...args) => diagMessages.push(`warn: ${args.join(' ')}`),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  expect(diagMessages).toEqual([]);
});
beforeEach(() => {
  diagMessages.length = 0;
  tracing.reset();
  server.requests.length = 0;
  server.answerHeaders = undefined;
  instrumentation.setConfig({ moduleNames: MODULE_NAMES });
});

const MESSAGES = [{ role: 'user', content: 'Say hello' }];

function onlySpan(): ReadableSpan {
  const spans = tracing.spans();
  expect(spans.map((s) => s.name)).toHaveLength(1);
  return spans[0] as ReadableSpan;
}

function requestAttributes(operation: string, model: string): Attributes {
  return {
    [ATTR_GEN_AI_OPERATION_NAME]: operation,
    [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_OPENAI,
    [ATTR_GEN_AI_REQUEST_MODEL]: model,
    [ATTR_SERVER_ADDRESS]: '127.0.0.1',
    [ATTR_SERVER_PORT]: server.port,
  };
}

// Expected cost comes from the price table itself; the test checks it is known and lands on the span.
function costAttributes(
  model: string,
  inputTokens: number,
  outputTokens: number,
  cacheReadInputTokens?: number,
): Attributes {
  const usage =
    cacheReadInputTokens === undefined
      ? { inputTokens, outputTokens }
      : { inputTokens, outputTokens, cacheReadInputTokens };
  const cost = defaultPriceTable.cost(model, usage);
  expect(cost, `price of ${model}`).toBeDefined();
  return {
    [ATTR_SWITCHYARD_COST_USD]: cost?.totalUsd,
    [ATTR_SWITCHYARD_COST_INPUT_USD]: cost?.inputUsd,
    [ATTR_SWITCHYARD_COST_OUTPUT_USD]: cost?.outputUsd,
    [ATTR_SWITCHYARD_COST_CACHE_READ_USD]: cost?.cacheReadUsd,
    [ATTR_SWITCHYARD_PRICING_VERSION]: defaultPriceTable.version,
  };
}

const CHAT_MODEL = 'gpt-4o-mini';
const CHAT_RESPONSE_MODEL = `${CHAT_MODEL}${RESPONSE_MODEL_SUFFIX}`;
const CHAT_USAGE_ATTRIBUTES: Attributes = {
  [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 12,
  [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 5,
  [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 4,
  [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 0,
};

function expectErrorSpan(span: ReadableSpan, errorType: string, message: string): void {
  expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message });
  expect(span.events.map((e) => [e.name, e.attributes])).toEqual([
    ['exception', { 'exception.type': expect.any(String), 'exception.message': message }],
  ]);
  expect(span.attributes[ATTR_ERROR_TYPE]).toBe(errorType);
}

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const chunks: unknown[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

for (const sdk of SDK_MAJORS) {
  describe.skipIf(sdk.skipReason !== undefined)(
    `openai ${sdk.major}${sdk.skipReason ? ` (skipped: ${sdk.skipReason})` : ''}`,
    () => {
      let OpenAI: AnyOpenAI;
      let client: AnyOpenAI;
      beforeAll(() => {
        OpenAI = loadOpenAI(sdk.moduleName).OpenAI;
        client = new OpenAI({ apiKey: 'sk-test', baseURL: server.baseURL, maxRetries: 0 });
      });

      it('patches the resource prototypes when the module loads', () => {
        expect(OpenAI.Chat.Completions.prototype.create[ORIGINAL_METHOD]).toBeTypeOf('function');
        expect(OpenAI.Responses.prototype.create[ORIGINAL_METHOD]).toBeTypeOf('function');
        expect(OpenAI.Embeddings.prototype.create[ORIGINAL_METHOD]).toBeTypeOf('function');
        expect(OpenAI.Completions.prototype.create[ORIGINAL_METHOD]).toBeTypeOf('function');
      });

      it('chat: one CLIENT span with the whole attribute map', async () => {
        const completion = await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          max_tokens: 50,
          temperature: 0.2,
          top_p: 0.9,
          seed: 7,
          stop: 'END',
          frequency_penalty: 0.1,
          presence_penalty: 0.3,
          n: 2,
        });
        expect(completion.choices.map((c: AnyOpenAI) => c.message.content)).toEqual([
          'Hello there',
          'Hello there',
        ]);
        const span = onlySpan();
        expect(span.name).toBe(`chat ${CHAT_MODEL}`);
        expect(span.kind).toBe(SpanKind.CLIENT);
        expect(span.status.code).toBe(SpanStatusCode.UNSET);
        expect(span.events).toEqual([]);
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 50,
          [ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.2,
          [ATTR_GEN_AI_REQUEST_TOP_P]: 0.9,
          [ATTR_GEN_AI_REQUEST_SEED]: 7,
          [ATTR_GEN_AI_REQUEST_STOP_SEQUENCES]: ['END'],
          [ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY]: 0.1,
          [ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY]: 0.3,
          [ATTR_GEN_AI_REQUEST_CHOICE_COUNT]: 2,
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop', 'stop'],
          ...CHAT_USAGE_ATTRIBUTES,
          ...costAttributes(CHAT_RESPONSE_MODEL, 12, 5, 4),
        });
      });

      it('chat: max_completion_tokens counts as max_tokens, the sidecar headers become attributes', async () => {
        server.answerHeaders = {
          [HEADER_SWITCHYARD_MODEL]: 'gpt-4.1-nano',
          [HEADER_SWITCHYARD_RULE]: 'rule-7',
          [HEADER_SWITCHYARD_CACHE]: 'miss',
          [HEADER_SWITCHYARD_ROUTE_REASON]: 'rule',
        };
        await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          max_completion_tokens: 64,
        });
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 64,
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
          ...CHAT_USAGE_ATTRIBUTES,
          ...costAttributes(CHAT_RESPONSE_MODEL, 12, 5, 4),
          [ATTR_SWITCHYARD_ROUTE_MODEL]: 'gpt-4.1-nano',
          [ATTR_SWITCHYARD_ROUTE_RULE_ID]: 'rule-7',
          [ATTR_SWITCHYARD_CACHE_STATUS]: 'miss',
          [ATTR_SWITCHYARD_ROUTE_REASON]: 'rule',
        });
      });

      for (const status of [400, 429, 500]) {
        it(`chat: HTTP ${status} gives error.type, ERROR status and an exception event`, async () => {
          const model = `error-${status}`;
          const call = client.chat.completions.create({ model, messages: MESSAGES });
          await expect(call).rejects.toBeInstanceOf(OpenAI.APIError);
          await expect(call).rejects.toMatchObject({ status });
          const span = onlySpan();
          expect(span.name).toBe(`chat ${model}`);
          expect(span.attributes).toEqual({
            ...requestAttributes(GEN_AI_OPERATION_CHAT, model),
            [ATTR_ERROR_TYPE]: String(status),
          });
          expectErrorSpan(span, String(status), `${status} fake failure ${status}`);
          // Only the message: no stack trace, no request body.
          expect(JSON.stringify(span.events)).not.toContain('Say hello');
        });
      }

      it('chat: an aborted request ends its span with APIUserAbortError', async () => {
        const call = client.chat.completions.create(
          { model: CHAT_MODEL, messages: MESSAGES },
          { signal: AbortSignal.abort() },
        );
        await expect(call).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
        const span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_ERROR_TYPE]: 'APIUserAbortError',
        });
        expect(span.status.code).toBe(SpanStatusCode.ERROR);
      });

      it('chat stream: chunks pass through unchanged; time to first chunk and finish reason', async () => {
        const stream = await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          stream: true,
        });
        expect(stream).toBeInstanceOf(loadOpenAI(sdk.moduleName).Stream ?? Object);
        const chunks = await collect(stream);
        expect(chunks.map((c: AnyOpenAI) => c.choices[0]?.delta?.content ?? null)).toEqual([
          '',
          'Hel',
          'lo',
          null,
        ]);
        const span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
        });
        expect(span.attributes[ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]).toBeGreaterThan(0);
        // The caller did not ask for usage and the option is off: the request is sent as written.
        expect(server.requests[0]?.body.stream_options).toBeUndefined();
      });

      it('chat stream with includeStreamUsage: tokens and cost, usage chunk hidden from the caller', async () => {
        instrumentation.setConfig({ moduleNames: MODULE_NAMES, includeStreamUsage: true });
        const request = { model: CHAT_MODEL, messages: MESSAGES, stream: true };
        const chunks = await collect(await client.chat.completions.create(request));
        expect(chunks).toHaveLength(4);
        expect(chunks.every((c: AnyOpenAI) => c.choices.length === 1)).toBe(true);
        expect(server.requests[0]?.body.stream_options).toEqual({ include_usage: true });
        expect(request).toEqual({ model: CHAT_MODEL, messages: MESSAGES, stream: true });
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          ...CHAT_USAGE_ATTRIBUTES,
          ...costAttributes(CHAT_RESPONSE_MODEL, 12, 5, 4),
        });
      });

      it('chat stream: a caller that asks for usage gets the empty-choices chunk, nothing crashes', async () => {
        instrumentation.setConfig({ moduleNames: MODULE_NAMES, includeStreamUsage: true });
        const chunks = await collect(
          await client.chat.completions.create({
            model: CHAT_MODEL,
            messages: MESSAGES,
            stream: true,
            stream_options: { include_usage: true },
          }),
        );
        const last = chunks.at(-1) as AnyOpenAI;
        expect(last.choices).toEqual([]);
        expect(last.usage.prompt_tokens).toBe(12);
        expect(onlySpan().attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS]).toBe(12);
      });

      it('chat stream: a connection cut mid-stream ends the span once, with an error', async () => {
        const stream = await client.chat.completions.create({
          model: 'cut-stream',
          messages: MESSAGES,
          stream: true,
        });
        const seen: unknown[] = [];
        await expect(async () => {
          for await (const chunk of stream) seen.push(chunk);
        }).rejects.toThrow();
        expect(seen).toHaveLength(2);
        const span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, 'cut-stream'),
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: `cut-stream${RESPONSE_MODEL_SUFFIX}`,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          [ATTR_ERROR_TYPE]: expect.any(String),
        });
        // What breaks is the body stream (node-fetch: Error "Premature close"; undici: TypeError).
        expect(span.status.message).not.toBe('');
        expect(span.status.code).toBe(SpanStatusCode.ERROR);
        expect(span.events.map((e) => e.name)).toEqual(['exception']);
      });

      it('chat stream: breaking out early ends the span once, without error', async () => {
        const stream = await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          stream: true,
        });
        for await (const chunk of stream) {
          if ((chunk as AnyOpenAI).choices[0]?.delta?.content === 'Hel') break;
        }
        const span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
        });
        expect(span.status.code).toBe(SpanStatusCode.UNSET);
      });

      it('chat stream: aborting through stream.controller ends the span once as aborted', async () => {
        const stream = await client.chat.completions.create({
          model: 'hang-stream',
          messages: MESSAGES,
          stream: true,
        });
        const seen: unknown[] = [];
        for await (const chunk of stream) {
          seen.push(chunk);
          if (seen.length === 2) stream.controller.abort();
        }
        expect(seen).toHaveLength(2);
        const span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, 'hang-stream'),
          [ATTR_GEN_AI_RESPONSE_ID]: 'chatcmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: `hang-stream${RESPONSE_MODEL_SUFFIX}`,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          [ATTR_ERROR_TYPE]: 'APIUserAbortError',
        });
        expect(span.status.code).toBe(SpanStatusCode.ERROR);
      });

      it('chat stream: tee() and toReadableStream() keep working', async () => {
        const stream = await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          stream: true,
        });
        const [left, right] = stream.tee();
        const [a, b] = await Promise.all([collect(left), collect(right)]);
        expect(a).toHaveLength(4);
        expect(b).toEqual(a);
        expect(onlySpan().attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS]).toEqual(['stop']);

        tracing.reset();
        const again = await client.chat.completions.create({
          model: CHAT_MODEL,
          messages: MESSAGES,
          stream: true,
        });
        const reader = again.toReadableStream().getReader();
        let bytes = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.length;
        }
        expect(bytes).toBeGreaterThan(0);
        expect(onlySpan().attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS]).toEqual(['stop']);
      });

      it('withResponse() and asResponse() still work on the returned promise', async () => {
        const { data, response } = await client.chat.completions
          .create({ model: CHAT_MODEL, messages: MESSAGES })
          .withResponse();
        expect(data.id).toBe('chatcmpl-1');
        expect(response.headers.get('x-request-id')).toBe('req_fake');
        expect(onlySpan().attributes[ATTR_GEN_AI_RESPONSE_ID]).toBe('chatcmpl-1');

        tracing.reset();
        const raw = await client.chat.completions
          .create({ model: CHAT_MODEL, messages: MESSAGES })
          .asResponse();
        // The body was not consumed by the instrumentation: the caller can still read it.
        expect(((await raw.json()) as AnyOpenAI).id).toBe('chatcmpl-1');
        expect(onlySpan().attributes).toEqual(requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL));
      });

      it('the SDK helpers go through create: parse and stream()', async () => {
        const completions =
          sdk.major === 4 ? client.beta.chat.completions : client.chat.completions;
        const parsed = await completions.parse({
          model: CHAT_MODEL,
          messages: MESSAGES,
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'answer',
              strict: true,
              schema: {
                type: 'object',
                properties: { answer: { type: 'number' } },
                required: ['answer'],
                additionalProperties: false,
              },
            },
          },
        });
        expect(parsed.choices[0].message.parsed).toEqual({ answer: 42 });
        expect(onlySpan().attributes[ATTR_GEN_AI_RESPONSE_ID]).toBe('chatcmpl-1');

        tracing.reset();
        const runner = completions.stream({ model: CHAT_MODEL, messages: MESSAGES });
        const final = await runner.finalChatCompletion();
        expect(final.choices[0].message.content).toBe('Hello');
        const span = onlySpan();
        expect(span.attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS]).toEqual(['stop']);
        expect(span.attributes[ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]).toBeGreaterThan(0);
      });

      it('the tool runner calls create once per turn', async () => {
        const completions =
          sdk.major === 4 ? client.beta.chat.completions : client.chat.completions;
        const cities: string[] = [];
        const runner = completions.runTools({
          model: CHAT_MODEL,
          messages: MESSAGES,
          tools: [
            {
              type: 'function',
              function: {
                name: 'get_weather',
                function: (args: { city: string }) => {
                  cities.push(args.city);
                  return 'sunny';
                },
                parse: JSON.parse,
                parameters: { type: 'object', properties: { city: { type: 'string' } } },
              },
            },
          ],
        });
        expect(await runner.finalContent()).toBe('Hello there');
        expect(cities).toEqual(['Paris']);
        const spans = tracing.spans();
        expect(spans.map((s) => s.attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS])).toEqual([
          ['tool_calls'],
          ['stop'],
        ]);
        expect(spans.map((s) => s.attributes[ATTR_GEN_AI_RESPONSE_ID])).toEqual([
          'chatcmpl-tool',
          'chatcmpl-1',
        ]);
      });

      it('responses.create: JSON answer', async () => {
        const response = await client.responses.create({
          model: CHAT_MODEL,
          input: 'Say hi',
          max_output_tokens: 100,
          temperature: 0.5,
        });
        expect(response.output_text).toBe('Hi there');
        const span = onlySpan();
        expect(span.name).toBe(`chat ${CHAT_MODEL}`);
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 100,
          [ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.5,
          [ATTR_GEN_AI_RESPONSE_ID]: 'resp_1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 9,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 3,
          [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 0,
          [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 1,
          ...costAttributes(CHAT_RESPONSE_MODEL, 9, 3, 0),
        });
      });

      it('responses.create: streamed events, usage from response.completed', async () => {
        const stream = await client.responses.create({
          model: CHAT_MODEL,
          input: 'Say hi',
          stream: true,
        });
        const events = (await collect(stream)) as AnyOpenAI[];
        expect(events.map((e) => e.type)).toContain('response.completed');
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, CHAT_MODEL),
          [ATTR_GEN_AI_RESPONSE_ID]: 'resp_1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: CHAT_RESPONSE_MODEL,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 9,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 3,
          [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 0,
          [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 1,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          ...costAttributes(CHAT_RESPONSE_MODEL, 9, 3, 0),
        });
      });

      it('responses.stream() helper goes through create', async () => {
        const runner = client.responses.stream({ model: CHAT_MODEL, input: 'Say hi' });
        const final = await runner.finalResponse();
        expect(final.output[0].content[0].text).toBe('Hi there');
        expect(onlySpan().attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]).toBe(3);
      });

      it('responses.create: a cut stream and an HTTP 500', async () => {
        const stream = await client.responses.create({
          model: 'cut-stream',
          input: 'x',
          stream: true,
        });
        await expect(collect(stream)).rejects.toThrow();
        let span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, 'cut-stream'),
          [ATTR_GEN_AI_RESPONSE_ID]: 'resp_1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: `cut-stream${RESPONSE_MODEL_SUFFIX}`,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          [ATTR_ERROR_TYPE]: expect.any(String),
        });
        expect(span.status.code).toBe(SpanStatusCode.ERROR);

        tracing.reset();
        await expect(
          client.responses.create({ model: 'error-500', input: 'x' }),
        ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
        span = onlySpan();
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_CHAT, 'error-500'),
          [ATTR_ERROR_TYPE]: '500',
        });
      });

      it('embeddings.create: with and without encoding_format', async () => {
        const model = 'text-embedding-3-small';
        const responseModel = `${model}${RESPONSE_MODEL_SUFFIX}`;
        const result = await client.embeddings.create({
          model,
          input: 'hello',
          encoding_format: 'float',
        });
        expect(result.data[0].embedding).toEqual([0.25, -0.5, 1]);
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_EMBEDDINGS, model),
          [ATTR_GEN_AI_REQUEST_ENCODING_FORMATS]: ['float'],
          [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel,
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 3,
          ...costAttributes(responseModel, 3, 0),
        });

        tracing.reset();
        const decoded = await client.embeddings.create({ model, input: 'hello' });
        expect(Array.from(decoded.data[0].embedding)).toEqual([0.25, -0.5, 1]);
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_EMBEDDINGS, model),
          [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel,
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 3,
          ...costAttributes(responseModel, 3, 0),
        });

        tracing.reset();
        await expect(
          client.embeddings.create({ model: 'error-429', input: 'x' }),
        ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_EMBEDDINGS, 'error-429'),
          [ATTR_ERROR_TYPE]: '429',
        });
      });

      it('legacy completions.create: JSON and stream', async () => {
        const model = 'gpt-3.5-turbo-instruct';
        const responseModel = `${model}${RESPONSE_MODEL_SUFFIX}`;
        const completion = await client.completions.create({
          model,
          prompt: 'Hello',
          max_tokens: 2,
        });
        expect(completion.choices[0].text).toBe(' world');
        const span = onlySpan();
        expect(span.name).toBe(`text_completion ${model}`);
        expect(span.attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_TEXT_COMPLETION, model),
          [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 2,
          [ATTR_GEN_AI_RESPONSE_ID]: 'cmpl-1',
          [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['length'],
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 4,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 2,
          ...costAttributes(responseModel, 4, 2),
        });

        tracing.reset();
        instrumentation.setConfig({ moduleNames: MODULE_NAMES, includeStreamUsage: true });
        const chunks = (await collect(
          await client.completions.create({ model, prompt: 'Hello', stream: true }),
        )) as AnyOpenAI[];
        expect(chunks.map((c) => c.choices[0].text).join('')).toBe(' world');
        expect(onlySpan().attributes).toEqual({
          ...requestAttributes(GEN_AI_OPERATION_TEXT_COMPLETION, model),
          [ATTR_GEN_AI_RESPONSE_ID]: 'cmpl-2',
          [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel,
          [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['length'],
          [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 4,
          [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 2,
          [ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK]: expect.any(Number),
          ...costAttributes(responseModel, 4, 2),
        });
      });

      it('propagates traceparent and keeps caller headers', async () => {
        await client.chat.completions.create(
          { model: CHAT_MODEL, messages: MESSAGES },
          { headers: { 'X-Custom': 'kept', Traceparent: undefined } },
        );
        const span = onlySpan();
        const headers = server.requests[0]?.headers ?? {};
        expect(headers['x-custom']).toBe('kept');
        expect(headers.traceparent).toBe(
          `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
        );
      });

      it('disable() restores the originals and enable() patches again', async () => {
        const patched = OpenAI.Chat.Completions.prototype.create;
        instrumentation.disable();
        try {
          expect(OpenAI.Chat.Completions.prototype.create[ORIGINAL_METHOD]).toBeUndefined();
          expect(OpenAI.Chat.Completions.prototype.create).toBe(patched[ORIGINAL_METHOD]);
          await client.chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES });
          expect(tracing.spans()).toEqual([]);
          expect(server.requests[0]?.headers.traceparent).toBeUndefined();
        } finally {
          instrumentation.enable();
        }
        expect(OpenAI.Chat.Completions.prototype.create[ORIGINAL_METHOD]).toBeTypeOf('function');
        await client.chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES });
        expect(tracing.spans()).toHaveLength(1);
      });
    },
  );
}

describe('patching twice', () => {
  it('a second instrumentation does not wrap again: still one span per call', async () => {
    const second = new SwitchyardOpenAIInstrumentation({ moduleNames: ['openai'] });
    second.setTracerProvider(tracing.provider);
    try {
      const { OpenAI } = loadOpenAI('openai');
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: server.baseURL, maxRetries: 0 });
      await client.chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES });
      expect(tracing.spans()).toHaveLength(1);
    } finally {
      second.disable();
    }
  });
});
