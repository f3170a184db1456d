/**
 * The bodies OTLP/HTTP answers with, in the request's encoding: `ExportTraceServiceResponse`
 * on success (empty, or with `partial_success`), `google.rpc.Status` on failure.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp-response
 */

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPE_PROTOBUF = 'application/x-protobuf';
export const CONTENT_TYPE_JSON = 'application/json';

/** gRPC status codes used in `google.rpc.Status.code`. */
export const RPC_INVALID_ARGUMENT = 3;
export const RPC_RESOURCE_EXHAUSTED = 8;
export const RPC_INTERNAL = 13;
export const RPC_UNAVAILABLE = 14;

const EMPTY = new Uint8Array(0);
const EMPTY_JSON = Buffer.from('{}');
const encoder = new TextEncoder();

/** `ExportTraceServiceResponse`, with `partial_success` only when spans were rejected. */
export function exportResponseBody(
  encoding: OtlpEncoding,
  rejectedSpans: number,
  errorMessage: string,
): Uint8Array {
  if (rejectedSpans <= 0) return encoding === 'json' ? EMPTY_JSON : EMPTY;
  if (encoding === 'json') {
    // int64 fields are strings in the protobuf JSON mapping.
    return Buffer.from(
      JSON.stringify({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }),
    );
  }
  const message = encoder.encode(errorMessage);
  const inner = concat([[0x08], varint(rejectedSpans), [0x12], varint(message.length), message]);
  return concat([[0x0a], varint(inner.length), inner]);
}

/** `google.rpc.Status` {code, message}. */
export function statusBody(encoding: OtlpEncoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const text = encoder.encode(message);
  return concat([[0x08], varint(code), [0x12], varint(text.length), text]);
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
