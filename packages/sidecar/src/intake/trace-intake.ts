/**
 * `POST /v1/traces`: OTLP/HTTP trace intake. Spans arrive from agents (or a Collector), LLM calls
 * and feedback are extracted, feedback is joined to its call, and both go to the learner.
 *
 * Flow control: once a body is in memory, decoding, extraction and the join run synchronously
 * (a 512-span batch takes a few milliseconds), so the answer can report exactly which spans were
 * rejected (OTLP partial success). What is bounded is the number of requests admitted at once,
 * i.e. bodies being received or inflated (`maxQueue`, each at most `maxBodyBytes`): past it the
 * intake answers 429 with `Retry-After`, and OTLP senders retry later. The same happens while
 * the learner signals backpressure through `overloaded()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate, type ZlibOptions } from 'node:zlib';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { readBody } from '../http/read-body.js';
import type { RequestHandler } from '../http/request-handler.js';
import type { LearningSink } from '../learning/llm-call.js';
import { FeedbackJoin, type FeedbackJoinStats } from './feedback-join.js';
import { type DecodedBatch, OtlpDecodeError } from './intake-span.js';
import { decodeOtlpJson } from './otlp-json-decoder.js';
import { OtlpProtobufDecoder } from './otlp-protobuf-decoder.js';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_PROTOBUF,
  exportResponseBody,
  type OtlpEncoding,
  RPC_INTERNAL,
  RPC_INVALID_ARGUMENT,
  RPC_RESOURCE_EXHAUSTED,
  RPC_UNAVAILABLE,
  statusBody,
} from './otlp-response.js';
import { extractSpan } from './span-extractor.js';

export type { OtlpEncoding };

export interface TraceIntakeOptions {
  /** Where calls and joined verdicts go (the learner). */
  readonly sink: LearningSink;
  /** Largest body accepted, both as received and after gunzip. Default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** Requests admitted at once (receiving, inflating, decoding); more get 429. Default 16. */
  readonly maxQueue?: number;
  /** Seconds a sender is told to wait after a 429 or 503. Default 2. */
  readonly retryAfterSeconds?: number;
  /** Backpressure from the learner: while it returns true, batches get 429. */
  readonly overloaded?: () => boolean;
  /** Feedback join window in milliseconds. Default 15 minutes. */
  readonly joinWindowMs?: number;
  /** Recent calls remembered for the join. Default 50,000. */
  readonly maxCalls?: number;
  /** Feedback spans waiting for their call. Default 10,000. */
  readonly maxPendingFeedback?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

export interface TraceIntakeStats extends FeedbackJoinStats {
  /** Requests by answer status: 200, 400, 405, 413, 415, 429, 500, 503. */
  readonly responses: Readonly<Record<number, number>>;
  /** Spans received in accepted batches. */
  readonly spans: number;
  /** Spans reported back as rejected (partial success). */
  readonly rejectedSpans: number;
  /** Feedback spans extracted (joined or waiting). */
  readonly feedback: number;
  /** Body bytes received (before inflating) in accepted batches. */
  readonly bytes: number;
  /** Requests being received or processed now. */
  readonly inFlight: number;
}

export interface TraceIntake {
  /** The `POST /v1/traces` handler. Never rejects; every failure becomes an OTLP answer. */
  readonly handle: RequestHandler;
  /**
   * Decodes, extracts and joins one uncompressed body in-process, as `handle` does after
   * reading it (for benchmarks and for callers that already hold the bytes). Throws
   * `OtlpDecodeError` on a malformed body; returns the partial-success figures.
   */
  ingest(body: Uint8Array, encoding: OtlpEncoding): IngestResult;
  stats(): TraceIntakeStats;
  /** Stops admitting batches (503) and resolves once those in flight are done. */
  close(): Promise<void>;
}

/** What one batch came to: spans rejected (OTLP partial success) and why. */
export interface IngestResult {
  readonly rejected: number;
  readonly message: string;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_QUEUE = 16;
export const DEFAULT_RETRY_AFTER_SECONDS = 2;

const gunzipAsync = promisify(gunzip) as (buf: Buffer, options: ZlibOptions) => Promise<Buffer>;
const inflateAsync = promisify(inflate) as (buf: Buffer, options: ZlibOptions) => Promise<Buffer>;

/** A request the intake answers with an error status instead of processing. */
class IntakeRefusal extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates the OTLP/HTTP trace intake.
 *
 * @example
 * const intake = createTraceIntake({ sink: learner });
 * const app = createApp({ ...deps, traceIntake: intake.handle });
 * // on shutdown: await intake.close();
 */
export function createTraceIntake(options: TraceIntakeOptions): TraceIntake {
  const maxBodyBytes = positiveInt(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes');
  const maxQueue = positiveInt(options.maxQueue ?? DEFAULT_MAX_QUEUE, 'maxQueue');
  const retryAfter = String(
    positiveInt(options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS, 'retryAfterSeconds'),
  );
  const overloaded = options.overloaded;
  const join = new FeedbackJoin({
    sink: options.sink,
    windowMs: options.joinWindowMs,
    maxCalls: options.maxCalls,
    maxPendingFeedback: options.maxPendingFeedback,
    now: options.now,
  });
  const decoder = new OtlpProtobufDecoder();
  const responses: Record<number, number> = {};
  let spans = 0;
  let rejectedSpans = 0;
  let feedback = 0;
  let bytes = 0;
  let inFlight = 0;
  let closed = false;
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  function answer(
    res: ServerResponse,
    status: number,
    encoding: OtlpEncoding,
    body: Uint8Array,
    headers: Record<string, string> = {},
  ): void {
    responses[status] = (responses[status] ?? 0) + 1;
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': encoding === 'json' ? CONTENT_TYPE_JSON : CONTENT_TYPE_PROTOBUF,
      'content-length': String(body.length),
      ...headers,
    });
    res.end(body);
  }

  function refuse(res: ServerResponse, encoding: OtlpEncoding, refusal: IntakeRefusal): void {
    const headers: Record<string, string> = {};
    if (refusal.status === 429 || refusal.status === 503) headers['retry-after'] = retryAfter;
    // The rest of an oversized body is not worth reading; let the connection go.
    if (refusal.status === 413) headers.connection = 'close';
    if (refusal.status === 405) headers.allow = 'POST';
    answer(
      res,
      refusal.status,
      encoding,
      statusBody(encoding, refusal.rpcCode, refusal.message),
      headers,
    );
  }

  /** Decodes, extracts and joins one batch; returns the partial-success figures. */
  function ingest(body: Uint8Array, encoding: OtlpEncoding): IngestResult {
    const batch: DecodedBatch =
      encoding === 'json' ? decodeOtlpJson(textOf(body)) : decoder.decode(body);
    let rejected = 0;
    let firstReason = '';
    for (const span of batch.spans) {
      const x = extractSpan(span);
      if (x.type === 'call') join.addCall(x.call);
      else if (x.type === 'feedback') {
        feedback++;
        join.addFeedback(x.feedback);
      } else if (x.type === 'rejected') {
        rejected++;
        if (firstReason === '') firstReason = x.reason;
      }
    }
    spans += batch.totalSpans;
    rejectedSpans += rejected;
    const message =
      rejected === 0
        ? ''
        : `${rejected} of ${batch.totalSpans} spans rejected; first: ${firstReason}`;
    return { rejected, message };
  }

  function isOverloaded(): boolean {
    if (overloaded === undefined) return false;
    try {
      return overloaded() === true;
    } catch {
      // A failing probe must not turn every batch away, nor crash the handler.
      return false;
    }
  }

  /** The handler as served: whatever happens inside, the returned promise never rejects. */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await admitAndProcess(req, res);
    } catch {
      responses[500] = (responses[500] ?? 0) + 1;
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else res.destroy();
    }
  }

  async function admitAndProcess(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const encoding = encodingOf(req.headers['content-type']);
    const coding = contentCodingOf(req.headers['content-encoding']);
    try {
      if (closed) throw new IntakeRefusal(503, RPC_UNAVAILABLE, 'span intake is shutting down');
      if (req.method !== 'POST') {
        throw new IntakeRefusal(405, RPC_INVALID_ARGUMENT, 'use POST for /v1/traces');
      }
      if (encoding === undefined) {
        throw new IntakeRefusal(
          415,
          RPC_INVALID_ARGUMENT,
          `unsupported content-type ${JSON.stringify(req.headers['content-type'] ?? '')}; ` +
            `send ${CONTENT_TYPE_PROTOBUF} or ${CONTENT_TYPE_JSON}`,
        );
      }
      if (coding === undefined) {
        throw new IntakeRefusal(
          415,
          RPC_INVALID_ARGUMENT,
          `unsupported content-encoding ${JSON.stringify(req.headers['content-encoding'])}; ` +
            'send gzip, deflate or none',
        );
      }
      if (inFlight >= maxQueue || isOverloaded()) {
        throw new IntakeRefusal(429, RPC_RESOURCE_EXHAUSTED, 'span intake is busy; retry later');
      }
    } catch (err) {
      req.resume();
      refuse(res, encoding ?? 'json', err instanceof IntakeRefusal ? err : internalError());
      return;
    }

    inFlight++;
    try {
      const raw = await receive(req, maxBodyBytes);
      const body = await inflateBody(raw, coding, maxBodyBytes);
      const { rejected, message } = ingest(body, encoding);
      bytes += raw.length;
      answer(res, 200, encoding, exportResponseBody(encoding, rejected, message));
    } catch (err) {
      if (err instanceof IntakeRefusal) refuse(res, encoding, err);
      else if (err instanceof OtlpDecodeError) {
        refuse(res, encoding, new IntakeRefusal(400, RPC_INVALID_ARGUMENT, err.message));
      } else {
        // A bug, not the sender's fault; answer rather than crash.
        refuse(res, encoding, internalError());
      }
    } finally {
      inFlight--;
      if (inFlight === 0 && drained !== undefined) drained();
    }
  }

  return {
    handle: (req, res) => handle(req, res),
    ingest,
    stats: () => ({
      ...join.stats(),
      responses: { ...responses },
      spans,
      rejectedSpans,
      feedback,
      bytes,
      inFlight,
    }),
    close: () => {
      closed = true;
      if (inFlight === 0) return Promise.resolve();
      closing ??= new Promise<void>((resolve) => {
        drained = resolve;
      });
      return closing;
    },
  };
}

function internalError(): IntakeRefusal {
  return new IntakeRefusal(500, RPC_INTERNAL, 'internal error in span intake');
}

async function receive(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readBody(req, limit);
  } catch (err) {
    if (err instanceof SwitchyardError && err.status === 413) {
      throw new IntakeRefusal(
        413,
        RPC_RESOURCE_EXHAUSTED,
        `request body larger than ${limit} bytes; send smaller batches`,
      );
    }
    throw new IntakeRefusal(400, RPC_INVALID_ARGUMENT, 'the request body could not be read');
  }
}

type ContentCoding = 'identity' | 'gzip' | 'deflate';

async function inflateBody(raw: Buffer, coding: ContentCoding, limit: number): Promise<Buffer> {
  if (coding === 'identity') return raw;
  try {
    // maxOutputLength stops a gzip bomb inside zlib, before the output is allocated.
    const options: ZlibOptions = { maxOutputLength: limit };
    return coding === 'gzip' ? await gunzipAsync(raw, options) : await inflateAsync(raw, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new IntakeRefusal(
        413,
        RPC_RESOURCE_EXHAUSTED,
        `request body larger than ${limit} bytes once inflated; send smaller batches`,
      );
    }
    throw new IntakeRefusal(400, RPC_INVALID_ARGUMENT, `invalid ${coding} body`);
  }
}

const utf8 = new TextDecoder('utf-8');

function textOf(body: Uint8Array): string {
  return Buffer.isBuffer(body) ? body.toString('utf8') : utf8.decode(body);
}

function encodingOf(contentType: string | undefined): OtlpEncoding | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === CONTENT_TYPE_PROTOBUF) return 'protobuf';
  if (type === CONTENT_TYPE_JSON) return 'json';
  return undefined;
}

function contentCodingOf(header: string | undefined): ContentCoding | undefined {
  const coding = header?.trim().toLowerCase() ?? '';
  if (coding === '' || coding === 'identity') return 'identity';
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  return undefined;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(
      `createTraceIntake: ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}
