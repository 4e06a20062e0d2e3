import net from 'node:net';
import { command, type Chunks } from '../resp/encode.js';
import { ReplyParser, RespErrorReply, type RespValue } from '../resp/reply-parser.js';
import { authenticate, selectNamespace, type Password, type Send } from './auth.js';
import { serverError, ZdbError } from './errors.js';

export type Arg = Buffer | string | number;

/**
 * What every connection of this thread reads replies into (Node's `onread`): a read copies at
 * most this much from the socket, and the parser copies out what it keeps before the next read,
 * a large value straight into its own buffer. One buffer serves all: each read's callback runs
 * to its end before another read starts. Node's default was a fresh 64 KiB buffer per read
 * (a 1 MiB shard: 16 reads, 16 allocations, then a copy to join them).
 */
const READ_BUFFER_BYTES = 256 * 1024;
const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

export interface ZdbConnectionOptions {
  /** TCP host (default 127.0.0.1) and port (default 9900), or `path` for a unix socket. */
  host?: string;
  port?: number;
  path?: string;
  /** Give up a connection attempt (TCP connect plus AUTH/SELECT) after this long. Default 5 s. */
  connectTimeoutMs?: number;
  /** Default time a request may wait for its reply; 0 disables. Default 30 s. */
  requestTimeoutMs?: number;
  /** First delay after a failed connection attempt, doubled per failure up to the cap. Default 100 ms. */
  reconnectDelayMs?: number;
  /** Cap of the reconnection delay. Default 5 s. */
  reconnectMaxDelayMs?: number;
  /** Admin password, sent with AUTH on every (re)connection. */
  adminPassword?: string;
  /** Namespace selected on every (re)connection; `default` when absent. */
  namespace?: string;
  namespacePassword?: string;
  /** Use the SECURE challenge for passwords (the password never crosses the wire). Default true. */
  secure?: boolean;
}

export type ConnectionState = 'down' | 'connecting' | 'ready' | 'closed';

interface Pending {
  chunks: Chunks;
  name: string;
  resolve: (v: RespValue) => void;
  reject: (e: ZdbError) => void;
  timer: NodeJS.Timeout | undefined;
  written: boolean;
}

/**
 * One socket to one zdb server. Requests are written as soon as they are made (pipelining)
 * and replies matched to them in order. The connection is opened on first use and reopened
 * after it drops; each (re)connection replays AUTH and SELECT before anything else, so the
 * caller never sees a connection in the wrong namespace.
 *
 * Failure policy:
 * - requests written on a connection that drops reject with CONNECTION: they may or may not
 *   have run, and only the caller knows whether repeating one is safe;
 * - a request that times out rejects with TIMEOUT and the connection is reset, because replies
 *   come in order and everything behind a stuck reply is stuck too (and a half-open TCP
 *   connection is only ever noticed this way);
 * - after a failed attempt to connect, requests fail at once until the backoff delay has
 *   passed, so callers can go to another backend instead of queueing behind a dead one.
 */
export class ZdbConnection {
  readonly endpoint: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly secure: boolean;

  // What every (re)connection replays; updated only when the server accepted it.
  private admin: Password | undefined;
  private namespace: { name: string; pass?: Password } | undefined;

  private socket: net.Socket | null = null;
  private parser = new ReplyParser();
  private phase: ConnectionState = 'down';
  private queued: Pending[] = []; // accepted while connecting, written once AUTH/SELECT are done
  private inflight: Pending[] = []; // written, waiting for their reply, in order
  private corked = false;
  private answered = false; // the current socket answered a request after AUTH/SELECT
  private failures = 0; // consecutive connection attempts that never answered a request
  private retryAt = 0;
  private lastError: ZdbError | undefined;
  private unsettled = new Set<Promise<unknown>>();
  private serial: Promise<unknown> = Promise.resolve(); // orders auth/select (challenges are single use)

  constructor(private readonly options: ZdbConnectionOptions = {}) {
    this.endpoint = options.path ?? `${options.host ?? '127.0.0.1'}:${options.port ?? 9900}`;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 100;
    this.reconnectMaxDelayMs = options.reconnectMaxDelayMs ?? 5_000;
    this.secure = options.secure ?? true;
    if (options.adminPassword !== undefined) this.admin = { password: options.adminPassword, secure: this.secure };
    if (options.namespace !== undefined) {
      const pass = options.namespacePassword;
      this.namespace = {
        name: options.namespace,
        pass: pass === undefined ? undefined : { password: pass, secure: this.secure },
      };
    }
  }

  get state(): ConnectionState {
    return this.phase;
  }

  /** Requests accepted and not yet answered. */
  get pending(): number {
    return this.queued.length + this.inflight.length;
  }

  /** False while requests would fail at once (closed, or waiting out a reconnection delay). */
  get available(): boolean {
    return this.phase !== 'closed' && !(this.phase === 'down' && Date.now() < this.retryAt);
  }

  /**
   * Sends one request; resolves with its reply, rejects with a ZdbError (error replies
   * included). Buffers in `args` are written as they are, not copied: do not change them
   * until the promise settles.
   */
  send(args: ReadonlyArray<Arg>, timeoutMs = this.requestTimeoutMs): Promise<RespValue> {
    if (this.phase === 'closed')
      return Promise.reject(new ZdbError('CONNECTION', `connection to ${this.endpoint} is closed`));
    if (this.phase === 'down' && Date.now() < this.retryAt) {
      // Keep the cause's code: a refused password is not a network problem worth retrying.
      const last = this.lastError!;
      const wait = this.retryAt - Date.now();
      return Promise.reject(
        new ZdbError(last.code, `${this.endpoint} unavailable for ${wait} ms more: ${last.message}`, { cause: last }),
      );
    }
    const promise = new Promise<RespValue>((resolve, reject) => {
      const p: Pending = {
        chunks: command(args),
        name: String(args[0]),
        resolve,
        reject,
        timer: undefined,
        written: false,
      };
      if (timeoutMs > 0) p.timer = setTimeout(() => this.expire(p, timeoutMs), timeoutMs);
      if (this.phase === 'ready') this.write(p);
      else {
        this.queued.push(p);
        if (this.phase === 'down') this.connect();
      }
    });
    this.track(promise);
    return promise;
  }

  /** AUTH as admin (on this connection and every reconnection). */
  auth(password: string, secure = this.secure): Promise<void> {
    return this.serialize(async () => {
      const admin = { password, secure };
      await authenticate(this.sender, admin);
      this.admin = admin;
    });
  }

  /** SELECT a namespace (on this connection and every reconnection). */
  select(name: string, password?: string, secure = this.secure): Promise<void> {
    return this.serialize(async () => {
      const pass = password === undefined ? undefined : { password, secure };
      await selectNamespace(this.sender, name, pass);
      this.namespace = { name, pass };
    });
  }

  /** Lets the requests already made finish, then closes. New requests are refused at once. */
  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    // Requests queued while connecting still go out once AUTH/SELECT are done (handshake()).
    this.phase = 'closed';
    while (this.unsettled.size > 0) await Promise.allSettled([...this.unsettled]);
    const socket = this.socket;
    this.socket = null;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 1_000).unref();
      });
    }
  }

  /** Closes now; everything outstanding rejects with CONNECTION. */
  destroy(): void {
    const err = new ZdbError('CONNECTION', `connection to ${this.endpoint} closed by the client`);
    this.phase = 'closed';
    for (const p of this.queued.splice(0)) this.fail(p, err);
    this.dropSocket(err);
  }

  private readonly sender: Send = (args) => this.send(args);

  private serialize(fn: () => Promise<void>): Promise<void> {
    const run = this.serial.then(fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private track(promise: Promise<unknown>): void {
    this.unsettled.add(promise);
    const done = (): void => {
      this.unsettled.delete(promise);
    };
    promise.then(done, done);
  }

  private connect(): void {
    this.phase = 'connecting';
    this.answered = false;
    this.parser = new ReplyParser();
    const { path, host = '127.0.0.1', port = 9900 } = this.options;
    // Replies are read into one reused buffer (see readBuffer) instead of a fresh 64 KiB per read.
    const onread = {
      buffer: readBuffer,
      // true: keep reading (false would pause the socket).
      callback: (n: number, buf: Uint8Array): boolean => {
        this.onData(socket, buf, n);
        return true;
      },
    };
    const socket =
      path !== undefined ? net.createConnection({ path, onread }) : net.createConnection({ host, port, onread });
    this.socket = socket;
    socket.setNoDelay(true);
    let socketError: Error | undefined;
    const connectTimer = setTimeout(
      () =>
        this.lost(
          socket,
          new ZdbError('CONNECTION', `connecting to ${this.endpoint} timed out after ${this.connectTimeoutMs} ms`),
        ),
      this.connectTimeoutMs,
    );
    socket.once('connect', () => {
      socket.setKeepAlive(true, 10_000);
      this.handshake(socket).then(
        () => clearTimeout(connectTimer),
        (err: unknown) => {
          clearTimeout(connectTimer);
          this.lost(socket, asZdbError(err, `handshake with ${this.endpoint} failed`));
        },
      );
    });
    socket.on('error', (err) => {
      socketError = err;
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      const why = socketError ? socketError.message : 'closed by the server';
      this.lost(
        socket,
        new ZdbError('CONNECTION', `connection to ${this.endpoint} lost: ${why}`, { cause: socketError }),
      );
    });
  }

  /** Replays AUTH and SELECT ahead of the queued requests, then lets them go. */
  private async handshake(socket: net.Socket): Promise<void> {
    const direct: Send = (args) =>
      new Promise<RespValue>((resolve, reject) => {
        this.write({ chunks: command(args), name: String(args[0]), resolve, reject, timer: undefined, written: false });
      });
    if (this.admin) await authenticate(direct, this.admin);
    if (this.namespace) await selectNamespace(direct, this.namespace.name, this.namespace.pass);
    if (socket !== this.socket) return;
    if (this.phase === 'connecting') this.phase = 'ready';
    for (const p of this.queued.splice(0)) this.write(p);
  }

  private write(p: Pending): void {
    const socket = this.socket!;
    p.written = true;
    this.inflight.push(p);
    // Cork for the rest of this tick: every request made in it leaves in one writev, and large
    // values go to the kernel from the caller's buffer, never copied into a bigger one.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    for (const c of p.chunks) socket.write(c);
    p.chunks = [];
  }

  /** `n` bytes read into `buf`, which the next read reuses: the parser copies what it keeps. */
  private onData(socket: net.Socket, buf: Uint8Array, n: number): void {
    if (socket !== this.socket) return;
    try {
      this.parser.feed(Buffer.from(buf.buffer, buf.byteOffset, n), (value) => {
        // Replies of a socket since replaced belong to requests already failed, never to the new one's.
        if (socket !== this.socket) return;
        const p = this.inflight.shift();
        if (!p) throw new ZdbError('PROTOCOL', `${this.endpoint} sent a reply nobody asked for`);
        if (this.phase === 'ready' && !this.answered) {
          this.answered = true;
          this.failures = 0;
        }
        clearTimeout(p.timer);
        if (value instanceof RespErrorReply) p.reject(serverError(value.message));
        else p.resolve(value);
      });
    } catch (err) {
      this.lost(socket, asZdbError(err, `unreadable reply from ${this.endpoint}`, 'PROTOCOL'));
    }
  }

  private expire(p: Pending, timeoutMs: number): void {
    const err = new ZdbError('TIMEOUT', `${p.name} to ${this.endpoint}: no reply after ${timeoutMs} ms`);
    if (!p.written) {
      const at = this.queued.indexOf(p);
      if (at >= 0) this.queued.splice(at, 1);
      this.fail(p, err);
      return;
    }
    this.fail(p, err);
    if (this.socket) {
      this.lost(
        this.socket,
        new ZdbError('CONNECTION', `connection to ${this.endpoint} reset: an earlier ${p.name} timed out`),
      );
    }
  }

  /**
   * The socket is gone (or must go): fail what was written on it and, if the connection was
   * never usable, what waited for it, and schedule the backoff. Stale sockets are ignored.
   */
  private lost(socket: net.Socket, err: ZdbError): void {
    if (socket !== this.socket) return;
    // A server that accepts and then drops or ignores every request must back off too.
    const neverWorked =
      this.phase === 'connecting' || (this.phase === 'ready' && !this.answered && this.inflight.length > 0);
    this.dropSocket(err);
    if (this.phase === 'closed') {
      for (const p of this.queued.splice(0)) this.fail(p, err);
      return;
    }
    this.phase = 'down';
    this.lastError = err;
    if (neverWorked) {
      this.failures++;
      const delay = Math.min(this.reconnectMaxDelayMs, this.reconnectDelayMs * 2 ** (this.failures - 1));
      // Jitter, so that many clients of a restarted server do not come back all at once.
      this.retryAt = Date.now() + delay * (0.5 + Math.random() / 2);
      for (const p of this.queued.splice(0)) this.fail(p, err);
    } else {
      this.retryAt = 0;
    }
  }

  private dropSocket(err: ZdbError): void {
    const socket = this.socket;
    this.socket = null;
    for (const p of this.inflight.splice(0)) this.fail(p, err);
    socket?.destroy();
  }

  private fail(p: Pending, err: ZdbError): void {
    clearTimeout(p.timer);
    p.reject(err);
  }
}

function asZdbError(err: unknown, context: string, code: 'CONNECTION' | 'PROTOCOL' = 'CONNECTION'): ZdbError {
  if (err instanceof ZdbError) return err;
  return new ZdbError(code, `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
