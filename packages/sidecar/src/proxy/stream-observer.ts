/**
 * Watches a server-sent-event stream of chat completion chunks as it passes through, without
 * holding it up: it learns the usage, finish reasons, model and id for cost and spans, and keeps
 * the transcript only when the answer is going to be cached.
 */
import { StringDecoder } from 'node:string_decoder';

export interface ObservedUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
}

/**
 * @example
 * const observer = new StreamObserver(true);
 * upstream.on('data', (chunk) => { res.write(chunk); observer.push(chunk); });
 * observer.transcript(); // the whole SSE text, for the cache
 */
export class StreamObserver {
  usage: ObservedUsage | undefined;
  model: string | undefined;
  responseId: string | undefined;
  readonly finishReasons: string[] = [];
  /** True once `data: [DONE]` went by: the stream ended properly. */
  done = false;
  readonly #collect: boolean;
  readonly #chunks: Buffer[] = [];
  readonly #decoder = new StringDecoder('utf8');
  #carry = '';

  constructor(collectTranscript: boolean) {
    this.#collect = collectTranscript;
  }

  push(chunk: Buffer): void {
    if (this.#collect) this.#chunks.push(chunk);
    const text = this.#carry + this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.#line(text, start, nl);
      start = nl + 1;
    }
    // Bounded: a line longer than 1 MiB without a newline is not an SSE line we care about.
    this.#carry = start < text.length && text.length - start < 1 << 20 ? text.slice(start) : '';
  }

  /** The full transcript (only when collecting). */
  transcript(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  #line(text: string, start: number, end: number): void {
    if (!text.startsWith('data:', start)) return;
    let from = start + 5;
    if (text.charCodeAt(from) === 32) from++;
    let to = end;
    if (text.charCodeAt(to - 1) === 13) to--;
    if (to - from === 6 && text.startsWith('[DONE]', from)) {
      this.done = true;
      return;
    }
    // Only chunks that can carry something we want are parsed; plain deltas are skipped.
    const line = text.slice(from, to);
    const wantsModel = this.model === undefined;
    if (!wantsModel && !line.includes('"usage":{') && !line.includes('"finish_reason":"')) return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof chunk !== 'object' || chunk === null) return;
    const c = chunk as {
      model?: unknown;
      id?: unknown;
      usage?: unknown;
      choices?: unknown;
    };
    if (typeof c.model === 'string') this.model = c.model;
    if (typeof c.id === 'string' && this.responseId === undefined) this.responseId = c.id;
    const usage = readUsage(c.usage);
    if (usage !== undefined) this.usage = usage;
    if (Array.isArray(c.choices)) {
      for (const choice of c.choices) {
        const reason = (choice as { finish_reason?: unknown } | null)?.finish_reason;
        if (typeof reason === 'string') this.finishReasons.push(reason);
      }
    }
  }
}

/** OpenAI's `usage` object (chat or embeddings) in our token vocabulary, if well-formed. */
export function readUsage(raw: unknown): ObservedUsage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const u = raw as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  };
  if (typeof u.prompt_tokens !== 'number') return undefined;
  const out: ObservedUsage = {
    inputTokens: u.prompt_tokens,
    outputTokens: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0,
  };
  const cached = u.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number' && cached > 0) out.cacheReadInputTokens = cached;
  return out;
}
