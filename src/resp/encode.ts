/**
 * RESP2 encoders. Replies are lists of buffers so a large value goes to the socket as is,
 * never copied into a bigger buffer.
 */
export type Chunks = Buffer[];

const CRLF = Buffer.from('\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
const SMALL_BULK = 4096;

export function simple(s: string): Buffer {
  return Buffer.from(`+${s}\r\n`);
}

export function error(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]/g, ' ')}\r\n`);
}

export function integer(n: number | bigint): Buffer {
  return Buffer.from(`:${n}\r\n`);
}

/** A bulk string (or nil); small values are packed into one buffer, large ones left in place. */
export function bulk(value: Buffer | string | null, out: Chunks = []): Chunks {
  if (value === null) {
    out.push(NIL);
    return out;
  }
  const buf = typeof value === 'string' ? Buffer.from(value) : value;
  if (buf.length <= SMALL_BULK) {
    const head = `$${buf.length}\r\n`;
    const one = Buffer.allocUnsafe(head.length + buf.length + 2);
    one.write(head, 0, 'latin1');
    buf.copy(one, head.length);
    one[one.length - 2] = 13;
    one[one.length - 1] = 10;
    out.push(one);
  } else {
    out.push(Buffer.from(`$${buf.length}\r\n`), buf, CRLF);
  }
  return out;
}

export function arrayHeader(n: number): Buffer {
  return Buffer.from(`*${n}\r\n`);
}

/** Encode a request: an array of bulk strings. */
export function command(args: ReadonlyArray<Buffer | string | number>): Chunks {
  const out: Chunks = [arrayHeader(args.length)];
  for (const a of args) bulk(typeof a === 'number' ? String(a) : a, out);
  return out;
}
