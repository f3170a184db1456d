/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: validate, route, answer from the cache
 * or coalesce, call the upstream (with fallback to the requested model when a routed model
 * fails), and pass the answer back — streams chunk by chunk.
 *
 * Work is proportional to the features in use: without rules the router returns at once;
 * without a cacheable request no key is hashed; without a tracer no span is touched; the body
 * goes upstream as the very bytes received unless the router changed the model.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SWITCHYARD_CACHE_STATUS,
  ATTR_SWITCHYARD_COST_SAVED_USD,
  ATTR_SWITCHYARD_COST_USD,
  ATTR_SWITCHYARD_PRICING_VERSION,
  ATTR_SWITCHYARD_ROUTE_MODEL,
  ATTR_SWITCHYARD_ROUTE_REASON,
  ATTR_SWITCHYARD_ROUTE_REQUESTED_MODEL,
  ATTR_SWITCHYARD_ROUTE_RULE_ID,
  ATTR_SWITCHYARD_TASK_TYPE,
  CACHE_STATUSES,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_PROVIDER_OPENAI,
  HEADER_SWITCHYARD_CACHE_CONTROL,
  ROUTE_REASONS,
  type RouteReason,
  SPAN_NAME_SIDECAR_CACHE_LOOKUP,
} from '@switchyard/instrumentation/semconv';
import { cacheKey } from '../cache/cache-key.js';
import { cacheDecision, parseCacheMode } from '../cache/cache-policy.js';
import type { CachedResponse } from '../cache/cached-response.js';
import type { CacheLookup } from '../cache/tiered-cache.js';
import { sendErrorWith, toSwitchyardError } from '../errors/error-response.js';
import { BadRequestError, SwitchyardError, UpstreamError } from '../errors/switchyard-error.js';
import { readBody } from '../http/read-body.js';
import type { RequestHandler } from '../http/request-handler.js';
import { estimatePromptTokens, messageText } from '../routing/prompt-text.js';
import type { RouteDecision } from '../routing/router.js';
import type { CounterSeries } from '../telemetry/prometheus-registry.js';
import { startServerSpan } from '../telemetry/sidecar-tracing.js';
import { Cancellation, type CancelSignal } from '../upstream/cancellation.js';
import type { UpstreamTarget } from '../upstream/provider-registry.js';
import {
  ClientAbortedError,
  readUpstreamBody,
  type UpstreamResponse,
} from '../upstream/upstream-client.js';
import { callerContext, tenantOf } from './caller-context.js';
import { Exchange } from './exchange.js';
import { looksLikeJsonObject, scanUsage } from './json-answer.js';
import type { ProducedAnswer } from './produced-answer.js';
import type { ProxyDeps } from './proxy-deps.js';
import { parseJsonBody, validateChatBody, validateEmbeddingsBody } from './request-validation.js';
import type { RoutedAnswerHook } from './routed-answer.js';
import { type ObservedUsage, readUsage, StreamObserver } from './stream-observer.js';
import { passBackHeaders, upstreamRequestHeaders } from './upstream-headers.js';

export type CompletionEndpoint = 'chat' | 'embeddings';

// An upstream answer larger than this is refused rather than held in memory.
const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

const DEFAULT_ROUTE: Pick<RouteDecision, 'reason'> = { reason: 'default' };

/** What one request needs while it is produced. */
interface Work {
  readonly x: Exchange;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requested: string;
  readonly decision: RouteDecision;
  readonly raw: Buffer;
  readonly body: Record<string, unknown>;
  readonly stream: boolean;
  /** Set when the answer goes into the cache under this key. */
  readonly storeKey: string | undefined;
  readonly signal: CancelSignal;
  readonly ctx: Context | undefined;
  /** The upstream stream being piped, so a client abort can resume it (it may be paused). */
  piping: IncomingMessage | undefined;
}

class FallbackNeeded extends Error {}

/** A routed model's failure that the requested model may not share: try the requested one. */
function shouldFallBack(status: number): boolean {
  return status >= 400 && status !== 401 && status !== 403;
}

/**
 * Builds the handler for one endpoint.
 *
 * @example
 * const chat = createCompletionHandler(deps, 'chat');
 * http.createServer((req, res) => void chat(req, res));
 */
export function createCompletionHandler(
  deps: ProxyDeps,
  endpoint: CompletionEndpoint,
): RequestHandler {
  const cfg = deps.config;
  const path = endpoint === 'chat' ? '/v1/chat/completions' : '/v1/embeddings';
  const upstreamPath = endpoint === 'chat' ? '/chat/completions' : '/embeddings';
  const operation = endpoint === 'chat' ? GEN_AI_OPERATION_CHAT : GEN_AI_OPERATION_EMBEDDINGS;
  const validate = endpoint === 'chat' ? validateChatBody : validateEmbeddingsBody;
  const { metrics, logger, tracer } = deps;
  const inflight = metrics.inflight.series();
  const observeDuration = metrics.duration.series([path]);
  // Label values come from closed sets (cache statuses, route reasons); one series handle each.
  const lookupsBy = new Map(CACHE_STATUSES.map((c) => [c, metrics.cacheLookups.series([c])]));
  const decisionsBy = new Map(ROUTE_REASONS.map((r) => [r, metrics.routeDecisions.series([r])]));
  // Series handles per status code, so recording a request is a Map lookup and an addition.
  const byStatus = new Map<number, CounterSeries>();
  const requestsFor = (status: number): CounterSeries => {
    let s = byStatus.get(status);
    if (s === undefined) {
      s = metrics.requests.series([path, String(status)]);
      byStatus.set(status, s);
    }
    return s;
  };

  return async function handleCompletion(req, res): Promise<void> {
    const x = new Exchange(requestIdOf(req, deps.newRequestId), deps.clock());
    inflight.inc(1);
    try {
      await serve(x, req, res);
    } catch (error) {
      if (error instanceof ClientAbortedError || (x.clientGone && !res.headersSent)) {
        if (!res.destroyed) res.destroy();
      } else {
        const e = toSwitchyardError(error);
        if (!(error instanceof SwitchyardError)) {
          // An unexpected bug: log its class only; its message could quote the request.
          logger.log('error', 'unexpected error while proxying', {
            requestId: x.requestId,
            error: error instanceof Error ? error.name : typeof error,
          });
        }
        x.errorType = e.code ?? e.type;
        sendErrorWith(res, e, x.answerHeaders());
      }
    } finally {
      inflight.inc(-1);
      try {
        finish(x, req, res);
      } catch {
        // Bookkeeping (metrics, log, span) must never turn into an unhandled rejection.
      }
    }
  };

  async function serve(x: Exchange, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cancellation = new Cancellation();
    let work: Work | undefined;
    res.once('close', () => {
      if (res.writableFinished) return;
      x.clientGone = true;
      // An answer that feeds the cache is worth finishing; anything else is cancelled.
      if (work?.storeKey === undefined) cancellation.cancel();
      else work.piping?.resume();
    });

    const raw = await readBody(req, cfg.maxBodyBytes);
    const body = parseJsonBody(raw);
    const requested = validate(body);
    x.requestedModel = requested;
    const stream = endpoint === 'chat' && body.stream === true;
    x.stream = stream;
    const modeHeader = req.headers[HEADER_SWITCHYARD_CACHE_CONTROL];
    const requestMode = parseCacheMode(typeof modeHeader === 'string' ? modeHeader : undefined);
    if (requestMode === null) {
      throw new BadRequestError(
        `Invalid ${HEADER_SWITCHYARD_CACHE_CONTROL} header: expected default, no-store or force.`,
        { param: HEADER_SWITCHYARD_CACHE_CONTROL, code: 'invalid_header' },
      );
    }
    const caller = callerContext(req.headers);
    x.agent = caller.agent;
    x.task = caller.task;
    const decision: RouteDecision =
      endpoint === 'chat'
        ? deps.router.route({
            agent: caller.agent,
            task: caller.task,
            model: requested,
            promptTokens: () => estimatePromptTokens(body.messages),
            messageText: () => messageText(body.messages),
          })
        : { model: requested, ...DEFAULT_ROUTE };
    x.routedModel = decision.model;
    x.reason = decision.reason;
    x.ruleId = decision.ruleId;

    let ctx: Context | undefined;
    if (tracer !== undefined) {
      const started = startServerSpan(tracer, `${operation} ${requested}`, req.headers);
      x.span = started.span;
      ctx = started.context;
      requestAttributes(started.span, body);
    }

    let storeKey: string | undefined;
    if (
      deps.cache !== undefined &&
      cacheDecision(body, requestMode, decision.cacheMode, cfg.cache.mode) === 'store'
    ) {
      storeKey = cacheKey({
        tenant: tenantOf(req.headers),
        endpoint: path,
        model: decision.model,
        body,
      });
      const hit = await lookup(storeKey, ctx);
      if (hit !== undefined && hit.entry.stream === stream && hit.entry.status === 200) {
        x.cacheStatus = hit.status;
        x.servedModel = hit.entry.model;
        // An answer stored after a fallback says so again when it is replayed.
        if (hit.entry.model !== decision.model) x.reason = 'fallback';
        x.usage = tokensOf(hit.entry);
        replay(x, res, hit.entry, undefined);
        return;
      }
      x.cacheStatus = 'miss';
    }

    work = {
      x,
      req,
      res,
      requested,
      decision,
      raw,
      body,
      stream,
      storeKey,
      signal: cancellation,
      ctx,
      piping: undefined,
    };
    if (storeKey === undefined) {
      const answer = await produce(work);
      if (!answer.written) replay(x, res, answer.entry, answer.passHeaders, answer.raw);
      return;
    }
    const w = work;
    const run = deps.inFlight.run(storeKey, () => produce(w));
    const answer = await run.promise;
    if (run.leader) {
      if (!answer.written) replay(x, res, answer.entry, answer.passHeaders, answer.raw);
      return;
    }
    x.cacheStatus = 'coalesced';
    x.servedModel = answer.entry.model;
    x.reason = answer.reason;
    x.usage = answer.usage;
    replay(x, res, answer.entry, undefined, answer.raw);
  }

  async function lookup(key: string, ctx: Context | undefined): Promise<CacheLookup | undefined> {
    const cache = deps.cache;
    if (cache === undefined) return undefined;
    if (tracer === undefined || ctx === undefined) {
      return cache.getMemory(key) ?? (cache.redis === undefined ? undefined : await cache.get(key));
    }
    const span = tracer.startSpan(SPAN_NAME_SIDECAR_CACHE_LOOKUP, { kind: SpanKind.INTERNAL }, ctx);
    try {
      const hit =
        cache.getMemory(key) ?? (cache.redis === undefined ? undefined : await cache.get(key));
      span.setAttribute(ATTR_SWITCHYARD_CACHE_STATUS, hit?.status ?? 'miss');
      return hit;
    } finally {
      span.end();
    }
  }

  /** Calls the upstream for the routed model, falling back to the requested one. */
  async function produce(w: Work): Promise<ProducedAnswer> {
    const routed = w.decision.model !== w.requested;
    let model = w.decision.model;
    let reason: RouteReason = w.decision.reason;
    let target = deps.providers.resolve(model);
    let span: Span | undefined;
    let up: UpstreamResponse;
    try {
      span = startClientSpan(w, model, target);
      const body = routed ? Buffer.from(JSON.stringify({ ...w.body, model })) : w.raw;
      up = await deps.upstream.send({
        target,
        method: 'POST',
        path: upstreamPath,
        headers: upstreamRequestHeaders(w.req.headers, target, true),
        body,
        model,
        signal: w.signal,
      });
      if (routed && shouldFallBack(up.status)) {
        up.body.resume();
        throw new FallbackNeeded(`HTTP ${up.status}`);
      }
    } catch (error) {
      endClientSpan(span, error);
      if (!routed || error instanceof ClientAbortedError) throw error;
      model = w.requested;
      reason = 'fallback';
      target = deps.providers.resolve(model);
      span = startClientSpan(w, model, target);
      try {
        up = await deps.upstream.send({
          target,
          method: 'POST',
          path: upstreamPath,
          headers: upstreamRequestHeaders(w.req.headers, target, true),
          body: w.raw,
          model,
          signal: w.signal,
        });
      } catch (fallbackError) {
        endClientSpan(span, fallbackError);
        throw fallbackError;
      }
    }
    const x = w.x;
    x.servedModel = model;
    x.reason = reason;
    const contentType = up.headers['content-type'];
    try {
      if (
        w.stream &&
        up.status === 200 &&
        typeof contentType === 'string' &&
        contentType.startsWith('text/event-stream')
      ) {
        const answer = await pipeStream(w, up, model, reason);
        endClientSpan(span, undefined);
        return answer;
      }
      const answer = await bufferAnswer(w, up, model, reason);
      endClientSpan(span, undefined);
      return answer;
    } catch (error) {
      endClientSpan(span, error);
      throw error;
    }
  }

  async function bufferAnswer(
    w: Work,
    up: UpstreamResponse,
    model: string,
    reason: RouteReason,
  ): Promise<ProducedAnswer> {
    const buf = await readUpstreamBody(up.body, MAX_UPSTREAM_BODY_BYTES);
    const contentType = up.headers['content-type'];
    // Shadow judging: one `undefined` check when off; the answer is parsed again only when the
    // hook's owner has already decided (sample, budget, concurrency) that it will use it.
    const hook = deps.routedAnswer;
    if (
      hook !== undefined &&
      up.status === 200 &&
      endpoint === 'chat' &&
      (reason === 'rule' || reason === 'canary') &&
      model !== w.requested &&
      hook.wants()
    ) {
      offerRouted(hook, w, buf, model, reason);
    }
    // Fast path: a 200 that nobody needs parsed (no span, no cache entry) is checked for shape
    // and has only its usage read; anything else, or anything that looks off, is parsed fully.
    if (
      up.status === 200 &&
      tracer === undefined &&
      w.storeKey === undefined &&
      looksLikeJsonObject(buf, typeof contentType === 'string' ? contentType : undefined)
    ) {
      const usage = scanUsage(buf);
      w.x.usage = usage;
      return {
        entry: makeEntry(200, '', false, model, usage),
        raw: buf,
        reason,
        usage,
        finishReasons: undefined,
        responseId: undefined,
        passHeaders: passBackHeaders(up.headers),
        written: false,
      };
    }
    const text = buf.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new UpstreamError(
        up.status >= 200 && up.status < 300
          ? `The upstream answered HTTP ${up.status} for model '${model}' with a body that is not JSON.`
          : `The upstream answered HTTP ${up.status} for model '${model}' with a body that is not JSON (not an OpenAI-compatible error).`,
        { code: 'upstream_invalid_response' },
      );
    }
    const p = parsed as { usage?: unknown; id?: unknown; choices?: unknown };
    const usage = up.status === 200 ? readUsage(p.usage) : undefined;
    let finishReasons: string[] | undefined;
    if (Array.isArray(p.choices)) {
      for (const c of p.choices) {
        const r = (c as { finish_reason?: unknown } | null)?.finish_reason;
        if (typeof r !== 'string') continue;
        if (finishReasons === undefined) finishReasons = [r];
        else finishReasons.push(r);
      }
    }
    w.x.usage = usage;
    w.x.finishReasons = finishReasons;
    w.x.responseId = typeof p.id === 'string' ? p.id : undefined;
    const entry = makeEntry(up.status, text, false, model, usage);
    if (w.storeKey !== undefined && up.status === 200) deps.cache?.set(w.storeKey, entry);
    return {
      entry,
      raw: buf,
      reason,
      usage,
      finishReasons,
      responseId: w.x.responseId,
      passHeaders: passBackHeaders(up.headers),
      written: false,
    };
  }

  /** Hands a routed answer to the hook; a body it cannot read is simply not offered. */
  function offerRouted(
    hook: RoutedAnswerHook,
    w: Work,
    buf: Buffer,
    model: string,
    reason: RouteReason,
  ): void {
    try {
      const p = JSON.parse(buf.toString('utf8')) as {
        id?: unknown;
        usage?: unknown;
        choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
      };
      const first = Array.isArray(p.choices) ? p.choices[0] : undefined;
      const text = first?.message?.content;
      if (typeof text !== 'string') return;
      const finish = first?.finish_reason;
      const durationMs = deps.clock() - w.x.start;
      const auth = w.req.headers.authorization;
      hook.take({
        requestedModel: w.requested,
        servedModel: model,
        reason,
        ruleId: w.decision.ruleId,
        agent: w.x.agent,
        task: w.x.task,
        body: w.body,
        answerText: text,
        responseId: typeof p.id === 'string' ? p.id : undefined,
        finishReasons: typeof finish === 'string' ? [finish] : undefined,
        usage: readUsage(p.usage),
        authorization: typeof auth === 'string' ? auth : undefined,
        startTimeUnixMs: deps.now() - durationMs,
        durationMs,
      });
    } catch {
      // Judging is best effort: it never affects the client's answer.
    }
  }

  function pipeStream(
    w: Work,
    up: UpstreamResponse,
    model: string,
    reason: RouteReason,
  ): Promise<ProducedAnswer> {
    const { x, res } = w;
    const observer = new StreamObserver(w.storeKey !== undefined);
    const headers: Record<string, string> = x.answerHeaders();
    headers['content-type'] = up.headers['content-type'] as string;
    headers['cache-control'] = 'no-cache';
    const pass = passBackHeaders(up.headers);
    if (pass !== undefined) Object.assign(headers, pass);
    // Headers go out with the first chunk (one packet); the client cannot use them before it.
    if (!x.clientGone) res.writeHead(200, headers);
    const body = up.body;
    w.piping = body;
    return new Promise<ProducedAnswer>((resolve, reject) => {
      let settled = false;
      const onDrain = (): void => {
        body.resume();
      };
      body.on('data', (chunk: Buffer) => {
        // Forward first, observe after: the client's next chunk never waits on our parsing.
        if (!x.clientGone && !res.write(chunk)) {
          body.pause();
          res.once('drain', onDrain);
        }
        observer.push(chunk);
      });
      body.once('end', () => {
        if (settled) return;
        settled = true;
        x.usage = observer.usage;
        x.finishReasons = observer.finishReasons;
        x.responseId = observer.responseId;
        const entry = makeEntry(
          200,
          w.storeKey !== undefined ? observer.transcript() : '',
          true,
          model,
          observer.usage,
        );
        if (w.storeKey !== undefined && observer.done) deps.cache?.set(w.storeKey, entry);
        if (!x.clientGone) res.end();
        resolve({
          entry,
          raw: undefined,
          reason,
          usage: observer.usage,
          finishReasons: observer.finishReasons,
          responseId: observer.responseId,
          passHeaders: pass,
          written: true,
        });
      });
      const broken = (): void => {
        if (settled) return;
        settled = true;
        reject(
          x.clientGone && w.storeKey === undefined
            ? new ClientAbortedError()
            : new UpstreamError('The upstream stream broke off before it finished.', {
                code: 'upstream_incomplete',
              }),
        );
      };
      body.once('error', broken);
      body.once('close', () => {
        if (!body.complete) broken();
      });
    });
  }

  function makeEntry(
    status: number,
    body: string,
    stream: boolean,
    model: string,
    usage: ObservedUsage | undefined,
  ): CachedResponse {
    return usage === undefined
      ? { status, body, stream, model, storedAt: deps.now() }
      : {
          status,
          body,
          stream,
          model,
          storedAt: deps.now(),
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
        };
  }

  /** Writes a stored or produced answer (JSON, or an SSE transcript in one write). */
  function replay(
    x: Exchange,
    res: ServerResponse,
    entry: CachedResponse,
    pass: Record<string, string> | undefined,
    raw?: Buffer,
  ): void {
    if (res.destroyed) return;
    const headers: Record<string, string | number> = x.answerHeaders();
    if (entry.stream) {
      headers['content-type'] = 'text/event-stream; charset=utf-8';
      headers['cache-control'] = 'no-cache';
    } else {
      headers['content-type'] = 'application/json';
    }
    // The upstream's bytes when we have them: no second UTF-8 encoding of the body.
    const payload = raw ?? entry.body;
    headers['content-length'] = raw !== undefined ? raw.length : Buffer.byteLength(entry.body);
    if (pass !== undefined) Object.assign(headers, pass);
    res.writeHead(entry.status, headers);
    res.end(payload);
  }

  function startClientSpan(w: Work, model: string, target: UpstreamTarget): Span | undefined {
    if (tracer === undefined || w.ctx === undefined) return undefined;
    const span = tracer.startSpan(`${operation} ${model}`, { kind: SpanKind.CLIENT }, w.ctx);
    span.setAttribute(ATTR_GEN_AI_OPERATION_NAME, operation);
    span.setAttribute(
      ATTR_GEN_AI_PROVIDER_NAME,
      target.name === 'default' ? GEN_AI_PROVIDER_OPENAI : target.name,
    );
    span.setAttribute(ATTR_GEN_AI_REQUEST_MODEL, model);
    span.setAttribute(ATTR_SERVER_ADDRESS, target.hostname);
    span.setAttribute(ATTR_SERVER_PORT, target.port);
    return span;
  }

  function endClientSpan(span: Span | undefined, error: unknown): void {
    if (span === undefined) return;
    if (error !== undefined) {
      const type = error instanceof FallbackNeeded ? error.message : errorTypeOf(error);
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  /** Metrics, the log line and the server span, once per request. */
  function finish(x: Exchange, req: IncomingMessage, res: ServerResponse): void {
    const status = res.headersSent ? res.statusCode : x.clientGone ? 499 : res.statusCode;
    const seconds = (deps.clock() - x.start) / 1000;
    requestsFor(status).inc();
    observeDuration(seconds);
    if (x.requestedModel !== undefined) {
      lookupsBy.get(x.cacheStatus)?.inc();
      if (x.reason !== undefined) decisionsBy.get(x.reason)?.inc();
    }
    let costUsd: number | undefined;
    let savedUsd: number | undefined;
    if (x.usage !== undefined && x.servedModel !== undefined && status < 400) {
      const served = deps.prices.cost(x.servedModel, x.usage)?.totalUsd;
      const fromCache =
        x.cacheStatus === 'hit-memory' ||
        x.cacheStatus === 'hit-redis' ||
        x.cacheStatus === 'coalesced';
      costUsd = fromCache ? 0 : served;
      if (costUsd !== undefined && costUsd > 0) metrics.costUsd.inc([x.servedModel], costUsd);
      savedUsd = 0;
      if (fromCache && served !== undefined) {
        savedUsd += served;
        metrics.savedUsd.inc([x.cacheStatus === 'coalesced' ? 'coalesced' : 'cache'], served);
      }
      if (
        (x.reason === 'rule' || x.reason === 'canary') &&
        x.requestedModel !== undefined &&
        x.requestedModel !== x.servedModel &&
        served !== undefined
      ) {
        const requestedCost = deps.prices.cost(x.requestedModel, x.usage)?.totalUsd;
        if (requestedCost !== undefined) {
          const diff = requestedCost - served;
          savedUsd += diff;
          if (diff > 0) metrics.savedUsd.inc([x.reason], diff);
        }
      }
    }
    if (logger.enabled('info')) {
      logger.request({
        method: req.method ?? 'POST',
        path,
        status,
        ms: seconds * 1000,
        requestId: x.requestId,
        ...(x.servedModel !== undefined ? { model: x.servedModel } : {}),
        ...(x.requestedModel !== undefined ? { requestedModel: x.requestedModel } : {}),
        ...(x.reason !== undefined ? { reason: x.reason } : {}),
        ...(x.ruleId !== undefined ? { rule: x.ruleId } : {}),
        cache: x.cacheStatus,
        ...(x.errorType !== undefined ? { error: x.errorType } : {}),
      });
    }
    const span = x.span;
    if (span !== undefined) {
      endServerSpan(x, span, status, costUsd, savedUsd);
    }
  }

  function endServerSpan(
    x: Exchange,
    span: Span,
    status: number,
    costUsd: number | undefined,
    savedUsd: number | undefined,
  ): void {
    span.setAttribute(ATTR_GEN_AI_OPERATION_NAME, operation);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (x.requestedModel !== undefined) {
      span.setAttribute(ATTR_GEN_AI_REQUEST_MODEL, x.requestedModel);
      span.setAttribute(ATTR_SWITCHYARD_ROUTE_REQUESTED_MODEL, x.requestedModel);
    }
    const model = x.servedModel ?? x.routedModel;
    if (model !== undefined) span.setAttribute(ATTR_SWITCHYARD_ROUTE_MODEL, model);
    if (x.servedModel !== undefined) span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, x.servedModel);
    if (x.reason !== undefined) span.setAttribute(ATTR_SWITCHYARD_ROUTE_REASON, x.reason);
    if (x.ruleId !== undefined) span.setAttribute(ATTR_SWITCHYARD_ROUTE_RULE_ID, x.ruleId);
    span.setAttribute(ATTR_SWITCHYARD_CACHE_STATUS, x.cacheStatus);
    if (x.agent !== undefined) span.setAttribute(ATTR_GEN_AI_AGENT_NAME, x.agent);
    if (x.task !== undefined) span.setAttribute(ATTR_SWITCHYARD_TASK_TYPE, x.task);
    if (x.responseId !== undefined) span.setAttribute(ATTR_GEN_AI_RESPONSE_ID, x.responseId);
    if (x.finishReasons !== undefined && x.finishReasons.length > 0) {
      span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [...x.finishReasons]);
    }
    if (x.usage !== undefined) {
      span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, x.usage.inputTokens);
      span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, x.usage.outputTokens);
      if (x.usage.cacheReadInputTokens !== undefined) {
        span.setAttribute(ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, x.usage.cacheReadInputTokens);
      }
    }
    if (costUsd !== undefined) {
      span.setAttribute(ATTR_SWITCHYARD_COST_USD, costUsd);
      span.setAttribute(ATTR_SWITCHYARD_PRICING_VERSION, deps.prices.version);
    }
    if (savedUsd !== undefined) span.setAttribute(ATTR_SWITCHYARD_COST_SAVED_USD, savedUsd);
    if (status >= 400 || x.errorType !== undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, x.errorType ?? String(status));
      if (status >= 500 || status === 499) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** Adds the request's own parameters to a span (only called with a tracer). */
export function requestAttributes(span: Span, body: Record<string, unknown>): void {
  if (typeof body.temperature === 'number')
    span.setAttribute(ATTR_GEN_AI_REQUEST_TEMPERATURE, body.temperature);
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') span.setAttribute(ATTR_GEN_AI_REQUEST_MAX_TOKENS, max);
  if (typeof body.seed === 'number') span.setAttribute(ATTR_GEN_AI_REQUEST_SEED, body.seed);
}

function tokensOf(entry: CachedResponse): ObservedUsage | undefined {
  return entry.inputTokens === undefined
    ? undefined
    : { inputTokens: entry.inputTokens, outputTokens: entry.outputTokens ?? 0 };
}

function errorTypeOf(error: unknown): string {
  if (error instanceof ClientAbortedError) return 'client_aborted';
  const e = toSwitchyardError(error);
  return e.code ?? e.type;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's `x-request-id` when it is a sane token, else a fresh one. */
function requestIdOf(req: IncomingMessage, newId: () => string): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
}
