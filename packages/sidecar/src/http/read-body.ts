import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError } from '../errors/switchyard-error.js';

/**
 * Reads the whole request body into one Buffer, refusing more than `limitBytes`.
 *
 * A declared `content-length` over the limit is refused before reading a byte; a chunked body
 * that grows past the limit stops being read at once (the socket is left to close after the 413
 * is sent), so a huge body never sits in memory.
 *
 * @example
 * const body = await readBody(req, 4 * 1024 * 1024);
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge(limitBytes));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        finish();
        req.off('data', onData);
        chunks.length = 0;
        // Keep draining without storing so the 413 can still be written on this socket.
        req.resume();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (done) return;
      finish();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      if (done) return;
      finish();
      reject(new BadRequestError('The request body could not be read.', { cause: error }));
    };
    // A client that hangs up mid-body ends the read (no 'end' will ever come).
    const onAborted = (): void => {
      if (!req.complete) onError(new Error('client aborted'));
    };
    // Listeners stay attached (removing them costs more than the request object's lifetime);
    // `done` makes late events no-ops, and `onData` detaches itself when refusing a body.
    function finish(): void {
      done = true;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onAborted);
  });
}

function tooLarge(limitBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `The request body is larger than the limit of ${limitBytes} bytes (set SWITCHYARD_MAX_BODY_BYTES to raise it).`,
    // The rest of the body is not worth reading: close the connection after the answer.
    { headers: { connection: 'close' } },
  );
}
