/**
 * Sends requests to an upstream over `node:http`/`node:https` with keep-alive pools, timeouts,
 * retries (429, 5xx, connection errors; exponential backoff with full jitter; `Retry-After`
 * honoured up to a bound) and a circuit breaker per upstream model.
 *
 * The response body is handed back unread, so a stream can be piped chunk by chunk and a JSON
 * body buffered by whoever knows which it is.
 */
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { UpstreamConfig } from '../config/sidecar-config.js';
import { UnavailableError, UpstreamError } from '../errors/switchyard-error.js';
import type { CancelSignal } from './cancellation.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import type { UpstreamTarget } from './provider-registry.js';
import { backoffDelay, isRetryableStatus, retryAfterMs } from './retry-policy.js';

/** Why one attempt failed without a usable response. */
export type AttemptFailureKind = 'connect' | 'timeout' | 'reset' | 'status' | 'circuit_open';

export interface UpstreamFailureEvent {
  readonly target: UpstreamTarget;
  readonly model: string;
  readonly kind: AttemptFailureKind;
  readonly status?: number;
}

export interface UpstreamClientOptions {
  readonly config: UpstreamConfig;
  readonly breakers: CircuitBreakers;
  /** Waits `ms`; resolves early when `signal` is cancelled. */
  readonly sleep?: (ms: number, signal?: CancelSignal) => Promise<void>;
  /** Uniform in [0, 1), for jitter. */
  readonly random?: () => number;
  /** Epoch ms, to read `Retry-After` dates. */
  readonly now?: () => number;
  /** Called for every failed attempt (metrics). Must not throw. */
  readonly onFailure?: (event: UpstreamFailureEvent) => void;
}

export interface UpstreamRequest {
  readonly target: UpstreamTarget;
  readonly method: 'GET' | 'POST';
  /** Path after the base URL, e.g. `/chat/completions`. */
  readonly path: string;
  /** Built for this call alone: `host` and `content-length` are added to it. */
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer;
  /** Model the request is for: the breaker key. */
  readonly model: string;
  /** Cancels the call (client went away). */
  readonly signal?: CancelSignal;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The unread body. */
  readonly body: IncomingMessage;
  /** Attempts made, 1 + retries. */
  readonly attempts: number;
}

/** Raised when the client's signal aborted the call; nobody is left to answer. */
export class ClientAbortedError extends Error {
  constructor() {
    super('The client disconnected; the upstream call was cancelled.');
    this.name = 'ClientAbortedError';
  }
}

class AttemptError extends Error {
  readonly kind: 'connect' | 'timeout' | 'reset';
  constructor(kind: 'connect' | 'timeout' | 'reset', message: string) {
    super(message);
    this.kind = kind;
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function isAborted(signal: CancelSignal | undefined): boolean {
  return signal?.cancelled === true;
}

function defaultSleep(ms: number, signal?: CancelSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.cancelled === true) {
      resolve();
      return;
    }
    const onCancel = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.offCancel(onCancel);
      resolve();
    }, ms);
    signal?.onCancel(onCancel);
  });
}

/**
 * The upstream HTTP client.
 *
 * @example
 * const res = await client.send({ target, method: 'POST', path: '/chat/completions', headers, body, model });
 * res.body.pipe(clientResponse);
 */
export class UpstreamClient {
  readonly #config: UpstreamConfig;
  readonly #breakers: CircuitBreakers;
  readonly #sleep: (ms: number, signal?: CancelSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #onFailure: ((event: UpstreamFailureEvent) => void) | undefined;
  readonly #clock: () => number;
  readonly #live = new LiveAttempts();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: UpstreamClientOptions) {
    this.#config = options.config;
    this.#breakers = options.breakers;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#onFailure = options.onFailure;
    this.#clock = () => performance.now();
  }

  /**
   * Sends `req`, retrying as configured. Resolves with the first non-retryable response, or the
   * last response when retries run out. Rejects with `UpstreamError` (502) when no response
   * could be had, `UnavailableError` (503) when the model's breaker is open, or
   * `ClientAbortedError` when the signal aborted.
   */
  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const breaker = this.#breakers.get(`${req.target.name}\u0000${req.model}`);
    const maxAttempts = this.#config.maxRetries + 1;
    let lastError: AttemptError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (isAborted(req.signal)) throw new ClientAbortedError();
      if (!breaker.tryAcquire()) {
        this.#report(req, 'circuit_open');
        throw new UnavailableError(
          `The upstream model '${req.model}' is failing repeatedly; Switchyard stopped calling it for a cooldown. Retry later.`,
          { code: 'circuit_open' },
        );
      }
      let res: IncomingMessage;
      try {
        res = await this.#attempt(req);
      } catch (error) {
        if (isAborted(req.signal)) {
          breaker.onRelease();
          throw new ClientAbortedError();
        }
        const e =
          error instanceof AttemptError
            ? error
            : new AttemptError('reset', error instanceof Error ? error.message : String(error));
        breaker.onFailure();
        this.#report(req, e.kind);
        lastError = e;
        if (attempt >= maxAttempts || breaker.state === 'open') break;
        await this.#sleep(this.#backoff(attempt - 1), req.signal);
        continue;
      }
      const status = res.statusCode ?? 502;
      if (!isRetryableStatus(status)) {
        breaker.onSuccess();
        return { status, headers: res.headers, body: res, attempts: attempt };
      }
      if (status >= 500) breaker.onFailure();
      else breaker.onRelease();
      this.#report(req, 'status', status);
      if (attempt >= maxAttempts || breaker.state === 'open') {
        return { status, headers: res.headers, body: res, attempts: attempt };
      }
      const asked = retryAfterMs(res.headers, this.#now());
      if (asked !== undefined && asked > this.#config.maxRetryAfterMs) {
        // The upstream wants a longer pause than we may hold the caller for: let it decide.
        return { status, headers: res.headers, body: res, attempts: attempt };
      }
      res.resume(); // discard the error body so the socket goes back to the pool
      await this.#sleep(asked ?? this.#backoff(attempt - 1), req.signal);
    }
    const reason = lastError?.kind === 'timeout' ? 'timed out' : 'could not be reached';
    throw new UpstreamError(
      `The upstream '${req.target.name}' ${reason} for model '${req.model}' after ${maxAttempts} attempt(s)${lastError === undefined ? '' : ` (${lastError.message})`}.`,
      { code: lastError?.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable' },
    );
  }

  #backoff(retry: number): number {
    return backoffDelay(
      retry,
      this.#config.retryBaseDelayMs,
      this.#config.retryMaxDelayMs,
      this.#random,
    );
  }

  #report(req: UpstreamRequest, kind: AttemptFailureKind, status?: number): void {
    if (this.#onFailure === undefined) return;
    try {
      this.#onFailure(
        status === undefined
          ? { target: req.target, model: req.model, kind }
          : { target: req.target, model: req.model, kind, status },
      );
    } catch {
      // metrics must never break a call
    }
  }

  #attempt(req: UpstreamRequest): Promise<IncomingMessage> {
    const t = req.target;
    // The caller builds `headers` for this call alone, so they are completed in place.
    const headers = req.headers;
    headers.host = t.hostHeader;
    if (req.body !== undefined) headers['content-length'] = req.body.length;
    const send = t.protocol === 'https:' ? httpsRequest : httpRequest;
    const live = this.#live;
    this.#ensureSweeper();
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const outgoing: ClientRequest = send({
        protocol: t.protocol,
        hostname: t.hostname,
        port: t.port,
        method: req.method,
        path: t.basePath + req.path,
        headers,
        agent: t.agent,
      });
      const attempt = new LiveAttempt(outgoing, this.#clock(), (error) => fail(error));
      live.add(attempt);
      const fail = (error: AttemptError): void => {
        live.delete(attempt);
        outgoing.destroy(error);
        if (settled) return;
        settled = true;
        reject(error);
      };
      const onAbort = (): void => fail(new AttemptError('reset', 'aborted by client'));
      req.signal?.onCancel(onAbort);
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        live.delete(attempt);
        if (settled) return;
        settled = true;
        req.signal?.offCancel(onAbort);
        if (error instanceof AttemptError) {
          reject(error);
          return;
        }
        const code = error.code ?? 'ERROR';
        reject(new AttemptError(CONNECT_CODES.has(code) ? 'connect' : 'reset', code));
      });
      outgoing.on('response', (res: IncomingMessage) => {
        settled = true;
        attempt.answered = true;
        attempt.bytesRead = res.socket?.bytesRead ?? 0;
        attempt.lastProgress = this.#clock();
        const signal = req.signal;
        res.once('close', () => {
          live.delete(attempt);
          signal?.offCancel(onAbort);
        });
        resolve(res);
      });
      outgoing.end(req.body);
    });
  }

  /** Stops the timeout sweeper (shutdown). */
  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #ensureSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const cfg = this.#config;
    // One timer for all calls instead of timers per request: timeouts of seconds do not need
    // millisecond precision, and per-request socket timers cost on every read and write.
    const shortest = Math.min(cfg.connectTimeoutMs, cfg.timeoutMs, cfg.streamIdleTimeoutMs);
    const every = Math.max(5, Math.min(1000, Math.floor(shortest / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const cfg = this.#config;
    const now = this.#clock();
    for (let a = this.#live.first; a !== undefined; ) {
      const next = a.next;
      const socket = a.request.socket;
      if (!a.answered) {
        if (socket?.connecting === true && now - a.started > cfg.connectTimeoutMs) {
          a.fail(new AttemptError('connect', `connect timeout after ${cfg.connectTimeoutMs} ms`));
        } else if (now - a.started > cfg.timeoutMs) {
          a.fail(new AttemptError('timeout', `no answer within ${cfg.timeoutMs} ms`));
        }
      } else {
        // Progress is read off the socket's byte counter: no work per chunk.
        const bytes = socket?.bytesRead ?? a.bytesRead;
        if (bytes !== a.bytesRead) {
          a.bytesRead = bytes;
          a.lastProgress = now;
        } else if (now - a.lastProgress > cfg.streamIdleTimeoutMs) {
          a.fail(
            new AttemptError('timeout', `the answer stalled for ${cfg.streamIdleTimeoutMs} ms`),
          );
        }
      }
      a = next;
    }
  }
}

/** An attempt in flight, watched by the timeout sweeper; a node of `LiveAttempts`. */
class LiveAttempt {
  answered = false;
  bytesRead = 0;
  lastProgress = 0;
  prev: LiveAttempt | undefined = undefined;
  next: LiveAttempt | undefined = undefined;
  linked = false;

  constructor(
    readonly request: ClientRequest,
    readonly started: number,
    readonly fail: (error: AttemptError) => void,
  ) {}
}

/**
 * The attempts in flight as an intrusive doubly linked list. A `Set` did the same job but kept
 * finished attempts (and their requests) reachable long enough to be promoted to the old
 * generation at high request rates; unlinking clears every reference at once.
 */
class LiveAttempts {
  first: LiveAttempt | undefined = undefined;

  add(a: LiveAttempt): void {
    a.next = this.first;
    if (this.first !== undefined) this.first.prev = a;
    this.first = a;
    a.linked = true;
  }

  delete(a: LiveAttempt): void {
    if (!a.linked) return;
    a.linked = false;
    if (a.prev !== undefined) a.prev.next = a.next;
    else this.first = a.next;
    if (a.next !== undefined) a.next.prev = a.prev;
    a.prev = undefined;
    a.next = undefined;
  }
}

/**
 * Reads a whole upstream body, refusing more than `limitBytes` (a misbehaving upstream must
 * not fill our memory). Rejects with `UpstreamError` when the body breaks off or is too large.
 */
export function readUpstreamBody(res: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        res.destroy();
        reject(
          new UpstreamError(`The upstream answer is larger than ${limitBytes} bytes.`, {
            code: 'upstream_too_large',
          }),
        );
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    const broken = (): void => {
      if (done) return;
      done = true;
      reject(
        new UpstreamError('The upstream connection broke off in the middle of its answer.', {
          code: 'upstream_incomplete',
        }),
      );
    };
    res.once('error', broken);
    res.once('close', () => {
      if (!res.complete) broken();
    });
  });
}
