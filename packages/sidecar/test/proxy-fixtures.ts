/**
 * Shared pieces of the proxy tests: a fake OpenAI-compatible upstream on a real socket, and a
 * sidecar started against it with injected sleep/random so retries take no time.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/load-config.js';
import { type RunningSidecar, type StartSidecarOptions, startSidecar } from '../src/main.js';
import type { Logger } from '../src/telemetry/request-logger.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
  readonly raw: string;
}

/** Answers one upstream request; return `false` to fall through to the default answer. */
export type UpstreamBehavior = (
  rec: RecordedRequest,
  res: ServerResponse,
  req: IncomingMessage,
) => boolean | undefined | Promise<boolean | undefined>;

export interface FakeUpstream {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** Replaced per test; `undefined` means the default answers. */
  behavior: UpstreamBehavior | undefined;
  close(): Promise<void>;
}

export function completion(
  model: string,
  content: string,
  usage = { prompt_tokens: 1000, completion_tokens: 500 },
) {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Writes an SSE stream of `parts` as chat.completion.chunk events, with a usage chunk. */
export async function writeStream(
  res: ServerResponse,
  model: string,
  parts: readonly string[],
  gapMs = 0,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = 'chatcmpl-stream';
  const send = (obj: unknown): void => {
    res.write(`data: ${JSON.stringify(obj)}\n\n`);
  };
  send({
    id,
    object: 'chat.completion.chunk',
    created: 1,
    model,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  });
  for (const p of parts) {
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    if (res.destroyed) return;
    send({
      id,
      object: 'chat.completion.chunk',
      created: 1,
      model,
      choices: [{ index: 0, delta: { content: p }, finish_reason: null }],
    });
  }
  send({
    id,
    object: 'chat.completion.chunk',
    created: 1,
    model,
    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
  });
  send({
    id,
    object: 'chat.completion.chunk',
    created: 1,
    model,
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: parts.length, total_tokens: 10 + parts.length },
  });
  res.end('data: [DONE]\n\n');
}

/** Starts a fake upstream whose default answers echo the model they were asked for. */
/**
 * An upstream stream that sends `first`, then waits until `release()` before sending `last` and
 * `[DONE]`: a request that is provably in flight, for shutdown tests.
 */
export function heldStream(
  first: string,
  last: string,
): {
  behavior: UpstreamBehavior;
  release(): void;
} {
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const chunk = (w: string) =>
    `data: ${JSON.stringify({ id: 's', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`;
  return {
    behavior: async (_rec, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk(first));
      await held;
      res.write(chunk(last));
      res.end('data: [DONE]\n\n');
      return true;
    },
    release: () => release?.(),
  };
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const state: { behavior: UpstreamBehavior | undefined } = { behavior: undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = raw === '' ? undefined : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        raw,
      };
      requests.push(rec);
      void (async () => {
        if (state.behavior !== undefined && (await state.behavior(rec, res, req)) !== false) return;
        const model = typeof body?.model === 'string' ? body.model : 'unknown';
        if (rec.path.endsWith('/embeddings')) {
          // The SDK asks for base64 (little-endian float32) unless told otherwise.
          const vector = [0.5, 0.25];
          const embedding =
            body?.encoding_format === 'base64'
              ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
              : vector;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              object: 'list',
              model,
              data: [{ object: 'embedding', index: 0, embedding }],
              usage: { prompt_tokens: 3, total_tokens: 3 },
            }),
          );
          return;
        }
        if (rec.path.endsWith('/models')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              object: 'list',
              data: [{ id: 'upstream-model', object: 'model', created: 1, owned_by: 'up' }],
            }),
          );
          return;
        }
        if (body?.stream === true) {
          await writeStream(res, model, ['Hello', ' from ', model]);
          return;
        }
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-ratelimit-remaining-requests': '99',
        });
        res.end(JSON.stringify(completion(model, `answer from ${model}`)));
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    get behavior() {
      return state.behavior;
    },
    set behavior(b) {
      state.behavior = b;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A logger that keeps every line, so tests can check what was (not) logged. */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const base = {
    level: 'info' as const,
    enabled: (l: string) => l !== 'debug' && l !== 'silent',
    request(fields: object) {
      lines.push(JSON.stringify({ msg: 'request', ...fields }));
    },
    log(level: string, message: string, fields?: object) {
      lines.push(JSON.stringify({ level, msg: message, ...fields }));
    },
  };
  return Object.assign(base, { lines });
}

export interface TestSidecarOptions extends Omit<StartSidecarOptions, 'config'> {
  readonly file?: Record<string, unknown>;
  readonly extraEnv?: Record<string, string>;
  readonly argv?: readonly string[];
}

/** Starts a sidecar on a free port in front of `upstream`, silent, with instant retries. */
export function startTestSidecar(
  upstream: FakeUpstream,
  options: TestSidecarOptions = {},
): Promise<RunningSidecar> {
  const { file, extraEnv, argv, ...rest } = options;
  const config = loadConfig({
    argv: ['--port', '0', ...(argv ?? [])],
    env: {
      SWITCHYARD_UPSTREAM_URL: upstream.baseURL,
      SWITCHYARD_LOG_LEVEL: 'silent',
      SWITCHYARD_RETRY_BASE_DELAY_MS: '1',
      ...extraEnv,
    },
    file: file ?? {},
  });
  return startSidecar({ config, sleep: async () => undefined, ...rest });
}
