import { type Attributes, type Context, diag, type Span, SpanStatusCode } from '@opentelemetry/api';
import type { GenAiMetrics } from '../metrics.js';
import type { PriceTable } from '../pricing/price-table.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
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
  GEN_AI_PROVIDER_OPENAI,
  HEADER_SWITCHYARD_CACHE,
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
} from '../semconv.js';
import type { AgentScope } from './agent-scope.js';
import { TextBudget } from './content-capture.js';
import {
  type ApiPromiseLike,
  isApiPromise,
  isStream,
  type ResponsePropsLike,
  readHeader,
  type StreamLike,
} from './openai-shapes.js';
import type { CallOutcome, OperationSpec } from './operations.js';

/** Settings fixed at construction and shared by every call of one instrumentation. */
export interface CallSettings {
  readonly captureContent: boolean;
  readonly maxContentLength: number;
  readonly includeStreamUsage: boolean;
  readonly priceTable: PriceTable;
  readonly metrics: GenAiMetrics | undefined;
  readonly now: () => number;
}

const ABORT_ERROR_TYPE = 'APIUserAbortError';

/**
 * One observed model call, from request to the end of its span. It watches the SDK's own promise
 * and stream objects and never replaces them, and it ends the span exactly once.
 */
export class ModelCall {
  readonly outcome: CallOutcome = {};
  private ended = false;
  private response: ResponsePropsLike['response'];
  private responseArrived = false;
  private rawOnly = false;
  private parseStarted = false;
  private streaming = false;
  private iteratorTaken = false;
  private firstChunkAt = -1;
  private errorType: string | undefined;
  private errorMessage: string | undefined;

  constructor(
    private readonly settings: CallSettings,
    private readonly spec: OperationSpec,
    private readonly span: Span,
    /** The caller's context with this call's span in it. */
    readonly context: Context,
    private readonly startedAt: number,
    private readonly requestModel: string,
    private readonly scope: AgentScope | undefined,
    private readonly hideUsageChunk: boolean,
  ) {}

  /** Watches what the SDK's `create` returned; never throws. */
  observe(result: unknown): void {
    try {
      if (isApiPromise(result)) this.observePromise(result);
      else this.observeValue(result);
    } catch (error) {
      this.ownError(error);
    }
  }

  /** Watches the `APIPromise` the SDK returned, without consuming or replacing it. */
  observePromise(promise: ApiPromiseLike): void {
    promise.responsePromise.then(
      (props) => this.run(this.onResponse, props),
      (error: unknown) => this.run(this.fail, error),
    );
    const parseResponse = promise.parseResponse;
    const call = this;
    // The body is parsed only when the caller asks for it (then / withResponse / a helper built
    // with _thenUnwrap); reading the result here therefore never parses a body nobody wanted.
    promise.parseResponse = function observedParseResponse(this: unknown, ...args: unknown[]) {
      const parsed = parseResponse.apply(this, args);
      call.run(call.onParsed, parsed);
      return parsed;
    };
    const thenUnwrap = promise._thenUnwrap;
    if (typeof thenUnwrap === 'function' && Object.hasOwn(promise, '_thenUnwrap')) {
      // SDK 7 builds derived promises (the parse and stream helpers use them) from a captured
      // parser instead of `this.parseResponse`, so the derivation itself must be watched.
      promise._thenUnwrap = function observedThenUnwrap(
        this: unknown,
        transform: (result: unknown, props: unknown) => unknown,
      ) {
        return thenUnwrap.call(this, (result: unknown, props: unknown) => {
          call.run(call.onParsedValue, result);
          return transform(result, props);
        });
      };
    }
    const asResponse = promise.asResponse;
    promise.asResponse = function observedAsResponse(this: ApiPromiseLike) {
      // `withResponse()` calls parse() before asResponse(); only a bare asResponse() means the
      // caller reads the raw body itself, so the span must end without a parsed answer.
      if (promise.parsedPromise === undefined && !call.parseStarted) {
        call.guard(() => call.markRawOnly());
      }
      return asResponse.call(this);
    };
  }

  /** Watches a return value that is not an `APIPromise` (a future SDK shape): a plain thenable or value. */
  observeValue(value: unknown): void {
    if (isThenable(value)) {
      value.then(
        (result) => this.run(this.onResult, result),
        (error: unknown) => this.run(this.fail, error),
      );
    } else {
      this.onResult(value);
    }
  }

  /** Ends the span with an error, as when the SDK call threw synchronously. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.recordError(error);
    this.finish();
  }

  /** Runs instrumentation code so that its own failures never reach the caller. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.ownError(error);
    }
  }

  /** `guard` for one method and argument, without allocating a closure on the hot path. */
  run<A>(method: (this: ModelCall, arg: A) => void, arg: A): void {
    try {
      method.call(this, arg);
    } catch (error) {
      this.ownError(error);
    }
  }

  /** A failure of our own code: logged, and the span ended so it is never left open. */
  private ownError(error: unknown): void {
    diag.error('@switchyard/instrumentation: failed to record a model call', error);
    if (!this.ended) {
      this.ended = true;
      try {
        this.span.end();
      } catch {
        // The span is lost; the call itself is unaffected.
      }
    }
  }

  private onResponse(props: ResponsePropsLike): void {
    this.responseArrived = true;
    this.response = props?.response;
    if (this.rawOnly && !this.parseStarted) this.finish();
  }

  private markRawOnly(): void {
    this.rawOnly = true;
    if (this.responseArrived && !this.parseStarted) this.finish();
  }

  private onParsed(parsed: unknown): void {
    if (this.parseStarted) return;
    this.parseStarted = true;
    if (isThenable(parsed)) {
      // Registered before the SDK adopts `parsed` into its own promise, so a stream is wrapped
      // before the caller can touch it.
      parsed.then(
        (value) => this.run(this.onResult, value),
        (error: unknown) => this.run(this.fail, error),
      );
    } else {
      this.onResult(parsed);
    }
  }

  private onParsedValue(value: unknown): void {
    if (this.parseStarted) return;
    this.parseStarted = true;
    this.onResult(value);
  }

  private onResult(result: unknown): void {
    if (this.ended) return;
    if (isStream(result)) {
      this.observeStream(result);
      return;
    }
    this.spec.readResult(result, this.outcome);
    if (this.settings.captureContent) this.captureOutput(result);
    this.finish();
  }

  private observeStream(stream: StreamLike): void {
    this.streaming = true;
    const iterator = stream.iterator;
    const call = this;
    // tee(), toReadableStream() and for-await all obtain their iterator through this property.
    stream.iterator = function observedIterator(this: unknown) {
      const inner = iterator.call(this);
      if (call.iteratorTaken || call.ended) return inner;
      call.iteratorTaken = true;
      return call.wrapIterator(inner, stream);
    };
  }

  private wrapIterator(inner: AsyncIterator<unknown>, stream: StreamLike): AsyncIterator<unknown> {
    const call = this;
    // Chained: the usage chunk the caller did not ask for is swallowed, so each step goes through
    // our own promise. Only calls that added `include_usage` themselves need this.
    const onStep = (
      step: IteratorResult<unknown>,
    ): IteratorResult<unknown> | Promise<IteratorResult<unknown>> => {
      if (step.done) {
        call.run(call.streamDone, stream);
        return step;
      }
      let hide = false;
      try {
        hide = call.onChunk(step.value);
      } catch (error) {
        // As in guard(), without a closure per chunk.
        call.ownError(error);
      }
      return hide ? inner.next().then(onStep, onError) : step;
    };
    const onError = (error: unknown): never => {
      call.run(call.fail, error);
      throw error;
    };
    // Tapped: every other stream hands the caller the SDK's own promise of each step and reads the
    // step beside it. Our reaction is registered first, so it has seen a chunk (and ended the span
    // on the last step) before the caller's code runs; it never throws, so its derived promise
    // never rejects.
    const onTap = (step: IteratorResult<unknown>): void => {
      if (step.done) call.run(call.streamDone, stream);
      else call.run(call.onChunk, step.value);
    };
    const onTapError = (error: unknown): void => {
      call.run(call.fail, error);
    };
    const hideUsageChunk = this.hideUsageChunk;
    const wrapped: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      next(...args: [] | [unknown]) {
        const step = inner.next(...args);
        if (hideUsageChunk) return step.then(onStep, onError);
        step.then(onTap, onTapError);
        return step;
      },
      return(value?: unknown) {
        // The caller stopped early (break, return or throw in a for-await body): a normal end.
        call.guard(() => call.finish());
        return inner.return ? inner.return(value) : Promise.resolve({ done: true, value });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    if (inner.throw) {
      const innerThrow = inner.throw.bind(inner);
      wrapped.throw = (error?: unknown) => {
        call.run(call.fail, error);
        return innerThrow(error);
      };
    }
    return wrapped;
  }

  private onChunk(chunk: unknown): boolean {
    if (this.ended) return false;
    if (this.firstChunkAt < 0) this.firstChunkAt = this.settings.now();
    const usageOnly = this.spec.readChunk(chunk, this.outcome, this.settings.captureContent);
    return usageOnly && this.hideUsageChunk;
  }

  private streamDone(stream: StreamLike): void {
    if (this.ended) return;
    // The SDK ends a stream quietly when its request is aborted; that is not a complete answer.
    if (stream.controller?.signal?.aborted === true) {
      this.errorType = ABORT_ERROR_TYPE;
      this.errorMessage = 'Request was aborted.';
    }
    if (this.settings.captureContent) this.captureStreamOutput();
    this.finish();
  }

  private recordError(error: unknown): void {
    const name = errorName(error);
    const message = error instanceof Error ? error.message : String(error);
    this.errorType = errorTypeOf(error, name);
    this.errorMessage = message;
    // Message and class only: no stack, and never the request (the prompt) that failed.
    this.span.recordException({ name, message });
    const headers = (error as { headers?: unknown } | null)?.headers;
    if (headers !== undefined) this.readSwitchyardHeaders(headers);
  }

  private captureOutput(result: unknown): void {
    const budget = new TextBudget(this.settings.maxContentLength);
    const messages = this.spec.outputMessages(result, budget);
    if (messages.length > 0) {
      this.span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, JSON.stringify(messages));
    }
  }

  private captureStreamOutput(): void {
    const budget = new TextBudget(this.settings.maxContentLength);
    const messages = this.spec.streamOutputMessages(this.outcome, budget);
    if (messages.length > 0) {
      this.span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, JSON.stringify(messages));
    }
  }

  private readSwitchyardHeaders(headers: unknown): void {
    const model = readHeader(headers, HEADER_SWITCHYARD_MODEL);
    if (model !== undefined) this.span.setAttribute(ATTR_SWITCHYARD_ROUTE_MODEL, model);
    const rule = readHeader(headers, HEADER_SWITCHYARD_RULE);
    if (rule !== undefined) this.span.setAttribute(ATTR_SWITCHYARD_ROUTE_RULE_ID, rule);
    const cache = readHeader(headers, HEADER_SWITCHYARD_CACHE);
    if (cache !== undefined) this.span.setAttribute(ATTR_SWITCHYARD_CACHE_STATUS, cache);
    const reason = readHeader(headers, HEADER_SWITCHYARD_ROUTE_REASON);
    if (reason !== undefined) this.span.setAttribute(ATTR_SWITCHYARD_ROUTE_REASON, reason);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    const endedAt = this.settings.now();
    let costUsd: number | undefined;
    try {
      costUsd = this.setFinalAttributes();
    } finally {
      // Ended even when recording failed: a span is never left open by our own error.
      this.span.end();
    }
    const metrics = this.settings.metrics;
    if (metrics !== undefined) {
      const out = this.outcome;
      metrics.record({
        operation: this.spec.operation,
        provider: GEN_AI_PROVIDER_OPENAI,
        requestModel: this.requestModel,
        responseModel: out.responseModel,
        agent: this.scope?.agent,
        task: this.scope?.task,
        errorType: this.errorType,
        durationS: (endedAt - this.startedAt) / 1000,
        inputTokens: out.inputTokens,
        outputTokens: out.outputTokens,
        costUsd,
      });
    }
  }

  /** Sets everything learned from the answer on the span; returns the cost when known. */
  private setFinalAttributes(): number | undefined {
    const span = this.span;
    const out = this.outcome;
    if (this.response?.headers !== undefined) this.readSwitchyardHeaders(this.response.headers);

    const attributes: Attributes = {};
    if (out.responseId !== undefined) attributes[ATTR_GEN_AI_RESPONSE_ID] = out.responseId;
    if (out.responseModel !== undefined) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = out.responseModel;
    if (out.finishReasons !== undefined) {
      const reasons = out.finishReasons.filter((r) => r !== undefined);
      if (reasons.length > 0) attributes[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = reasons;
    }
    if (out.inputTokens !== undefined) attributes[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = out.inputTokens;
    if (out.outputTokens !== undefined)
      attributes[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = out.outputTokens;
    if (out.cachedInputTokens !== undefined) {
      attributes[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = out.cachedInputTokens;
    }
    if (out.reasoningTokens !== undefined) {
      attributes[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = out.reasoningTokens;
    }
    if (this.streaming && this.firstChunkAt >= 0) {
      attributes[ATTR_SWITCHYARD_STREAM_TIME_TO_FIRST_CHUNK] =
        (this.firstChunkAt - this.startedAt) / 1000;
    }
    if (this.errorType === undefined && out.failure !== undefined) {
      this.errorType = out.failure.type;
      this.errorMessage = out.failure.message;
    }
    if (this.errorType !== undefined) {
      attributes[ATTR_ERROR_TYPE] = this.errorType;
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.errorMessage ?? '' });
    }

    // One setAttributes for usage and cost together; a failing price table still leaves the usage
    // on the span (its error surfaces after the attributes are set).
    let cost: ReturnType<PriceTable['cost']>;
    let pricingError: unknown;
    const table = this.settings.priceTable;
    if (out.inputTokens !== undefined || out.outputTokens !== undefined) {
      try {
        cost = table.cost(out.responseModel ?? this.requestModel, {
          inputTokens: out.inputTokens ?? 0,
          outputTokens: out.outputTokens ?? 0,
          cacheReadInputTokens: out.cachedInputTokens,
        });
      } catch (error) {
        pricingError = error;
      }
    }
    if (cost !== undefined) {
      attributes[ATTR_SWITCHYARD_COST_USD] = cost.totalUsd;
      attributes[ATTR_SWITCHYARD_COST_INPUT_USD] = cost.inputUsd;
      attributes[ATTR_SWITCHYARD_COST_OUTPUT_USD] = cost.outputUsd;
      attributes[ATTR_SWITCHYARD_COST_CACHE_READ_USD] = cost.cacheReadUsd;
      attributes[ATTR_SWITCHYARD_PRICING_VERSION] = table.version;
    }
    span.setAttributes(attributes);
    if (pricingError !== undefined) throw pricingError;
    return cost?.totalUsd;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const ctorName = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctorName === 'string' && ctorName !== '' && ctorName !== 'Object') return ctorName;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'Error';
}

// `error.type` must stay low-cardinality: the HTTP status when the server answered, else the SDK's
// error class (APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, …).
function errorTypeOf(error: unknown, name: string): string {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') return String(status);
  return name;
}
