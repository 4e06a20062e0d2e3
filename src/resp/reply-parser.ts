import { ByteQueue } from './byte-queue.js';
import { RespProtocolError } from './errors.js';

/** An error reply from the server ("-..."); a value, not a thrown error, until the client decides. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | Buffer | null | RespErrorReply | RespValue[];

const MAX_LINE = 64 * 1024;
/**
 * A bulk value up to this long whose bytes have not all arrived is received straight into a
 * buffer of its own, allocated when its length is read; a longer one (a peer may announce up to
 * maxBulk) only takes memory as its bytes arrive. zdb values are at most 8 MiB.
 */
const DIRECT_BULK_MAX = 8 * 1024 * 1024;

interface Frame {
  items: RespValue[];
  remaining: number;
}

/**
 * Incremental parser for server replies (any RESP2 value, nested arrays included).
 * Simple strings come back as JS strings, bulk strings as Buffers.
 */
export class ReplyParser {
  private readonly q = new ByteQueue();
  private stack: Frame[] = [];
  private bulkLen = -1;
  /** The bulk value being received into its own buffer (see DIRECT_BULK_MAX); `filled` bytes so far. */
  private direct: { out: Buffer; filled: number } | null = null;
  /** Set during feed(): the queued bytes belong to a buffer the caller reuses, so values are copies. */
  private transient = false;

  constructor(private readonly maxBulk = 512 * 1024 * 1024) {}

  /** Queues `chunk`, which must stay unchanged while it is parsed (values may be views of it). */
  push(chunk: Buffer): void {
    this.q.push(this.fillDirect(chunk));
  }

  /**
   * Parses `chunk` and hands each complete value to `onValue`; the caller may reuse `chunk` as
   * soon as this returns (a socket's `onread` buffer): every byte kept is a copy, and a large
   * value's bytes are copied once, into the value's own buffer.
   */
  feed(chunk: Buffer, onValue: (value: RespValue) => void): void {
    const rest = this.fillDirect(chunk);
    this.q.push(rest);
    this.transient = true;
    try {
      let value: RespValue | undefined;
      while ((value = this.next()) !== undefined) onValue(value);
    } finally {
      this.transient = false;
      this.q.own(rest);
    }
  }

  /** Copies what the direct bulk still lacks from the start of `chunk`; returns the rest. */
  private fillDirect(chunk: Buffer): Buffer {
    const d = this.direct;
    if (!d || d.filled === d.out.length) return chunk;
    const n = Math.min(chunk.length, d.out.length - d.filled);
    chunk.copy(d.out, d.filled, 0, n);
    d.filled += n;
    return chunk.subarray(n);
  }

  /** Next complete top-level value, or undefined when more bytes are needed. */
  next(): RespValue | undefined {
    for (;;) {
      const v = this.scalar();
      if (v === undefined) return undefined;
      let value: RespValue = v.value;
      if (v.arrayLen !== undefined) {
        if (v.arrayLen > 0) {
          this.stack.push({ items: [], remaining: v.arrayLen });
          continue;
        }
        value = v.arrayLen < 0 ? null : [];
      }
      // Fold the value into enclosing arrays.
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (!top) return value;
        top.items.push(value);
        if (--top.remaining > 0) break;
        this.stack.pop();
        value = top.items;
      }
    }
  }

  private scalar(): { value: RespValue; arrayLen?: number } | undefined {
    const q = this.q;
    if (this.bulkLen >= 0) {
      const d = this.direct;
      if (d) {
        if (d.filled < d.out.length || q.length < 2) return undefined;
        this.direct = null;
      } else if (q.length < this.bulkLen + 2) {
        if (this.bulkLen <= DIRECT_BULK_MAX && q.length < this.bulkLen) {
          this.direct = { out: Buffer.allocUnsafe(this.bulkLen), filled: 0 };
          this.direct.filled = q.copyOut(this.direct.out);
        }
        return undefined;
      }
      const data = d ? d.out : q.take(this.bulkLen, this.transient);
      if (q.peek(0) !== 13 || q.peek(1) !== 10) throw new RespProtocolError('MALFORMED', 'bulk value without its CRLF');
      q.skip(2);
      this.bulkLen = -1;
      return { value: data };
    }
    if (q.length === 0) return undefined;
    const end = q.indexOfCrlf(MAX_LINE);
    if (end < 0) {
      if (q.length > MAX_LINE) throw new RespProtocolError('TOO_LARGE', 'reply line too long');
      return undefined;
    }
    if (end === 0) throw new RespProtocolError('MALFORMED', 'reply line without a type byte');
    const type = q.peek(0);
    q.skip(1);
    const body = q.take(end - 1).toString('latin1');
    q.skip(2);
    switch (type) {
      case 43: // +
        return { value: body };
      case 45: // -
        return { value: new RespErrorReply(body) };
      case 58: // :
        return { value: Number(body) };
      case 36: {
        // $
        const len = Number(body);
        if (len < 0) return { value: null };
        if (!Number.isInteger(len) || len > this.maxBulk)
          throw new RespProtocolError('MALFORMED', `bad bulk length ${body}`);
        this.bulkLen = len;
        return this.scalar();
      }
      case 42: {
        // *
        const n = Number(body);
        if (!Number.isInteger(n)) throw new RespProtocolError('MALFORMED', `bad array length ${body}`);
        return { value: null, arrayLen: n };
      }
      default:
        throw new RespProtocolError('MALFORMED', `unexpected reply type byte ${type}`);
    }
  }
}
