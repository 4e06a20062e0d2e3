import { ByteQueue } from './byte-queue.js';
import { RespProtocolError } from './errors.js';

/** An error reply from the server ("-..."); a value, not a thrown error, until the client decides. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | Buffer | null | RespErrorReply | RespValue[];

const MAX_LINE = 64 * 1024;

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

  constructor(private readonly maxBulk = 512 * 1024 * 1024) {}

  push(chunk: Buffer): void {
    this.q.push(chunk);
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
      if (q.length < this.bulkLen + 2) return undefined;
      const data = q.take(this.bulkLen);
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
