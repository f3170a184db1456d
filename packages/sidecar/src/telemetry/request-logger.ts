/**
 * The sidecar's logger: JSON lines, at most one per request, never bodies, prompts or keys.
 * Callers pass only the fields listed in `RequestLogFields`, so a secret cannot slip in by
 * accident. Below its level a call costs one comparison.
 */
import type { LogLevel } from '../config/sidecar-config.js';

const LEVELS: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

/** What one request's log line may contain. */
export interface RequestLogFields {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly requestId?: string;
  readonly model?: string;
  readonly requestedModel?: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly cache?: string;
  readonly error?: string;
}

export interface Logger {
  readonly level: LogLevel;
  /** Writes buffered lines now (call before exit). */
  flush?(): void;
  enabled(level: LogLevel): boolean;
  request(fields: RequestLogFields): void;
  /** A line about the process (start, stop, Redis state). `message` must not hold secrets. */
  log(
    level: Exclude<LogLevel, 'silent'>,
    message: string,
    fields?: Readonly<Record<string, string | number | boolean>>,
  ): void;
}

/**
 * Creates a logger writing to `write` (default: stdout). Lines are gathered and written once
 * per event-loop turn: stdout to a file or pipe is a synchronous syscall in Node, and one per
 * request would cost more than the proxying itself at high rates.
 *
 * @example
 * const logger = createLogger('info');
 * logger.request({ method: 'POST', path: '/v1/chat/completions', status: 200, ms: 812.4, model: 'gpt-4o-mini' });
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  now: () => number = Date.now,
): Logger {
  const threshold = LEVELS[level];
  const enabled = (l: LogLevel): boolean => LEVELS[l] >= threshold && l !== 'silent';
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const out = pending;
    pending = '';
    try {
      write(out);
    } catch {
      // a broken stdout must not fail requests
    }
  };
  const emit = (l: string, body: Record<string, unknown>): void => {
    pending += `${JSON.stringify({ time: new Date(now()).toISOString(), level: l, ...body })}\n`;
    if (pending.length > 65_536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    level,
    enabled,
    flush,
    request(fields) {
      if (threshold > LEVELS.info) return;
      emit(fields.status >= 500 ? 'warn' : 'info', {
        msg: 'request',
        ...fields,
        ms: Math.round(fields.ms * 100) / 100,
      });
    },
    log(l, message, fields) {
      if (!enabled(l)) return;
      emit(l, { msg: message, ...fields });
    },
  };
}
