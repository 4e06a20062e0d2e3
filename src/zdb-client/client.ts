import type { RespValue } from '../resp/reply-parser.js';
import { ZdbConnection, type Arg, type ZdbConnectionOptions } from './connection.js';
import { ZdbError } from './errors.js';
import { parseNamespaceInfo, type NamespaceInfo } from './nsinfo.js';
import { asArray, asBulk, asBulkInt, asBulkOrNil, asInt, asIntOrNil, asOk } from './replies.js';
import { seqNumber } from './seq.js';

export interface ZdbClientOptions extends ZdbConnectionOptions {
  /** Connections to the server, opened as load needs them. Default 4. */
  connections?: number;
}

export type Key = Buffer | string;

export interface ScanEntry {
  key: Buffer;
  /** Payload length in bytes. */
  size: number;
  /** Unix seconds of the last write. */
  timestamp: number;
}

export interface ScanPage {
  /** Pass back to scan()/rscan() for the next page. */
  cursor: Buffer;
  entries: ScanEntry[];
}

export interface HistoryEntry {
  /** Pass back to history() for the version before this one; null at the oldest. */
  cursor: Buffer | null;
  timestamp: number;
  value: Buffer;
}

export type NamespaceProperty = 'maxsize' | 'password' | 'public' | 'worm' | 'mode' | 'lock' | 'freeze';

/** 0-db resets the connection (failing everything pipelined on it) for a larger argument. */
export const MAX_VALUE_BYTES = 8 * 1024 * 1024;
/** MGET takes at most this many keys; mget() splits longer lists. */
export const MAX_MGET_KEYS = 1023;

/**
 * A pool of pipelined connections to one zdb server, in one namespace, with a typed method
 * per command. Requests go to the connection with the fewest outstanding, so a slow large
 * value on one connection does not hold up small ones. Every method rejects with ZdbError.
 */
export class ZdbClient {
  readonly endpoint: string;
  private readonly conns: ZdbConnection[];
  private rr = 0;
  // Options for new connections (wait()), kept in step with auth() and select().
  private current: ZdbConnectionOptions;

  constructor(options: ZdbClientOptions = {}) {
    const { connections = 4, ...connOptions } = options;
    if (!Number.isInteger(connections) || connections < 1)
      throw new RangeError(`connections must be a positive integer, got ${connections}`);
    this.current = connOptions;
    this.conns = Array.from({ length: connections }, () => new ZdbConnection(connOptions));
    this.endpoint = this.conns[0]!.endpoint;
  }

  /** Requests outstanding on all connections: a load figure for choosing between backends. */
  get pending(): number {
    return this.conns.reduce((n, c) => n + c.pending, 0);
  }

  /** Opens every connection (with AUTH/SELECT) now instead of on first use. */
  async connect(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.send(['PING'])));
  }

  /** Any command; the reply as parsed, error replies rejected as ZdbError. */
  command(args: ReadonlyArray<Arg>, timeoutMs?: number): Promise<RespValue> {
    return this.pick().send(args, timeoutMs);
  }

  async ping(): Promise<void> {
    const v = await this.command(['PING']);
    if (v !== 'PONG') throw new ZdbError('PROTOCOL', 'PING: expected +PONG');
  }

  /**
   * SET; resolves with the key (in seq mode, the id the server assigned), or null when the
   * value is byte-identical to the stored one and nothing was written. `timestamp` is admin-only.
   */
  async set(key: Key, value: Buffer | string, timestamp?: number): Promise<Buffer | null> {
    const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    if (size > MAX_VALUE_BYTES)
      throw new ZdbError('INVALID', `value of ${size} bytes is over the ${MAX_VALUE_BYTES}-byte limit`);
    const args = timestamp === undefined ? ['SET', key, value] : ['SET', key, value, timestamp];
    return asBulkOrNil('SET', await this.command(args));
  }

  /** Seq mode: stores a new entry, resolves with its id (see seqId() for its key). */
  async append(value: Buffer | string): Promise<number> {
    const key = await this.set(Buffer.alloc(0), value);
    if (key === null) throw new ZdbError('PROTOCOL', 'SET in seq mode returned no id (is the namespace in user mode?)');
    return seqNumber(key);
  }

  async get(key: Key): Promise<Buffer | null> {
    return asBulkOrNil('GET', await this.command(['GET', key]));
  }

  /** Values in the order of `keys`, null for missing ones; long lists go as several MGETs. */
  async mget(keys: ReadonlyArray<Key>): Promise<(Buffer | null)[]> {
    const batches: Promise<RespValue>[] = [];
    for (let i = 0; i < keys.length; i += MAX_MGET_KEYS)
      batches.push(this.command(['MGET', ...keys.slice(i, i + MAX_MGET_KEYS)]));
    const replies = await Promise.all(batches);
    return replies.flatMap((r) => asArray('MGET', r).map((v) => asBulkOrNil('MGET', v)));
  }

  /** True when the key was deleted, false when it did not exist. */
  async del(key: Key): Promise<boolean> {
    const v = await orNull(this.command(['DEL', key]));
    if (v === null) return false;
    asOk('DEL', v);
    return true;
  }

  async exists(key: Key): Promise<boolean> {
    return asInt('EXISTS', await this.command(['EXISTS', key])) === 1;
  }

  /** Whether the stored payload still matches its CRC; null when the key is missing. */
  async check(key: Key): Promise<boolean | null> {
    const v = asIntOrNil('CHECK', await this.command(['CHECK', key]));
    // 0-db answers :-1 when it could not read the payload at all: a disk problem, not a verdict.
    if (v === -1) throw new ZdbError('SERVER', 'CHECK: the server could not read the payload');
    return v === null ? null : v === 1;
  }

  /** Payload length; null when the key is missing. */
  async length(key: Key): Promise<number | null> {
    return asIntOrNil('LENGTH', await this.command(['LENGTH', key]));
  }

  /** Unix seconds of the last write; null when the key is missing. */
  async keytime(key: Key): Promise<number | null> {
    return asIntOrNil('KEYTIME', await this.command(['KEYTIME', key]));
  }

  /** A cursor from which scan() continues after `key`; null when the key is missing. */
  async keycur(key: Key): Promise<Buffer | null> {
    const v = await orNull(this.command(['KEYCUR', key]));
    return v === null ? null : asBulk('KEYCUR', v);
  }

  /** One page of keys in write order, from the start or after `cursor`; null past the end. */
  scan(cursor?: Buffer): Promise<ScanPage | null> {
    return this.scanPage('SCAN', cursor);
  }

  /** Like scan(), newest first. */
  rscan(cursor?: Buffer): Promise<ScanPage | null> {
    return this.scanPage('RSCAN', cursor);
  }

  /** Every key of the namespace, page by page (pages are cut by server time, not count). */
  async *scanAll(options: { reverse?: boolean; from?: Buffer } = {}): AsyncGenerator<ScanEntry> {
    let cursor = options.from;
    for (;;) {
      const page = options.reverse ? await this.rscan(cursor) : await this.scan(cursor);
      if (!page) return;
      yield* page.entries;
      cursor = page.cursor;
    }
  }

  /** The current version of `key`, or with a cursor the one before it; null when there is none. */
  async history(key: Key, cursor?: Buffer): Promise<HistoryEntry | null> {
    const v = await orNull(this.command(cursor ? ['HISTORY', key, cursor] : ['HISTORY', key]));
    if (v === null) return null;
    const [cur, ts, value] = asArray('HISTORY', v, 3);
    return {
      cursor: asBulkOrNil('HISTORY', cur!),
      timestamp: asBulkInt('HISTORY', ts!),
      value: asBulk('HISTORY', value!),
    };
  }

  /** Entries in the selected namespace. */
  async dbsize(): Promise<number> {
    return asInt('DBSIZE', await this.command(['DBSIZE']));
  }

  /** Server statistics, as the text the server sends. */
  async info(): Promise<string> {
    return asBulk('INFO', await this.command(['INFO'])).toString('utf8');
  }

  async nsnew(name: string): Promise<void> {
    asOk('NSNEW', await this.command(['NSNEW', name]));
  }

  async nsdel(name: string): Promise<void> {
    asOk('NSDEL', await this.command(['NSDEL', name]));
  }

  async nslist(): Promise<string[]> {
    return asArray('NSLIST', await this.command(['NSLIST'])).map((v) => asBulk('NSLIST', v).toString('utf8'));
  }

  async nsinfo(name: string): Promise<NamespaceInfo> {
    return parseNamespaceInfo(asBulk('NSINFO', await this.command(['NSINFO', name])).toString('utf8'));
  }

  /**
   * NSSET (admin). Booleans become 1/0; `password` '*' clears it; `mode` is 'user' or 'seq'
   * and only changes on an empty namespace.
   */
  async nsset(name: string, property: NamespaceProperty, value: string | number | boolean): Promise<void> {
    const v = typeof value === 'boolean' ? (value ? '1' : '0') : value;
    asOk('NSSET', await this.command(['NSSET', name, property, v]));
  }

  /**
   * SELECT on every connection, remembered for reconnections. Do not overlap it with other
   * requests: they may run in either namespace. A client per namespace is the usual shape.
   */
  async select(name: string, options: { password?: string; secure?: boolean } = {}): Promise<void> {
    await Promise.all(this.conns.map((c) => c.select(name, options.password, options.secure)));
    this.current = {
      ...this.current,
      namespace: name,
      namespacePassword: options.password,
      secure: options.secure ?? this.current.secure,
    };
  }

  /** AUTH as admin on every connection, remembered for reconnections. */
  async auth(password: string, options: { secure?: boolean } = {}): Promise<void> {
    await Promise.all(this.conns.map((c) => c.auth(password, options.secure)));
    this.current = { ...this.current, adminPassword: password, secure: options.secure ?? this.current.secure };
  }

  /** Empties the selected namespace (the server allows it only on a private, password-protected one). */
  async flush(): Promise<void> {
    asOk('FLUSH', await this.command(['FLUSH']));
  }

  /**
   * Waits until another client runs `command` ('*': any) in this namespace; resolves with the
   * command's name, rejects with TIMEOUT after `timeoutMs` (100 ms to 30 min). Uses its own
   * connection: the server answers WAIT out of order, which would confuse a pipelined one.
   */
  async wait(command = '*', timeoutMs = 5_000): Promise<string> {
    const conn = new ZdbConnection({ ...this.current, requestTimeoutMs: 0 });
    try {
      const v = await conn.send(['WAIT', command, timeoutMs]);
      if (typeof v !== 'string') throw new ZdbError('PROTOCOL', 'WAIT: expected a status reply');
      return v;
    } finally {
      conn.destroy();
    }
  }

  /** Lets outstanding requests finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()));
  }

  /** Closes now; outstanding requests reject with CONNECTION. */
  destroy(): void {
    for (const c of this.conns) c.destroy();
  }

  private async scanPage(cmd: 'SCAN' | 'RSCAN', cursor?: Buffer): Promise<ScanPage | null> {
    const v = await orNull(this.command(cursor ? [cmd, cursor] : [cmd]));
    if (v === null) return null;
    const [next, items] = asArray(cmd, v, 2);
    const entries = asArray(cmd, items!).map((item) => {
      const [key, size, timestamp] = asArray(cmd, item, 3);
      return { key: asBulk(cmd, key!), size: asInt(cmd, size!), timestamp: asInt(cmd, timestamp!) };
    });
    return { cursor: asBulk(cmd, next!), entries };
  }

  /** The least busy usable connection; ties go round-robin so idle connections get opened. */
  private pick(): ZdbConnection {
    const n = this.conns.length;
    let best: ZdbConnection | undefined;
    for (let i = 0; i < n; i++) {
      const c = this.conns[(this.rr + i) % n]!;
      if (c.available && (!best || c.pending < best.pending)) best = c;
    }
    this.rr = (this.rr + 1) % n;
    // None usable: any of them fails at once with the reason.
    return best ?? this.conns[this.rr]!;
  }
}

/** The reply, or null for "-Key not found" / "-No more data" / "-No more history": the commands' way of saying "none". */
async function orNull(request: Promise<RespValue>): Promise<RespValue> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ZdbError && (err.code === 'NOT_FOUND' || err.code === 'NO_MORE_DATA')) return null;
    throw err;
  }
}
