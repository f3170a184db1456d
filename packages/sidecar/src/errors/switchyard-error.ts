/**
 * The sidecar's one error root. Every failure the proxy reports to a client is a
 * `SwitchyardError` (or becomes one in `sendError`), so the mapping to OpenAI's error body lives
 * in exactly one place and every OpenAI client raises its own typed error for it.
 */

/** Options shared by every error class: OpenAI's `param` and `code` fields, and the cause. */
export interface SwitchyardErrorOptions {
  /** The request field at fault (`messages`, `model`, ...), or null. */
  readonly param?: string | null;
  /** A short machine-readable code (`invalid_json`, `body_too_large`, ...), or null. */
  readonly code?: string | null;
  readonly cause?: unknown;
  /** Extra response headers (for example `retry-after` on a 429 or 503). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Root of every error the sidecar sends to a client.
 *
 * @example
 * throw new BadRequestError("'messages' must be an array", { param: 'messages' });
 */
export class SwitchyardError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(status: number, type: string, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
  }
}

/** 400: the request is malformed (bad JSON, a missing or mistyped field). */
export class BadRequestError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(400, 'invalid_request_error', message, options);
  }
}

/** 401: missing or wrong credentials (the admin token, or no key for the upstream). */
export class AuthenticationError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(401, 'authentication_error', message, { code: 'invalid_api_key', ...options });
  }
}

/** 404: unknown path or unknown model. */
export class NotFoundError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(404, 'invalid_request_error', message, { code: 'not_found', ...options });
  }
}

/** 413: the request body is over the configured limit. */
export class PayloadTooLargeError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(413, 'invalid_request_error', message, { code: 'body_too_large', ...options });
  }
}

/** 429: too many requests (a bounded queue is full). */
export class RateLimitError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(429, 'rate_limit_error', message, { code: 'rate_limit_exceeded', ...options });
  }
}

/** 502: the upstream provider failed or answered something that is not a valid response. */
export class UpstreamError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(502, 'upstream_error', message, { code: 'bad_gateway', ...options });
  }
}

/** 503: the sidecar cannot serve right now (shutting down, circuit open, not ready). */
export class UnavailableError extends SwitchyardError {
  constructor(message: string, options?: SwitchyardErrorOptions) {
    super(503, 'service_unavailable', message, { code: 'unavailable', ...options });
  }
}

/** 500: a bug. The message sent to the client is always generic. */
export class InternalError extends SwitchyardError {
  constructor(
    message = 'The Switchyard sidecar had an internal error.',
    options?: SwitchyardErrorOptions,
  ) {
    super(500, 'server_error', message, { code: 'internal_error', ...options });
  }
}
