import { ByteQueue } from './byte-queue.js';
import { RespProtocolError } from './errors.js';

export interface RequestLimits {
  /** Most arguments in one request (command name included). */
  maxArgs: number;
  /** Largest single argument, in bytes. */
  maxArgBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxArgs: 1024, maxArgBytes: 8 * 1024 * 1024 };

const STAR = 42;
const DOLLAR = 36;
const MAX_HEADER_LINE = 32;

/**
 * Incremental parser for client requests: RESP2 arrays of bulk strings, nothing else.
 * Feed it socket chunks with push(); next() returns complete requests in order, null when
 * it needs more bytes, and throws RespProtocolError when the stream cannot be resynchronised.
 */
export class RequestParser {
  private readonly q = new ByteQueue();
  private args: Buffer[] = [];
  private expected = -1; // arguments still to read in the current request; -1 = between requests
  private bulkLen = -1; // length of the bulk being read; -1 = reading its header

  constructor(private readonly limits: RequestLimits = DEFAULT_REQUEST_LIMITS) {}

  push(chunk: Buffer): void {
    this.q.push(chunk);
  }

  get buffered(): number {
    return this.q.length;
  }

  next(): Buffer[] | null {
    const q = this.q;
    if (this.expected < 0) {
      if (q.length === 0) return null;
      if (q.peek(0) !== STAR) throw new RespProtocolError('Malformed request, array expected');
      const n = this.readLineInt();
      if (n === null) return null;
      if (!Number.isInteger(n) || n < 1) throw new RespProtocolError('Malformed request, invalid array size');
      if (n > this.limits.maxArgs) throw new RespProtocolError('Too many arguments');
      this.expected = n;
      this.args = [];
    }
    while (this.args.length < this.expected) {
      if (this.bulkLen < 0) {
        if (q.length === 0) return null;
        if (q.peek(0) !== DOLLAR) throw new RespProtocolError('Malformed request, bulk string expected');
        const len = this.readLineInt();
        if (len === null) return null;
        if (!Number.isInteger(len) || len < 0) throw new RespProtocolError('Malformed request, invalid bulk length');
        if (len > this.limits.maxArgBytes) throw new RespProtocolError('Argument too large');
        this.bulkLen = len;
      }
      if (q.length < this.bulkLen + 2) return null;
      const arg = q.take(this.bulkLen);
      if (q.peek(0) !== 13 || q.peek(1) !== 10) throw new RespProtocolError('Malformed request, missing CRLF');
      q.skip(2);
      this.args.push(arg);
      this.bulkLen = -1;
    }
    const out = this.args;
    this.args = [];
    this.expected = -1;
    return out;
  }

  /** Reads "<prefix><int>\r\n"; null when the line is not complete yet. */
  private readLineInt(): number | null {
    const end = this.q.indexOfCrlf(MAX_HEADER_LINE);
    if (end < 0) {
      if (this.q.length > MAX_HEADER_LINE) throw new RespProtocolError('Malformed request, header line too long');
      return null;
    }
    this.q.skip(1);
    const v = this.q.readInt(end - 1);
    if (Number.isNaN(v)) throw new RespProtocolError('Malformed request, invalid number');
    this.q.skip(2);
    return v;
  }
}
