import {
  context,
  propagation,
  type SpanContext,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withAgent } from '../src/agent-context.js';
import { recordFeedback } from '../src/feedback.js';
import { SPAN_NAME_FEEDBACK } from '../src/semconv.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});
beforeEach(() => exporter.reset());

const callSpan: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

function feedbackSpans() {
  return exporter.getFinishedSpans().filter((s) => s.name === SPAN_NAME_FEEDBACK);
}

describe('recordFeedback', () => {
  it('links the feedback span to the judged call when given its span context', () => {
    recordFeedback(callSpan, 0.8);
    const [span, ...rest] = feedbackSpans();
    expect(rest).toHaveLength(0);
    expect(span?.kind).toBe(SpanKind.INTERNAL);
    expect(span?.instrumentationScope.name).toBe('@switchyard/instrumentation');
    expect(span?.attributes).toEqual({
      'switchyard.feedback.score': 0.8,
      'switchyard.feedback.source': 'app',
    });
    expect(span?.links).toHaveLength(1);
    expect(span?.links[0]?.context).toEqual(callSpan);
  });

  it('carries the response id when given one, with the caller-chosen source', () => {
    recordFeedback('chatcmpl-abc123', 0, { source: 'reviewer' });
    const [span] = feedbackSpans();
    expect(span?.links).toHaveLength(0);
    expect(span?.attributes).toEqual({
      'switchyard.feedback.score': 0,
      'switchyard.feedback.source': 'reviewer',
      'switchyard.feedback.response_id': 'chatcmpl-abc123',
    });
  });

  it('records who judged when called inside withAgent, as a child of that agent step', async () => {
    await withAgent({ name: 'refine', task: 'review' }, async () => {
      await Promise.resolve();
      recordFeedback('resp_1', 1, { source: 'validator' });
    });
    const [span] = feedbackSpans();
    const agentSpan = exporter.getFinishedSpans().find((s) => s.name === 'invoke_agent refine');
    expect(span?.attributes).toEqual({
      'switchyard.feedback.score': 1,
      'switchyard.feedback.source': 'validator',
      'switchyard.feedback.response_id': 'resp_1',
      'gen_ai.agent.name': 'refine',
      'switchyard.task.type': 'review',
    });
    expect(span?.parentSpanContext?.spanId).toBe(agentSpan?.spanContext().spanId);
  });

  it('falls back to baggage set by an upstream service', () => {
    const baggage = propagation.createBaggage({
      'switchyard.agent': { value: 'outline' },
      'switchyard.task': { value: 'plan' },
    });
    context.with(propagation.setBaggage(context.active(), baggage), () => {
      recordFeedback(callSpan, 0.5);
    });
    const [span] = feedbackSpans();
    expect(span?.attributes['gen_ai.agent.name']).toBe('outline');
    expect(span?.attributes['switchyard.task.type']).toBe('plan');
  });

  it.each([-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY, '0.5', undefined])(
    'rejects the score %s with a RangeError and emits nothing',
    (score) => {
      expect(() => recordFeedback(callSpan, score as number)).toThrow(RangeError);
      expect(() => recordFeedback(callSpan, score as number)).toThrow(
        /score must be a number from 0 to 1/,
      );
      expect(feedbackSpans()).toHaveLength(0);
    },
  );

  it('rejects targets that cannot be joined to a call', () => {
    expect(() => recordFeedback('', 1)).toThrow(/response id is empty/);
    const invalid = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };
    expect(() => recordFeedback(invalid, 1)).toThrow(/valid SpanContext/);
    expect(() => recordFeedback(null as unknown as string, 1)).toThrow(TypeError);
    expect(() => recordFeedback(callSpan, 1, { source: '' })).toThrow(/options.source/);
    expect(feedbackSpans()).toHaveLength(0);
  });
});
