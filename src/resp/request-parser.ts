import { ByteQueue } from './byte-queue.js';
import { RespProtocolError } from './errors.js';

export interface RequestLimits {
  /** Most arguments in one request (command name included). */
  maxArgs: number;
  /** Largest single argument, in bytes. */
  maxArgBytes: number;
  /** Most bytes of one request on the wire, framing included. */
  maxRequestBytes: number;
}

/**
 * The largest legal zdb request is SET with an 8 MiB value, a key of up to 255 bytes and a
 * timestamp: 8 MiB for the value, 64 KiB for everything else. A request whose declared sizes
 * pass these bounds is refused before its bytes are buffered.
 */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxArgs: 1024,
  maxArgBytes: 8 * 1024 * 1024,
  maxRequestBytes: 8 * 1024 * 1024 + 64 * 1024,
};

/**
 * An argument at least this long that arrives over several socket chunks is kept as its pieces
 * (views), not copied into one buffer: a zdb SET of a 4 MiB shard arrives in ~64 pieces of 64 KiB,
 * and its value goes from them to the data file with one writev. Past MAX_PIECES (a peer sending
 * tiny segments) it is joined instead, so that one writev (IOV_MAX 1024) still takes it whole.
 */
const PIECES_MIN_BYTES = 64 * 1024;
const MAX_PIECES = 1024;

/** The pieces of the arguments kept in pieces, by request (the args array next() returned). */
const piecesByRequest = new WeakMap<Buffer[], Map<number, Buffer[]>>();

/**
 * Argument `i` of a request from RequestParser.next() as the pieces it arrived in (one piece when
 * it arrived whole or was joined). Reading `args[i]` instead joins the pieces into one buffer, once.
 */
export function argumentPieces(args: Buffer[], i: number): Buffer[] {
  return piecesByRequest.get(args)?.get(i) ?? [args[i]!];
}

/** Puts a pieced argument at args[i]: joined into one buffer only if someone reads it. */
function definePieced(args: Buffer[], pieces: Buffer[]): void {
  const i = args.length;
  let byIndex = piecesByRequest.get(args);
  if (!byIndex) piecesByRequest.set(args, (byIndex = new Map()));
  byIndex.set(i, pieces);
  Object.defineProperty(args, i, {
    configurable: true,
    enumerable: true,
    get(): Buffer {
      const joined = Buffer.concat(pieces);
      Object.defineProperty(args, i, { value: joined, writable: true, enumerable: true, configurable: true });
      return joined;
    },
  });
}

const STAR = 42;
const DOLLAR = 36;
const MAX_HEADER_LINE = 32;

const malformed = (what: string): RespProtocolError => new RespProtocolError('MALFORMED', `Malformed request, ${what}`);

/**
 * Incremental parser for client requests: RESP2 arrays of bulk strings, nothing else.
 * Feed it socket chunks with push(); next() returns complete requests in order, null when
 * it needs more bytes, and throws RespProtocolError when the stream cannot be resynchronised
 * or a request passes the limits.
 */
export class RequestParser {
  private readonly q = new ByteQueue();
  private args: Buffer[] = [];
  private expected = -1; // arguments still to read in the current request; -1 = between requests
  private bulkLen = -1; // length of the bulk being read; -1 = reading its header
  private requestBytes = 0; // bytes of the current request declared so far

  constructor(private readonly limits: RequestLimits = DEFAULT_REQUEST_LIMITS) {}

  push(chunk: Buffer): void {
    this.q.push(chunk);
  }

  get buffered(): number {
    return this.q.length;
  }

  /** True when a request has begun and is not complete yet. */
  get pending(): boolean {
    return this.expected >= 0 || this.q.length > 0;
  }

  /**
   * Bytes that must still arrive before next() can return a request: those of the argument being
   * read, while one is; otherwise 0 (next() may have a request to give, or needs a header line).
   */
  get missingBytes(): number {
    return this.bulkLen < 0 ? 0 : Math.max(0, this.bulkLen + 2 - this.q.length);
  }

  next(): Buffer[] | null {
    const q = this.q;
    if (this.expected < 0) {
      if (q.length === 0) return null;
      if (q.peek(0) !== STAR) throw malformed('array expected');
      const n = this.readLineInt();
      if (n === null) return null;
      if (!Number.isInteger(n) || n < 1) throw malformed('invalid array size');
      if (n > this.limits.maxArgs) throw new RespProtocolError('TOO_LARGE', 'Too many arguments');
      this.expected = n;
      this.args = [];
    }
    while (this.args.length < this.expected) {
      if (this.bulkLen < 0) {
        if (q.length === 0) return null;
        if (q.peek(0) !== DOLLAR) throw malformed('bulk string expected');
        const len = this.readLineInt();
        if (len === null) return null;
        if (!Number.isInteger(len) || len < 0) throw malformed('invalid bulk length');
        if (len > this.limits.maxArgBytes) throw new RespProtocolError('TOO_LARGE', 'Argument too large');
        this.requestBytes += len + 2;
        if (this.requestBytes > this.limits.maxRequestBytes)
          throw new RespProtocolError('TOO_LARGE', 'Request too large');
        this.bulkLen = len;
      }
      if (q.length < this.bulkLen + 2) return null;
      const spanned = q.chunksSpanned(this.bulkLen);
      if (this.bulkLen >= PIECES_MIN_BYTES && spanned > 1 && spanned <= MAX_PIECES)
        definePieced(this.args, q.takePieces(this.bulkLen));
      else this.args.push(q.take(this.bulkLen));
      if (q.peek(0) !== 13 || q.peek(1) !== 10) throw malformed('missing CRLF');
      q.skip(2);
      this.bulkLen = -1;
    }
    const out = this.args;
    this.args = [];
    this.expected = -1;
    this.requestBytes = 0;
    return out;
  }

  /** Reads "<prefix><int>\r\n", counting it in the request's bytes; null when the line is not complete yet. */
  private readLineInt(): number | null {
    const end = this.q.indexOfCrlf(MAX_HEADER_LINE);
    if (end < 0) {
      if (this.q.length > MAX_HEADER_LINE) throw malformed('header line too long');
      return null;
    }
    this.q.skip(1);
    const v = this.q.readInt(end - 1);
    if (Number.isNaN(v)) throw malformed('invalid number');
    this.q.skip(2);
    this.requestBytes += end + 2;
    return v;
  }
}
