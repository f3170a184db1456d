/**
 * Shared by the intake tests: spans made by the real OpenTelemetry SDK with the attributes the
 * instrumentation writes, a recording learner sink, and the intake on a real socket.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attributes, type Link, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SWITCHYARD_CACHE_STATUS,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_PRICING_VERSION,
  ATTR_SWITCHYARD_ROUTE_MODEL,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_ROUTE_RULE_ID,
  ATTR_SWITCHYARD_TASK_TYPE,
  GEN_AI_OPERATION_CHAT,
  SCOPE_INSTRUMENTATION,
  SPAN_NAME_FEEDBACK,
} from '@switchyard/instrumentation/semconv';
import {
  createTraceIntake,
  type TraceIntake,
  type TraceIntakeOptions,
} from '../src/intake/trace-intake.js';
import type { LearningSink, LlmCallRecord, QualityVerdict } from '../src/learning/llm-call.js';

/** A learner stand-in that keeps everything it is given. */
export class RecordingSink implements LearningSink {
  readonly calls: LlmCallRecord[] = [];
  readonly verdicts: { call: LlmCallRecord; verdict: QualityVerdict }[] = [];
  recordCall(call: LlmCallRecord): void {
    this.calls.push(call);
  }
  recordVerdict(call: LlmCallRecord, verdict: QualityVerdict): void {
    this.verdicts.push({ call, verdict });
  }
}

/** Spans made by the real SDK, collected in memory so a test can export them any way. */
export class SpanFactory {
  private readonly memory = new InMemorySpanExporter();
  private readonly provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.memory)],
  });

  tracer(scope: string = SCOPE_INSTRUMENTATION) {
    return this.provider.getTracer(scope, '0.1.0');
  }

  /** A finished span; times in epoch milliseconds. */
  span(opts: {
    name: string;
    kind?: SpanKind;
    attributes?: Attributes;
    links?: Link[];
    startMs?: number;
    endMs?: number;
    error?: boolean;
    scope?: string;
  }): ReadableSpan {
    const startMs = opts.startMs ?? 1_764_000_000_000;
    const span = this.tracer(opts.scope).startSpan(opts.name, {
      kind: opts.kind ?? SpanKind.INTERNAL,
      attributes: opts.attributes,
      links: opts.links,
      startTime: startMs,
    });
    if (opts.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    span.end(opts.endMs ?? startMs + 100);
    const finished = this.memory.getFinishedSpans();
    const last = finished[finished.length - 1]!;
    return last;
  }

  /** A `chat` client span as the instrumentation writes it (about 20 attributes). */
  chat(opts: {
    agent?: string;
    task?: string;
    model?: string;
    servedModel?: string;
    responseId?: string;
    inputTokens?: number;
    outputTokens?: number;
    cost?: number;
    finishReasons?: string[];
    routeReason?: string;
    ruleId?: string;
    cacheStatus?: string;
    error?: boolean;
    errorType?: string;
    startMs?: number;
    endMs?: number;
    scope?: string;
    kind?: SpanKind;
    extra?: Attributes;
  }): ReadableSpan {
    const model = opts.model ?? 'gpt-4o';
    const attributes: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_CHAT,
      [ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
      [ATTR_GEN_AI_REQUEST_MODEL]: model,
      [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 512,
      [ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.2,
      [ATTR_GEN_AI_RESPONSE_MODEL]: `${opts.servedModel ?? model}-2024-08-06`,
      [ATTR_GEN_AI_RESPONSE_ID]: opts.responseId ?? 'chatcmpl-1',
      [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: opts.finishReasons ?? ['stop'],
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: opts.inputTokens ?? 1200,
      [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: opts.outputTokens ?? 340,
      [ATTR_GEN_AI_AGENT_NAME]: opts.agent ?? 'research',
      [ATTR_SWITCHYARD_TASK_TYPE]: opts.task ?? 'summarize',
      [ATTR_SWITCHYARD_COST_USD]: opts.cost ?? 0.0064,
      [ATTR_SWITCHYARD_PRICING_VERSION]: '2026-11',
      [ATTR_SERVER_ADDRESS]: '127.0.0.1',
      [ATTR_SERVER_PORT]: 8080,
      ...opts.extra,
    };
    if (opts.servedModel !== undefined) attributes[ATTR_SWITCHYARD_ROUTE_MODEL] = opts.servedModel;
    if (opts.routeReason !== undefined) attributes[ATTR_SWITCHYARD_ROUTE_REASON] = opts.routeReason;
    if (opts.ruleId !== undefined) attributes[ATTR_SWITCHYARD_ROUTE_RULE_ID] = opts.ruleId;
    if (opts.cacheStatus !== undefined) {
      attributes[ATTR_SWITCHYARD_CACHE_STATUS] = opts.cacheStatus;
    }
    if (opts.errorType !== undefined) attributes[ATTR_ERROR_TYPE] = opts.errorType;
    return this.span({
      name: `chat ${model}`,
      kind: opts.kind ?? SpanKind.CLIENT,
      attributes,
      startMs: opts.startMs,
      endMs: opts.endMs,
      error: opts.error,
      scope: opts.scope,
    });
  }

  /** A feedback span as `recordFeedback` writes it: by link or by response id. */
  feedback(opts: { score: number; source?: string; call?: ReadableSpan; responseId?: string }) {
    const attributes: Attributes = {
      [ATTR_SWITCHYARD_FEEDBACK_SCORE]: opts.score,
      [ATTR_SWITCHYARD_FEEDBACK_SOURCE]: opts.source ?? 'reviewer',
    };
    if (opts.responseId !== undefined) {
      attributes[ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID] = opts.responseId;
    }
    const links: Link[] | undefined = opts.call
      ? [{ context: opts.call.spanContext() }]
      : undefined;
    return this.span({ name: SPAN_NAME_FEEDBACK, attributes, links, startMs: 1_764_000_005_000 });
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** The intake on a real socket, as the sidecar serves it. */
export interface IntakeServer {
  readonly url: string;
  readonly intake: TraceIntake;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startIntake(options: TraceIntakeOptions): Promise<IntakeServer> {
  const intake = createTraceIntake(options);
  const server = createServer((req, res) => {
    void intake.handle(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    intake,
    server,
    close: async () => {
      await intake.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
