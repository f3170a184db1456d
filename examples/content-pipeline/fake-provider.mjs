/**
 * A fake OpenAI-compatible provider for the demo: a real HTTP server on 127.0.0.1 that answers
 * `POST /v1/chat/completions` (plain and streamed) and `GET /v1/models` as `gpt-4o` and
 * `gpt-4o-mini` would, without a network or a key.
 *
 * It is the demo's world, and it is deterministic: the quality of an answer depends on the kind
 * of work (read from the agent's system prompt: "You are the <kind> agent") and on the model that
 * actually answered, plus seeded noise. The cheap model is as good as the strong one at research
 * and outlines, a little worse at drafting, and clearly worse at refining. Each answer ends with
 * a tag `[quality 0.87]` — the world's ground truth — and when the reviewer asks this provider to
 * judge an answer, it reads that tag and returns the score on a 0-10 scale. So the reviewer's
 * score reflects which model really answered, and nothing else: the sidecar has to find out.
 *
 * Token counts do not depend on the model (the output length is set by the kind of work), so
 * "what it would have cost on the requested model" is exact in this world.
 */
import { createServer } from 'node:http';

/** Mean quality (0..1) of each model at each kind of work. The noise is ±QUALITY_NOISE. */
export const WORLD_QUALITY = {
  'gpt-4o': { research: 0.9, outline: 0.9, draft: 0.9, refine: 0.92 },
  'gpt-4o-mini': { research: 0.9, outline: 0.9, draft: 0.8, refine: 0.55 },
};
export const QUALITY_NOISE = 0.08;

/** Output tokens per kind of work (±10%, seeded), the same for every model. */
const OUTPUT_TOKENS = { research: 450, outline: 220, draft: 1100, refine: 1000, other: 120 };

/** What the provider answers as: OpenAI returns dated snapshot names. */
const SNAPSHOTS = { 'gpt-4o': 'gpt-4o-2024-08-06', 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' };

const TAG = /\[quality (\d(?:\.\d+)?)\]/;
const KIND = /You are the (\w+) agent/;
const REVIEWER = /You are the reviewer/;
const WORDS = (
  'signal budget latency agent model trace span route cache quality evidence cost token ' +
  'pipeline outline section claim source summary draft reader editor argument example ' +
  'context window baseline candidate metric tolerance savings traffic request answer'
).split(' ');

/** FNV-1a, 32 bit: a stable seed from any string. */
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: a small seeded PRNG returning numbers in [0, 1). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prompt tokens as a tokenizer would roughly count them: 4 characters a token, 3 per message. */
function promptTokens(messages) {
  let chars = 0;
  for (const m of messages) chars += typeof m.content === 'string' ? m.content.length : 0;
  return Math.ceil(chars / 4) + 3 * messages.length;
}

function words(random, tokens) {
  const out = [];
  let chars = 0;
  while (chars < tokens * 4) {
    const w = WORDS[Math.floor(random() * WORDS.length)];
    out.push(w);
    chars += w.length + 1;
  }
  return out.join(' ');
}

/** The answer of `model` to `messages`: its text, token counts and, for agent work, its quality. */
function answer(model, messages, seed) {
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const user = messages
    .filter((m) => m.role !== 'system')
    .map((m) => m.content)
    .join('\n');
  const random = seededRandom(hashString(`${seed}|${model}|${system}|${user}`));
  const input = promptTokens(messages);

  if (REVIEWER.test(system)) {
    // Judging: read the ground truth the reviewed answer carries.
    const match = TAG.exec(user);
    const score = match ? Math.round(Number(match[1]) * 10) : 5;
    const content = JSON.stringify({ score, reason: `scored ${score}/10 against the brief` });
    return { content, input, output: 12 + Math.floor(random() * 6) };
  }

  const kind = KIND.exec(system)?.[1] ?? 'other';
  const targetTokens = Math.round(
    (OUTPUT_TOKENS[kind] ?? OUTPUT_TOKENS.other) * (0.9 + 0.2 * random()),
  );
  const mean = WORLD_QUALITY[model]?.[kind];
  let content = `${kind === 'other' ? 'Answer' : kind}: ${words(random, targetTokens)}`;
  if (mean !== undefined) {
    const quality = Math.min(1, Math.max(0, mean + (2 * random() - 1) * QUALITY_NOISE));
    content += ` [quality ${quality.toFixed(2)}]`;
  }
  return { content, input, output: targetTokens };
}

function sendError(res, status, message, code) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }));
}

/**
 * Starts the provider on 127.0.0.1 and a free port.
 *
 * @example
 * const provider = await startFakeProvider({ seed: 42 });
 * // SWITCHYARD_UPSTREAM_URL = provider.baseURL
 * await provider.close();
 */
export async function startFakeProvider({ seed = 42 } = {}) {
  const calls = new Map(); // model → calls answered
  let n = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: Object.keys(SNAPSHOTS).map((id) => ({ id, object: 'model', owned_by: 'demo' })),
        }),
      );
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'unknown_url');
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        sendError(res, 400, 'The body is not valid JSON.', 'invalid_json');
        return;
      }
      const model = body?.model;
      if (!Object.hasOwn(SNAPSHOTS, model)) {
        sendError(res, 404, `The model '${model}' does not exist.`, 'model_not_found');
        return;
      }
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        sendError(res, 400, 'messages must be a non-empty array.', null);
        return;
      }
      calls.set(model, (calls.get(model) ?? 0) + 1);
      const a = answer(model, body.messages, seed);
      const id = `chatcmpl-demo${(++n).toString(36).padStart(6, '0')}${hashString(`${seed}${n}`).toString(36)}`;
      const base = { id, created: 1_764_000_000, model: SNAPSHOTS[model] };
      const usage = {
        prompt_tokens: a.input,
        completion_tokens: a.output,
        total_tokens: a.input + a.output,
      };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: a.content },
                finish_reason: 'stop',
              },
            ],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (payload) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      const chunk = (delta, finish) =>
        send({
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta, finish_reason: finish }],
        });
      chunk({ role: 'assistant', content: '' }, null);
      const parts = a.content.match(/[\s\S]{1,160}/g) ?? [];
      for (const part of parts) chunk({ content: part }, null);
      chunk({}, 'stop');
      if (body.stream_options?.include_usage) {
        send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    /** Calls answered, by model: what the provider really served. */
    calls: () => Object.fromEntries(calls),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
