/**
 * The replay provider: an OpenAI-compatible upstream that answers a dataset prompt, for the
 * model asked for, with that model's recorded answer and usage.
 *
 * It stands where OpenAI would stand behind the sidecar. The sidecar therefore only ever sees the
 * outcome of the model it chose: the provider returns nothing about other models (not even the
 * chosen model's score, which only the replay's judge knows).
 *
 * A request finds its row by the row id the replay client puts in the standard `user` field
 * (`replay:<id>`), checked against a hash of the messages; requests without it are matched by
 * the messages hash alone, which must then be unique in the dataset.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendError } from '../errors/error-response.js';
import { BadRequestError, NotFoundError, SwitchyardError } from '../errors/switchyard-error.js';
import { readBody } from '../http/read-body.js';
import type { ReplayRow } from './replay-dataset.js';
import type { ReplayMessage } from './token-count.js';

/** The `user` field prefix that carries a row id. */
export const REPLAY_USER_PREFIX = 'replay:';

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Per-model totals of what the provider served. */
export interface ServedTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface ReplayProviderOptions {
  readonly rows: readonly ReplayRow[];
  /** Prices a served outcome, for the provider's own totals. */
  readonly cost: (row: ReplayRow, model: string) => number;
  /** Clock in ms; injectable for tests. Defaults to `Date.now`. */
  readonly now?: () => number;
}

export interface ReplayProvider {
  /** The request handler (usable without a socket). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** What was served so far, per model. */
  served(): ReadonlyMap<string, ServedTotals>;
  /** Listens on `host:port` (port 0 = ephemeral); resolves to the base URL (`…/v1`). */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** A stable hash of a chat prompt: roles and contents, nothing else. */
export function messagesHash(messages: readonly ReplayMessage[]): string {
  const h = createHash('sha256');
  for (const m of messages) {
    h.update(m.role);
    h.update('\u0000');
    h.update(m.content);
    h.update('\u0001');
  }
  return h.digest('hex');
}

/**
 * Builds a replay provider over the dataset rows.
 *
 * @example
 * const provider = createReplayProvider({ rows, cost: pricing.cost });
 * const baseURL = await provider.listen(0); // http://127.0.0.1:PORT/v1
 */
export function createReplayProvider(options: ReplayProviderOptions): ReplayProvider {
  const now = options.now ?? Date.now;
  const byId = new Map<string, ReplayRow>();
  const byHash = new Map<string, ReplayRow | null>(); // null: several rows share the prompt
  const models = new Set<string>();
  for (const row of options.rows) {
    byId.set(row.id, row);
    const h = messagesHash(row.messages);
    byHash.set(h, byHash.has(h) ? null : row);
    for (const m of Object.keys(row.outcomes)) models.add(m);
  }
  const modelList = [...models].sort();
  const totals = new Map<string, ServedTotals>();
  const idPrefix = `chatcmpl-replay-${randomBytes(4).toString('hex')}-`;
  let sequence = 0;
  let server: Server | undefined;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    route(req, res).catch((error: unknown) => sendError(res, error));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: modelList.map((id) => ({ id, object: 'model', created: 0, owned_by: 'replay' })),
      });
      return;
    }
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST') {
        throw new SwitchyardError(405, 'invalid_request_error', `Use POST for ${path}.`, {
          code: 'method_not_allowed',
        });
      }
      const body = await readBody(req, MAX_BODY_BYTES);
      complete(parseRequest(body), res);
      return;
    }
    throw new NotFoundError(`The replay provider has no route ${req.method} ${path}.`);
  }

  function parseRequest(body: Buffer): ChatRequest {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BadRequestError('The request body must be a JSON object.');
    }
    const v = value as Record<string, unknown>;
    if (typeof v.model !== 'string' || v.model === '') {
      throw new BadRequestError("'model' is required.", { param: 'model' });
    }
    if (!Array.isArray(v.messages) || v.messages.length === 0) {
      throw new BadRequestError("'messages' must be a non-empty array.", { param: 'messages' });
    }
    const messages: ReplayMessage[] = v.messages.map((m, i) => {
      const msg = m as Record<string, unknown> | null;
      if (!msg || typeof msg.role !== 'string' || typeof msg.content !== 'string') {
        throw new BadRequestError(`messages[${i}] needs a string role and a string content.`, {
          param: `messages[${i}]`,
        });
      }
      return { role: msg.role, content: msg.content };
    });
    const streamOptions = v.stream_options as { include_usage?: unknown } | undefined;
    return {
      model: v.model,
      messages,
      user: typeof v.user === 'string' ? v.user : undefined,
      stream: v.stream === true,
      includeUsage: streamOptions?.include_usage === true,
    };
  }

  function findRow(request: ChatRequest): ReplayRow {
    const hash = messagesHash(request.messages);
    if (request.user?.startsWith(REPLAY_USER_PREFIX)) {
      const id = request.user.slice(REPLAY_USER_PREFIX.length);
      const row = byId.get(id);
      if (!row || messagesHash(row.messages) !== hash) {
        throw new BadRequestError(`No replay row "${id}" with these messages.`, {
          param: 'messages',
          code: 'unknown_prompt',
        });
      }
      return row;
    }
    const row = byHash.get(hash);
    if (row === undefined) {
      throw new BadRequestError('These messages are not a prompt of the replay dataset.', {
        param: 'messages',
        code: 'unknown_prompt',
      });
    }
    if (row === null) {
      throw new BadRequestError(
        `Several replay rows share these messages; send user "${REPLAY_USER_PREFIX}<row id>".`,
        { param: 'user', code: 'ambiguous_prompt' },
      );
    }
    return row;
  }

  function complete(request: ChatRequest, res: ServerResponse): void {
    if (!models.has(request.model)) {
      throw new NotFoundError(
        `The model '${request.model}' does not exist in the replay dataset.`,
        {
          param: 'model',
          code: 'model_not_found',
        },
      );
    }
    const row = findRow(request);
    const outcome = row.outcomes[request.model];
    if (!outcome) {
      throw new NotFoundError(
        `The replay dataset has no outcome of '${request.model}' for this prompt.`,
        { param: 'model', code: 'model_not_found' },
      );
    }
    const t = totals.get(request.model) ?? {
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
    };
    totals.set(request.model, t);
    t.calls += 1;
    t.inputTokens += outcome.inputTokens;
    t.outputTokens += outcome.outputTokens;
    t.costUsd += options.cost(row, request.model);

    sequence += 1;
    const id = `${idPrefix}${sequence}`;
    const created = Math.floor(now() / 1000);
    const content = outcome.response ?? '';
    const usage = {
      prompt_tokens: outcome.inputTokens,
      completion_tokens: outcome.outputTokens,
      total_tokens: outcome.inputTokens + outcome.outputTokens,
    };
    if (!request.stream) {
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: request.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
        system_fingerprint: null,
      });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const chunk = (delta: object, finish: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model: request.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...extra,
      })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    if (content !== '') res.write(chunk({ content }, null));
    res.write(chunk({}, 'stop'));
    if (request.includeUsage) {
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices: [], usage })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  }

  return {
    handle,
    served: () => totals,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise<string>((resolve, reject) => {
        const s = createServer(handle);
        s.keepAliveTimeout = 30_000;
        s.once('error', reject);
        s.listen(port, host, () => {
          server = s;
          const address = s.address() as AddressInfo;
          resolve(`http://${host}:${address.port}/v1`);
        });
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      });
    },
  };
}

interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ReplayMessage[];
  readonly user: string | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
