/**
 * The protobuf wire format, just enough of it to walk OTLP: varints, fixed 32/64-bit numbers,
 * length-delimited ranges and skipping unknown fields by wire type. Every read checks the bounds
 * of the range it is in, so a truncated or hostile payload ends in an `OtlpDecodeError`, never
 * in a read past the end or an endless loop.
 */
import { OtlpDecodeError } from './intake-span.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_POW_32 = 4294967296;
// Shared by every reader: bounded by construction (slots are overwritten, never added).
const INTERN_SLOTS = 1024;
const INTERN_MAX_BYTES = 64;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS);
const internStrings: (string | undefined)[] = new Array(INTERN_SLOTS);

/**
 * Buffer's own decoders without `toString`'s argument checks (which cost as much as the decode
 * for short strings). They exist on every Node Buffer; `toString(enc, start, end)` calls them.
 */
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}
// Doubles are little-endian on the wire; so is every platform Node runs on.
const scratchDouble = new Float64Array(1);
const scratchBytes = new Uint8Array(scratchDouble.buffer);

/** A cursor over one buffer. `limit` is the end of the message currently being read. */
export class ProtobufReader {
  pos = 0;
  limit: number;

  /** The same memory as a Buffer, for its native UTF-8 and hex decoders. */
  private readonly fast: FastSlices;

  constructor(readonly buf: Uint8Array) {
    this.limit = buf.length;
    const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    this.fast = bytes as unknown as FastSlices;
  }

  /** A varint that must fit 32 bits (tags, lengths, enums); larger values are malformed. */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.limit) throw truncated();
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    let shift = 7;
    while (true) {
      if (pos >= this.limit) throw truncated();
      b = buf[pos++]!;
      if (shift === 28) {
        // Fifth byte: four more bits fit; anything beyond is a 64-bit varint, tolerated only
        // when its upper bytes are the sign extension of a negative int32 (enums may be that).
        value += (b & 0x0f) * 0x10000000;
        if (b >= 0x80) {
          for (let i = 0; i < 5; i++) {
            if (pos >= this.limit) throw truncated();
            const more = buf[pos++]!;
            if (more < 0x80) break;
            if (i === 4) throw new OtlpDecodeError('varint longer than 10 bytes');
          }
        }
        this.pos = pos;
        return value >>> 0;
      }
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
      shift += 7;
    }
  }

  /** A varint int64, as a JS number (exact up to 2^53; negative values two's complement). */
  int64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (pos >= this.limit) throw truncated();
      b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
    }
    if (b >= 0x80) throw new OtlpDecodeError('varint longer than 10 bytes');
    this.pos = pos;
    if (hi & 0x80000000) {
      return -((~hi >>> 0) * TWO_POW_32 + (~lo >>> 0) + 1);
    }
    return (hi >>> 0) * TWO_POW_32 + (lo >>> 0);
  }

  /** Little-endian uint32 (half of a fixed64, or a fixed32). */
  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.limit) throw truncated();
    const buf = this.buf;
    this.pos = pos + 4;
    return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
  }

  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.limit) throw truncated();
    this.pos = pos + 8;
    const buf = this.buf;
    for (let i = 0; i < 8; i++) scratchBytes[i] = buf[pos + i]!;
    return scratchDouble[0]!;
  }

  /** Reads a length prefix and returns the end offset of the range it announces. */
  end(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.limit) throw truncated();
    return end;
  }

  /** Skips one field's value by its wire type. Groups (3, 4) and unknown wire types are malformed. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT: {
        const buf = this.buf;
        let pos = this.pos;
        for (let i = 0; ; i++) {
          if (pos >= this.limit) throw truncated();
          if (buf[pos++]! < 0x80) break;
          if (i === 9) throw new OtlpDecodeError('varint longer than 10 bytes');
        }
        this.pos = pos;
        return;
      }
      case WIRE_FIXED64:
        if (this.pos + 8 > this.limit) throw truncated();
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.end();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.limit) throw truncated();
        this.pos += 4;
        return;
      default:
        throw new OtlpDecodeError(`unsupported protobuf wire type ${wireType}`);
    }
  }

  /** UTF-8 text of `[start, end)`, as one flat string (no rope of one-char pieces). */
  text(start: number, end: number): string {
    return start === end ? '' : this.fast.utf8Slice(start, end);
  }

  /**
   * Like `text`, for values that repeat from span to span (models, agents, tasks, enums): a
   * small table keyed by the bytes returns the string already made, so a batch of 500 spans
   * with four models allocates four strings instead of 500.
   */
  internedText(start: number, end: number): string {
    const len = end - start;
    if (len === 0) return '';
    if (len > INTERN_MAX_BYTES) return this.text(start, end);
    const buf = this.buf;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h >>> 0) & (INTERN_SLOTS - 1);
    const cached = internBytes[slot];
    if (cached !== undefined && this.equals(start, end, cached)) return internStrings[slot]!;
    const value = this.text(start, end);
    // A copy: a view would keep the whole request body alive, and see it if it is reused.
    internBytes[slot] = Uint8Array.prototype.slice.call(buf, start, end);
    internStrings[slot] = value;
    return value;
  }

  /** Lowercase hex of `[start, end)`. */
  hex(start: number, end: number): string {
    return this.fast.hexSlice(start, end);
  }

  /** Whether `[start, end)` holds exactly `bytes`. */
  equals(start: number, end: number, bytes: Uint8Array): boolean {
    if (end - start !== bytes.length) return false;
    const buf = this.buf;
    for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
    return true;
  }
}

function truncated(): OtlpDecodeError {
  return new OtlpDecodeError('truncated protobuf message');
}
