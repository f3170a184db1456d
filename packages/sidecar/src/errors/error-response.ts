/**
 * The one place an error becomes an HTTP answer in OpenAI's shape
 * `{"error":{"message","type","param","code"}}`.
 */
import type { ServerResponse } from 'node:http';
import { InternalError, SwitchyardError } from './switchyard-error.js';

/** OpenAI's error body. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

const GENERIC = new InternalError();

/**
 * Maps any thrown value to a `SwitchyardError`. Unknown errors become a generic 500 so that
 * their message (which may quote a prompt or a key) never reaches the client.
 */
export function toSwitchyardError(error: unknown): SwitchyardError {
  return error instanceof SwitchyardError ? error : GENERIC;
}

/** The JSON body OpenAI clients expect for an error. */
export function errorBody(error: SwitchyardError): OpenAiErrorBody {
  return {
    error: { message: error.message, type: error.type, param: error.param, code: error.code },
  };
}

/**
 * Sends `error` as OpenAI's error body with its status. If the headers are already sent (a
 * stream failed midway) the connection is destroyed instead: a status can no longer be set, and
 * a clean end would let the client take a truncated answer for a whole one.
 *
 * @example
 * try { await handle(req, res); } catch (error) { sendError(res, error); }
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  sendErrorWith(res, toSwitchyardError(error), undefined);
}

/** Like `sendError`, adding `headers` (e.g. `x-request-id`) to the answer. */
export function sendErrorWith(
  res: ServerResponse,
  e: SwitchyardError,
  extra: Readonly<Record<string, string>> | undefined,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const payload = JSON.stringify(errorBody(e));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  };
  if (extra !== undefined) Object.assign(headers, extra);
  if (e.headers !== undefined) Object.assign(headers, e.headers);
  try {
    res.writeHead(e.status, headers);
    res.end(payload);
  } catch {
    // Reporting an error must never raise another one (an unhandled rejection ends the
    // process); a response that cannot be written is dropped.
    res.destroy();
  }
}
