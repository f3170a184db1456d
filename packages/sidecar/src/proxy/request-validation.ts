/**
 * Checks of request bodies at the boundary: one parse, then the fields the proxy relies on.
 * Everything else is the upstream's to judge, so new API fields pass through untouched.
 */
import { BadRequestError } from '../errors/switchyard-error.js';

/** Parses a JSON object body, or throws a 400 naming the problem. */
export function parseJsonBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) {
    throw new BadRequestError('The request body is empty; send a JSON object.', {
      code: 'invalid_json',
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    // The parser's message can quote the body, which may hold prompt text: say less.
    throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
  }
  return body as Record<string, unknown>;
}

function requireModel(body: Record<string, unknown>): string {
  const model = body.model;
  if (model === undefined) {
    throw new BadRequestError("Missing required parameter: 'model'.", {
      param: 'model',
      code: 'missing_required_parameter',
    });
  }
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw new BadRequestError("Invalid type for 'model': expected a non-empty string.", {
      param: 'model',
      code: 'invalid_type',
    });
  }
  return model;
}

/** Validates a chat completion body; returns the requested model. */
export function validateChatBody(body: Record<string, unknown>): string {
  const model = requireModel(body);
  const messages = body.messages;
  if (messages === undefined) {
    throw new BadRequestError("Missing required parameter: 'messages'.", {
      param: 'messages',
      code: 'missing_required_parameter',
    });
  }
  if (!Array.isArray(messages)) {
    throw new BadRequestError(
      "Invalid type for 'messages': expected an array of message objects.",
      { param: 'messages', code: 'invalid_type' },
    );
  }
  if (messages.length === 0) {
    throw new BadRequestError("Invalid 'messages': empty array. Expected at least one message.", {
      param: 'messages',
      code: 'empty_array',
    });
  }
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as unknown;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw new BadRequestError(`Invalid type for 'messages[${i}]': expected an object.`, {
        param: `messages[${i}]`,
        code: 'invalid_type',
      });
    }
    if (typeof (m as { role?: unknown }).role !== 'string') {
      throw new BadRequestError(`Missing or invalid 'messages[${i}].role': expected a string.`, {
        param: `messages[${i}].role`,
        code: 'invalid_type',
      });
    }
  }
  checkOptional(body, 'stream', 'boolean');
  checkOptional(body, 'temperature', 'number');
  checkOptional(body, 'top_p', 'number');
  checkOptional(body, 'n', 'number');
  checkOptional(body, 'max_tokens', 'number');
  checkOptional(body, 'max_completion_tokens', 'number');
  checkOptional(body, 'seed', 'number');
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (typeof body.stream_options !== 'object' || Array.isArray(body.stream_options)) {
      throw new BadRequestError("Invalid type for 'stream_options': expected an object.", {
        param: 'stream_options',
        code: 'invalid_type',
      });
    }
  }
  return model;
}

/** Validates an embeddings body; returns the requested model. */
export function validateEmbeddingsBody(body: Record<string, unknown>): string {
  const model = requireModel(body);
  const input = body.input;
  if (input === undefined) {
    throw new BadRequestError("Missing required parameter: 'input'.", {
      param: 'input',
      code: 'missing_required_parameter',
    });
  }
  if (typeof input !== 'string' && !Array.isArray(input)) {
    throw new BadRequestError("Invalid type for 'input': expected a string or an array.", {
      param: 'input',
      code: 'invalid_type',
    });
  }
  return model;
}

function checkOptional(
  body: Record<string, unknown>,
  field: string,
  type: 'boolean' | 'number',
): void {
  const v = body[field];
  if (v === undefined || v === null) return;
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
    throw new BadRequestError(`Invalid type for '${field}': expected a ${type}.`, {
      param: field,
      code: 'invalid_type',
    });
  }
}
