/**
 * A tiny RESP test client: one TCP connection, commands sent as arrays of bulk strings, replies
 * parsed with the project's ReplyParser and handed back in order. It can also send arbitrary bytes
 * and read raw bytes, for inline-command and garbage tests. No reconnects, no retries, no
 * interpretation of error replies: a test sees exactly what the server sent.
 */
import net from 'node:net';
import { ReplyParser, RespErrorReply, type RespValue } from '../../src/resp/reply-parser.js';

export { RespErrorReply, type RespValue };

export type Arg = string | Buffer;

/** The RESP request bytes for a command (an array of bulk strings). */
export function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** An error reply value, for `toEqual` assertions: `err('Key not found')`. */
export function err(message: string): RespErrorReply {
  return new RespErrorReply(message);
}

/** A bulk string reply value (bulk replies parse as Buffers). */
export function bulk(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

interface Pending {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
}

export class RawClient {
  private readonly parser = new ReplyParser();
  private readonly pending: Pending[] = [];
  /** Parsed replies that arrived while nobody was waiting (WAIT wake-ups, pipelines). */
  private readonly unclaimed: RespValue[] = [];
  private rawMode = false;
  private raw: Buffer[] = [];
  private rawWaiters: Array<() => void> = [];
  private closedFlag = false;
  private closeWaiters: Array<() => void> = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => {
      this.failure = e;
    });
    socket.on('close', () => {
      this.closedFlag = true;
      const e = this.failure ?? new Error('connection closed');
      for (const p of this.pending.splice(0)) p.reject(e);
      for (const w of this.rawWaiters.splice(0)) w();
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /**
   * Raw mode: incoming bytes are kept as bytes (readRaw) instead of being parsed.
   * Switch it on before sending garbage that the server may answer with anything.
   */
  setRaw(on: boolean): void {
    this.rawMode = on;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private onData(chunk: Buffer): void {
    if (this.rawMode) {
      this.raw.push(chunk);
      for (const w of this.rawWaiters.splice(0)) w();
      return;
    }
    this.parser.push(chunk);
    for (;;) {
      let v: RespValue | undefined;
      try {
        v = this.parser.next();
      } catch (e) {
        for (const p of this.pending.splice(0)) p.reject(e as Error);
        this.socket.destroy();
        return;
      }
      if (v === undefined) return;
      const p = this.pending.shift();
      if (p) p.resolve(v);
      else this.unclaimed.push(v);
    }
  }

  /** Sends one command; resolves to its parsed reply. */
  cmd(...args: Arg[]): Promise<RespValue> {
    const reply = this.reply();
    this.socket.write(encodeCommand(args));
    return reply;
  }

  /** Sends several commands in one write; resolves to their replies in order. */
  pipeline(commands: Arg[][]): Promise<RespValue[]> {
    const replies = commands.map(() => this.reply());
    this.socket.write(Buffer.concat(commands.map((c) => encodeCommand(c))));
    return Promise.all(replies);
  }

  /** The next parsed reply (one already received first). */
  reply(): Promise<RespValue> {
    const ready = this.unclaimed.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closedFlag) return Promise.reject(this.failure ?? new Error('connection closed'));
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Writes bytes as they are. */
  sendRaw(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /**
   * Raw mode: resolves once at least `minBytes` arrived (or the connection closed), with
   * everything received so far, and empties the buffer.
   */
  async readRaw(minBytes = 1): Promise<Buffer> {
    while (Buffer.concat(this.raw).length < minBytes && !this.closedFlag) {
      await new Promise<void>((r) => this.rawWaiters.push(r));
    }
    const out = Buffer.concat(this.raw);
    this.raw = [];
    return out;
  }

  /** Raw mode: reads until the server closes the connection; everything received. */
  async readUntilClose(): Promise<Buffer> {
    await this.waitClosed();
    return this.readRaw(0);
  }

  /** Resolves when the server (or we) closed the connection. */
  waitClosed(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((r) => this.closeWaiters.push(r));
  }

  close(): void {
    this.socket.destroy();
  }
}
