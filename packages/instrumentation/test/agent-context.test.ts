import { setTimeout as sleep } from 'node:timers/promises';
import { propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SwitchyardOpenAIInstrumentation,
  withAgent,
  withTask,
  withWorkflow,
} from '../src/index.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_SWITCHYARD_TASK_TYPE,
  ATTR_SWITCHYARD_WORKFLOW_NAME,
  BAGGAGE_SWITCHYARD_AGENT,
  BAGGAGE_SWITCHYARD_TASK,
  GEN_AI_OPERATION_INVOKE_AGENT,
  HEADER_SWITCHYARD_AGENT,
  HEADER_SWITCHYARD_TASK,
} from '../src/semconv.js';
import { type FakeOpenAIServer, startFakeOpenAIServer } from './fixtures/fake-openai-server.js';
import { type AnyOpenAI, loadOpenAI } from './fixtures/openai-majors.js';
import { setupTracing } from './fixtures/tracing.js';

const tracing = setupTracing();
const instrumentation = new SwitchyardOpenAIInstrumentation({
  moduleNames: ['openai', 'openai-v4'],
});
instrumentation.setTracerProvider(tracing.provider);

let server: FakeOpenAIServer;
let client: AnyOpenAI;
let clientV4: AnyOpenAI;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
  const options = { apiKey: 'sk-test', baseURL: server.baseURL, maxRetries: 0 };
  client = new (loadOpenAI('openai').OpenAI)(options);
  clientV4 = new (loadOpenAI('openai-v4').OpenAI)(options);
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  tracing.reset();
  server.requests.length = 0;
});

const MESSAGES = [{ role: 'user', content: 'hi' }];

function chat(model = 'gpt-4o-mini', target: AnyOpenAI = client): Promise<unknown> {
  return target.chat.completions.create({ model, messages: MESSAGES });
}

function spanNamed(name: string): ReadableSpan {
  const found = tracing.spans().filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0] as ReadableSpan;
}

function chatSpans(): ReadableSpan[] {
  return tracing.spans().filter((s) => s.kind === SpanKind.CLIENT);
}

function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe('withAgent', () => {
  it('opens an invoke_agent span and labels every call inside', async () => {
    const result = await withAgent(
      { name: 'research', task: 'search', id: 'agent-1', conversationId: 'conv-9' },
      async () => {
        await chat();
        return 'done';
      },
    );
    expect(result).toBe('done');
    const agent = spanNamed('invoke_agent research');
    expect(agent.kind).toBe(SpanKind.INTERNAL);
    expect(agent.attributes).toEqual({
      [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_INVOKE_AGENT,
      [ATTR_GEN_AI_AGENT_NAME]: 'research',
      [ATTR_GEN_AI_AGENT_ID]: 'agent-1',
      [ATTR_SWITCHYARD_TASK_TYPE]: 'search',
      [ATTR_GEN_AI_CONVERSATION_ID]: 'conv-9',
    });
    const [call] = chatSpans();
    expect(parentId(call as ReadableSpan)).toBe(agent.spanContext().spanId);
    expect(call?.attributes).toMatchObject({
      [ATTR_GEN_AI_AGENT_NAME]: 'research',
      [ATTR_SWITCHYARD_TASK_TYPE]: 'search',
      [ATTR_GEN_AI_CONVERSATION_ID]: 'conv-9',
    });
  });

  it('sends traceparent, baggage and x-switchyard headers, on SDK 4 and 6 alike', async () => {
    for (const target of [client, clientV4]) {
      tracing.reset();
      server.requests.length = 0;
      await withAgent({ name: 'outline', task: 'plan' }, () => chat('gpt-4o-mini', target));
      const call = chatSpans()[0] as ReadableSpan;
      const headers = server.requests[0]?.headers ?? {};
      expect(headers.traceparent).toBe(
        `00-${call.spanContext().traceId}-${call.spanContext().spanId}-01`,
      );
      expect(headers[HEADER_SWITCHYARD_AGENT]).toBe('outline');
      expect(headers[HEADER_SWITCHYARD_TASK]).toBe('plan');
      const baggage = propagation.createBaggage(
        Object.fromEntries(
          String(headers.baggage)
            .split(',')
            .map((entry) => entry.split('='))
            .map(([key, value]) => [key?.trim(), { value: decodeURIComponent(value ?? '') }]),
        ),
      );
      expect(baggage.getEntry(BAGGAGE_SWITCHYARD_AGENT)?.value).toBe('outline');
      expect(baggage.getEntry(BAGGAGE_SWITCHYARD_TASK)?.value).toBe('plan');
    }
  });

  it('never overrides a header the caller set, and encodes names that are not plain ASCII', async () => {
    await withAgent({ name: 'rédacteur', task: 'plan' }, () =>
      client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: MESSAGES },
        { headers: { 'X-Switchyard-Task': 'caller-task' } },
      ),
    );
    const headers = server.requests[0]?.headers ?? {};
    expect(headers[HEADER_SWITCHYARD_TASK]).toBe('caller-task');
    expect(decodeURIComponent(String(headers[HEADER_SWITCHYARD_AGENT]))).toBe('rédacteur');
    expect(chatSpans()[0]?.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe('rédacteur');
  });

  it('records a failure of the step and rethrows it unchanged', async () => {
    const failure = new RangeError('step failed');
    await expect(
      withAgent({ name: 'draft' }, async () => {
        await chat();
        throw failure;
      }),
    ).rejects.toBe(failure);
    const agent = spanNamed('invoke_agent draft');
    expect(agent.status).toEqual({ code: SpanStatusCode.ERROR, message: 'step failed' });
    expect(agent.attributes[ATTR_ERROR_TYPE]).toBe('RangeError');
    expect(() => withAgent({ name: 'sync' }, () => 42)).not.toThrow();
    expect(spanNamed('invoke_agent sync').status.code).toBe(SpanStatusCode.UNSET);
  });

  it('returning the SDK promise directly leaves it untouched: asResponse() still reads the body', async () => {
    const raw = await withAgent({ name: 'raw' }, () =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES }),
    ).asResponse();
    expect(((await raw.json()) as { id: string }).id).toBe('chatcmpl-1');
    expect(spanNamed('invoke_agent raw').status.code).toBe(SpanStatusCode.UNSET);
    expect(chatSpans()).toHaveLength(1);
  });

  it('rejects a missing name with a message that names the option', () => {
    expect(() => withAgent({ name: '' }, () => 1)).toThrow(
      /options\.name must be a non-empty string/,
    );
  });
});

describe('context holds across async boundaries', () => {
  it('Promise.all: concurrent agents keep their own labels and parents', async () => {
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        withAgent({ name, task: `task-${name}` }, async () => {
          await sleep(1);
          await Promise.all([chat(), chat()]);
        }),
      ),
    );
    const calls = chatSpans();
    expect(calls).toHaveLength(6);
    for (const name of ['a', 'b', 'c']) {
      const agent = spanNamed(`invoke_agent ${name}`);
      const mine = calls.filter((c) => parentId(c) === agent.spanContext().spanId);
      expect(mine).toHaveLength(2);
      for (const call of mine) {
        expect(call.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe(name);
        expect(call.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe(`task-${name}`);
      }
    }
    const agentsSeen = server.requests.map((r) => r.headers[HEADER_SWITCHYARD_AGENT]).sort();
    expect(agentsSeen).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('timers: a call made from setTimeout inside the step is still labelled', async () => {
    await withAgent({ name: 'timer-agent', task: 'later' }, async () => {
      await new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          chat().then(() => resolve(), reject);
        }, 2);
      });
    });
    const call = chatSpans()[0] as ReadableSpan;
    expect(call.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe('timer-agent');
    expect(call.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe('later');
    expect(parentId(call)).toBe(spanNamed('invoke_agent timer-agent').spanContext().spanId);
  });

  it('async generators: calls between yields keep the context', async () => {
    async function* steps(): AsyncGenerator<number> {
      for (let i = 0; i < 3; i++) {
        await chat();
        yield i;
        await sleep(1);
      }
    }
    const seen: number[] = [];
    await withAgent({ name: 'gen-agent', task: 'iterate' }, async () => {
      for await (const step of steps()) seen.push(step);
    });
    expect(seen).toEqual([0, 1, 2]);
    const calls = chatSpans();
    expect(calls).toHaveLength(3);
    for (const call of calls) {
      expect(call.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe('gen-agent');
      expect(call.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe('iterate');
    }
  });

  it('calls outside any step carry no agent attributes or headers', async () => {
    await chat();
    const call = chatSpans()[0] as ReadableSpan;
    expect(call.attributes[ATTR_GEN_AI_AGENT_NAME]).toBeUndefined();
    expect(server.requests[0]?.headers[HEADER_SWITCHYARD_AGENT]).toBeUndefined();
    expect(server.requests[0]?.headers.baggage).toBeUndefined();
  });
});

describe('withTask and withWorkflow', () => {
  it('withTask relabels calls inside an agent step without opening a span', async () => {
    await withAgent({ name: 'refine', task: 'edit' }, async () => {
      await withTask('grammar', () => chat());
      await chat();
    });
    const [first, second] = chatSpans();
    expect(first?.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe('grammar');
    expect(first?.attributes[ATTR_GEN_AI_AGENT_NAME]).toBe('refine');
    expect(second?.attributes[ATTR_SWITCHYARD_TASK_TYPE]).toBe('edit');
    expect(server.requests.map((r) => r.headers[HEADER_SWITCHYARD_TASK])).toEqual([
      'grammar',
      'edit',
    ]);
    expect(
      tracing
        .spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['chat gpt-4o-mini', 'chat gpt-4o-mini', 'invoke_agent refine']);
  });

  it('withWorkflow opens a workflow span that agents and calls inside carry', async () => {
    await withWorkflow('pipeline', async () => {
      await withAgent({ name: 'research', task: 'search' }, () => chat());
    });
    const workflow = spanNamed('workflow pipeline');
    expect(workflow.kind).toBe(SpanKind.INTERNAL);
    expect(workflow.attributes).toEqual({ [ATTR_SWITCHYARD_WORKFLOW_NAME]: 'pipeline' });
    const agent = spanNamed('invoke_agent research');
    expect(parentId(agent)).toBe(workflow.spanContext().spanId);
    expect(agent.attributes[ATTR_SWITCHYARD_WORKFLOW_NAME]).toBe('pipeline');
    const call = chatSpans()[0] as ReadableSpan;
    expect(call.attributes[ATTR_SWITCHYARD_WORKFLOW_NAME]).toBe('pipeline');
    expect(call.spanContext().traceId).toBe(workflow.spanContext().traceId);
  });
});
