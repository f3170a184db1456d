/**
 * Watches a server-sent-event stream of chat completion chunks as it passes through, without
 * holding it up: it learns the usage, finish reasons, model and id for cost and spans, and keeps
 * the transcript only when the answer is going to be cached.
 */

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
  /** Bytes after the last newline of the previous chunk (a line still being received). */
  #carry: Buffer | undefined;

  constructor(collectTranscript: boolean) {
    this.#collect = collectTranscript;
  }

  push(chunk: Buffer): void {
    if (this.#collect) this.#chunks.push(chunk);
    let buf = chunk;
    if (this.#carry !== undefined) {
      buf = Buffer.concat([this.#carry, chunk]);
      this.#carry = undefined;
    }
    // Only whole lines are looked at; a newline byte never sits inside a UTF-8 sequence.
    const lastNewline = buf.lastIndexOf(NEWLINE);
    if (lastNewline < buf.length - 1) {
      const rest = buf.length - lastNewline - 1;
      // Bounded: a line longer than 1 MiB is not an SSE line we care about.
      this.#carry = rest < MAX_CARRY ? Buffer.from(buf.subarray(lastNewline + 1)) : undefined;
    }
    if (lastNewline < 0) return;
    const lines = buf.subarray(0, lastNewline + 1);
    // Most chunks are plain content deltas: a few byte searches rule them out without decoding.
    if (this.model !== undefined && !INTERESTING.some((m) => lines.includes(m))) return;
    const text = lines.toString('utf8');
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.#line(text, start, nl);
      start = nl + 1;
    }
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
    const line = text.slice(from, to);
    if (
      this.model !== undefined &&
      !line.includes('"usage":{') &&
      !line.includes('"usage": {') &&
      !line.includes('"finish_reason":"') &&
      !line.includes('"finish_reason": "')
    ) {
      return;
    }
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

const NEWLINE = 0x0a;
const MAX_CARRY = 1 << 20;
// What makes a chunk worth decoding: usage, a finish reason, the end marker.
const INTERESTING: readonly Buffer[] = [
  '"usage":{',
  '"usage": {',
  '"finish_reason":"',
  '"finish_reason": "',
  '[DONE]',
].map((s) => Buffer.from(s));

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
