// Realistic OTLP batches for the span intake benchmark: spans made by the real SDK with the
// attributes the instrumentation writes, serialized exactly as the OTLP exporters send them.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import * as sc from '@switchyard/instrumentation/semconv';

export const SPANS_PER_BATCH = 512;

// Every trace id starts with a marker so each pass can stamp fresh ids into the same bytes:
// the learner then sees new calls every batch, as in production, instead of duplicates.
export const MARKER_HEX = 'f00dfeed';
export const MARKER_BYTES = Buffer.from(MARKER_HEX, 'hex');
export const MARKER_TEXT = Buffer.from(MARKER_HEX, 'latin1');
const hex = (n, width) => n.toString(16).padStart(width, '0');
let idCounter = 0;
const idGenerator = {
  generateTraceId: () => `${MARKER_HEX}00000000${hex(++idCounter, 16)}`,
  generateSpanId: () => hex(++idCounter, 16),
};

const AGENTS = ['research', 'outline', 'draft', 'refine'];
const TASKS = ['search', 'summarize', 'plan', 'write', 'polish', 'classify'];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini'];

/** One batch of SPANS_PER_BATCH spans; `seed` varies the mix and the times. */
export function makeBatch(seed) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    idGenerator,
    resource: resourceFromAttributes({
      'service.name': 'content-pipeline',
      'service.version': '1.4.2',
      'deployment.environment.name': 'prod',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const agents = provider.getTracer(sc.SCOPE_INSTRUMENTATION, '0.1.0');
  const http = provider.getTracer('@opentelemetry/instrumentation-http', '0.223.0');
  const t0 = 1_764_000_000_000 + seed * 60_000;
  const calls = [];
  for (let i = 0; i < SPANS_PER_BATCH; i++) {
    const r = (i * 7919 + seed * 104729) % 100;
    const start = t0 + i * 37;
    if (r < 70) {
      const model = MODELS[i % MODELS.length];
      const responseId = `chatcmpl-${MARKER_HEX}00000000-${seed}-${i}`;
      const span = agents.startSpan(`chat ${model}`, {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_CHAT,
          [sc.ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
          [sc.ATTR_GEN_AI_REQUEST_MODEL]: model,
          [sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 1024,
          [sc.ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.3,
          [sc.ATTR_GEN_AI_REQUEST_TOP_P]: 1,
          [sc.ATTR_GEN_AI_RESPONSE_MODEL]: `${model}-2024-08-06`,
          [sc.ATTR_GEN_AI_RESPONSE_ID]: responseId,
          [sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [r < 5 ? 'length' : 'stop'],
          [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 800 + ((i * 31) % 3000),
          [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 100 + ((i * 17) % 900),
          [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: (i * 13) % 512,
          [sc.ATTR_GEN_AI_AGENT_NAME]: AGENTS[i % AGENTS.length],
          [sc.ATTR_SWITCHYARD_TASK_TYPE]: TASKS[i % TASKS.length],
          [sc.ATTR_SWITCHYARD_COST_USD]: 0.000125 * (1 + (i % 40)),
          [sc.ATTR_SWITCHYARD_COST_INPUT_USD]: 0.0001 * (1 + (i % 40)),
          [sc.ATTR_SWITCHYARD_COST_OUTPUT_USD]: 0.000025 * (1 + (i % 40)),
          [sc.ATTR_SWITCHYARD_PRICING_VERSION]: '2026-11-01',
          [sc.ATTR_SERVER_ADDRESS]: 'switchyard.internal',
          [sc.ATTR_SERVER_PORT]: 8080,
          [sc.ATTR_SWITCHYARD_ROUTE_MODEL]: i % 3 === 0 ? 'gpt-4o-mini' : model,
          [sc.ATTR_SWITCHYARD_ROUTE_REASON]: i % 3 === 0 ? 'rule' : 'default',
          [sc.ATTR_SWITCHYARD_CACHE_STATUS]: i % 9 === 0 ? 'hit-memory' : 'miss',
        },
      });
      if (r === 1) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(start + 400 + (i % 2000));
      calls.push({ span, responseId });
    } else if (r < 80 && calls.length > 0) {
      // Feedback for a recent call: by link or by response id, like recordFeedback().
      const target = calls[calls.length - 1 - (i % Math.min(calls.length, 8))];
      const byLink = i % 2 === 0;
      const span = agents.startSpan(sc.SPAN_NAME_FEEDBACK, {
        kind: SpanKind.INTERNAL,
        startTime: start,
        attributes: {
          [sc.ATTR_SWITCHYARD_FEEDBACK_SCORE]: (i % 10) / 10,
          [sc.ATTR_SWITCHYARD_FEEDBACK_SOURCE]: 'reviewer',
          [sc.ATTR_GEN_AI_AGENT_NAME]: 'refine',
          ...(byLink ? {} : { [sc.ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID]: target.responseId }),
        },
        links: byLink ? [{ context: target.span.spanContext() }] : [],
      });
      span.end(start);
    } else if (r < 90) {
      const span = agents.startSpan(`invoke_agent ${AGENTS[i % 4]}`, {
        kind: SpanKind.INTERNAL,
        startTime: start,
        attributes: {
          [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.GEN_AI_OPERATION_INVOKE_AGENT,
          [sc.ATTR_GEN_AI_AGENT_NAME]: AGENTS[i % 4],
          [sc.ATTR_SWITCHYARD_WORKFLOW_NAME]: 'content-pipeline',
        },
      });
      span.end(start + 3000);
    } else {
      const span = http.startSpan('POST /v1/chat/completions', {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'http.request.method': 'POST',
          'url.full': 'http://switchyard.internal:8080/v1/chat/completions',
          'server.address': 'switchyard.internal',
          'server.port': 8080,
          'network.protocol.version': '1.1',
          'http.response.status_code': 200,
          'http.request.header.content-type': ['application/json'],
          'user_agent.original': 'OpenAI/JS 6.49.0',
          'network.peer.address': '10.0.3.7',
          'network.peer.port': 8080,
        },
      });
      span.end(start + 420);
    }
  }
  const spans = memory.getFinishedSpans();
  return {
    spans: spans.length,
    protobuf: Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)),
    json: Buffer.from(JsonTraceSerializer.serializeRequest(spans)),
  };
}
