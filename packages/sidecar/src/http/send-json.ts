import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * Writes `body` as a JSON answer with an exact `content-length`. A string or Buffer body is
 * sent as is (already serialized JSON), which lets cache hits skip a parse/serialize round.
 *
 * @example
 * sendJson(res, 200, { status: 'ok' });
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: OutgoingHttpHeaders,
): void {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const out: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  };
  if (headers !== undefined) Object.assign(out, headers);
  res.writeHead(status, out);
  res.end(payload);
}
