/**
 * Cheap reads of an upstream JSON answer for the common case where nothing but its usage is
 * needed (no tracing, no caching): a structural check instead of a full parse, and the `usage`
 * object found from the end and parsed alone. A full `JSON.parse` of every answer costs about as
 * much as the rest of the proxying; the answer's bytes go to the client untouched either way.
 */
import { type ObservedUsage, readUsage } from './stream-observer.js';

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * True when `buf` is shaped like one JSON object (first and last non-blank bytes are braces) and
 * the content type says JSON. HTML error pages, plain text and cut-off bodies fail this; callers
 * fall back to a full parse to decide.
 */
export function looksLikeJsonObject(buf: Buffer, contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.includes('json')) return false;
  let i = 0;
  let j = buf.length - 1;
  while (i <= j && isSpace(buf[i] as number)) i++;
  while (j >= i && isSpace(buf[j] as number)) j--;
  return j > i && buf[i] === OPEN && buf[j] === CLOSE;
}

const USAGE_KEY = Buffer.from('"usage"');

/**
 * The `usage` object of a chat or embeddings answer, found from the end of the body (where
 * OpenAI-compatible servers put it) and parsed on its own.
 *
 * @example
 * scanUsage(Buffer.from('{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":1}}'));
 * // { inputTokens: 3, outputTokens: 1 }
 */
export function scanUsage(buf: Buffer): ObservedUsage | undefined {
  const key = buf.lastIndexOf(USAGE_KEY);
  if (key < 0) return undefined;
  let i = key + USAGE_KEY.length;
  while (i < buf.length && isSpace(buf[i] as number)) i++;
  if (buf[i] !== 0x3a) return undefined; // ':'
  i++;
  while (i < buf.length && isSpace(buf[i] as number)) i++;
  if (buf[i] !== OPEN) return undefined;
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < buf.length; i++) {
    const b = buf[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN) {
      depth++;
    } else if (b === CLOSE && --depth === 0) {
      try {
        return readUsage(JSON.parse(buf.toString('utf8', start, i + 1)));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
