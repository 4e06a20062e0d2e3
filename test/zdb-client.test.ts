import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RequestParser } from '../src/resp/request-parser.js';
import {
  MAX_VALUE_BYTES,
  seqId,
  seqNumber,
  ZdbClient,
  ZdbConnection,
  ZdbError,
  type ZdbClientOptions,
} from '../src/zdb-client/index.js';
import { freePort, startZdb, type StartZdbOptions, type ZdbProcess } from './helpers/zdb-process.js';

/** Resolves with the ZdbError a promise rejects with (fails the test if it resolves or throws something else). */
async function zdbError(promise: Promise<unknown>): Promise<ZdbError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ZdbError) return err;
    throw err;
  }
  throw new Error('expected a ZdbError, the request succeeded');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A throwaway TCP server for the failures a real zdb will not produce on demand. `onRequest`
 * gets each parsed request and the socket; it answers, stays silent or hangs up.
 */
async function rawServer(
  onRequest: (args: Buffer[], socket: net.Socket) => void,
  port = 0,
): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new RequestParser();
    socket.on('data', (chunk) => {
      parser.push(chunk);
      for (let req = parser.next(); req; req = parser.next()) onRequest(req, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('zdb-client: connection failures (throwaway servers)', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('times out a request nobody answers, resets the connection, and reconnects', async () => {
    let silent = true;
    const server = await rawServer((args, socket) => {
      if (!silent) socket.write(args[0]!.toString() === 'PING' ? '+PONG\r\n' : '$-1\r\n');
    });
    cleanup.push(server.close);
    const conn = new ZdbConnection({ port: server.port, requestTimeoutMs: 200 });
    cleanup.push(() => conn.destroy());

    // Before send: the timeout runs from there, and a busy machine may pause between the two.
    const t0 = Date.now();
    const first = conn.send(['GET', 'a']);
    const second = conn.send(['GET', 'b'], 10_000);
    const timedOut = await zdbError(first);
    expect(timedOut.code).toBe('TIMEOUT');
    expect(timedOut.retriable).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    // The request behind it could only be answered on the reset connection: it fails too, at once.
    expect((await zdbError(second)).code).toBe('CONNECTION');

    silent = false;
    await sleep(300); // the connection never answered: it waits out its backoff
    expect(await conn.send(['PING'])).toBe('PONG');
    expect(server.connections()).toBe(2);
  });

  it('fails in-flight requests with CONNECTION when the server hangs up', async () => {
    const server = await rawServer((args, socket) => {
      if (args[0]!.toString() === 'PING') socket.write('+PONG\r\n');
      else socket.destroy();
    });
    cleanup.push(server.close);
    const conn = new ZdbConnection({ port: server.port });
    cleanup.push(() => conn.destroy());

    expect(await conn.send(['PING'])).toBe('PONG');
    const results = await Promise.allSettled([conn.send(['GET', 'x']), conn.send(['GET', 'y'])]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as ZdbError).code).toBe('CONNECTION');
    }
    // It had answered before, so it reconnects at once.
    expect(await conn.send(['PING'])).toBe('PONG');
    expect(server.connections()).toBe(2);
  });

  it('backs off after failed connection attempts, failing fast meanwhile, then recovers', async () => {
    const port = await freePort();
    const conn = new ZdbConnection({ port, reconnectDelayMs: 300, reconnectMaxDelayMs: 600 });
    cleanup.push(() => conn.destroy());

    const refused = await zdbError(conn.send(['PING']));
    expect(refused.code).toBe('CONNECTION');
    expect(conn.available).toBe(false);
    const t0 = Date.now();
    const fast = await zdbError(conn.send(['PING']));
    expect(fast.code).toBe('CONNECTION');
    expect(fast.message).toMatch(/unavailable/);
    expect(Date.now() - t0).toBeLessThan(50);

    const server = await rawServer((_args, socket) => socket.write('+PONG\r\n'), port);
    cleanup.push(server.close);
    while (!conn.available) await sleep(20);
    expect(await conn.send(['PING'])).toBe('PONG');
  });

  it('caps the backoff delay', async () => {
    const port = await freePort();
    const conn = new ZdbConnection({ port, reconnectDelayMs: 20, reconnectMaxDelayMs: 80 });
    cleanup.push(() => conn.destroy());
    for (let i = 0; i < 6; i++) {
      while (!conn.available) await sleep(5);
      await zdbError(conn.send(['PING']));
    }
    const t0 = Date.now();
    while (!conn.available) await sleep(5);
    expect(Date.now() - t0).toBeLessThanOrEqual(120);
  });

  it('gives up connecting after connectTimeoutMs, AUTH/SELECT included', async () => {
    // Outgoing connections may go through a proxy that accepts anything, so the slow part is
    // the handshake: the server accepts and never answers AUTH.
    const server = await rawServer(() => undefined);
    cleanup.push(server.close);
    const conn = new ZdbConnection({ port: server.port, adminPassword: 'pw', connectTimeoutMs: 200 });
    cleanup.push(() => conn.destroy());
    const t0 = Date.now();
    const err = await zdbError(conn.send(['PING']));
    expect(err.code).toBe('CONNECTION');
    expect(err.message).toMatch(/timed out/);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('turns an unreadable reply into PROTOCOL and starts over', async () => {
    const server = await rawServer((_args, socket) => socket.write('?what\r\n'));
    cleanup.push(server.close);
    const conn = new ZdbConnection({ port: server.port });
    cleanup.push(() => conn.destroy());
    expect((await zdbError(conn.send(['PING']))).code).toBe('PROTOCOL');
  });

  it('close() lets outstanding requests finish; destroy() fails them', async () => {
    const server = await rawServer((_args, socket) => setTimeout(() => socket.write('+PONG\r\n'), 100));
    cleanup.push(server.close);
    const graceful = new ZdbConnection({ port: server.port });
    expect(graceful.state).toBe('down'); // opened on first use
    const answered = graceful.send(['PING']);
    expect(graceful.state).toBe('connecting');
    await graceful.close();
    expect(await answered).toBe('PONG');
    expect(graceful.state).toBe('closed');
    expect((await zdbError(graceful.send(['PING']))).code).toBe('CONNECTION');

    const abrupt = new ZdbConnection({ port: server.port });
    const cut = abrupt.send(['PING']);
    abrupt.destroy();
    expect((await zdbError(cut)).code).toBe('CONNECTION');
  });

  it('refuses values over 8 MiB before sending (0-db would reset the connection)', async () => {
    const server = await rawServer((_args, socket) => socket.write('+PONG\r\n'));
    cleanup.push(server.close);
    const client = new ZdbClient({ port: server.port, connections: 1 });
    cleanup.push(() => client.destroy());
    expect((await zdbError(client.set('k', Buffer.alloc(MAX_VALUE_BYTES + 1)))).code).toBe('INVALID');
    expect(server.connections()).toBe(0);
  });
});

/**
 * The client against a real zdb server. `start` launches one (with extra flags); run for
 * 0-db's reference build here, and for our own server by adding a line at the bottom.
 */
function clientContract(start: (options: Omit<StartZdbOptions, 'bin'>) => Promise<ZdbProcess>): void {
  const ADMIN = 'admin-secret';
  let server: ZdbProcess;
  const clients: ZdbClient[] = [];
  const client = (options: ZdbClientOptions = {}): ZdbClient => {
    const c = new ZdbClient({ host: server.host, port: server.port, adminPassword: ADMIN, ...options });
    clients.push(c);
    return c;
  };
  let ns = 0;
  /** A fresh namespace for one test, and an admin client in it. */
  const freshNamespace = async (options: ZdbClientOptions = {}): Promise<{ name: string; db: ZdbClient }> => {
    const name = `t${++ns}`;
    await client({ connections: 1 }).nsnew(name);
    return { name, db: client({ namespace: name, ...options }) };
  };

  beforeAll(async () => {
    server = await start({ args: ['--admin', ADMIN] });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
  });

  it('does the key commands', async () => {
    const { db } = await freshNamespace();
    await db.ping();
    expect(await db.get('missing')).toBeNull();
    expect(await db.set('k', 'v1')).toEqual(Buffer.from('k'));
    expect(await db.set('k', 'v1')).toBeNull(); // identical value: nothing written
    expect(await db.set(Buffer.from([0, 255]), Buffer.from('bin'))).toEqual(Buffer.from([0, 255]));
    expect(await db.get('k')).toEqual(Buffer.from('v1'));
    expect(await db.exists('k')).toBe(true);
    expect(await db.exists('nope')).toBe(false);
    expect(await db.length('k')).toBe(2);
    expect(await db.length('nope')).toBeNull();
    expect(await db.check('k')).toBe(true);
    expect(await db.check('nope')).toBeNull();
    const t = await db.keytime('k');
    expect(t).toBeGreaterThan(1_600_000_000);
    expect(await db.keytime('nope')).toBeNull();
    expect(await db.dbsize()).toBe(2);
    expect(await db.del('k')).toBe(true);
    expect(await db.del('k')).toBe(false);
    expect(await db.get('k')).toBeNull();
    expect((await zdbError(db.set('x'.repeat(256), 'v'))).code).toBe('KEY_TOO_LARGE');
    expect(await db.info()).toMatch(/\S/);
  });

  it('MGETs more keys than one request may carry', async () => {
    const { db } = await freshNamespace();
    const keys = Array.from({ length: 1500 }, (_, i) => `key-${i}`);
    await Promise.all(keys.filter((_, i) => i % 3 !== 0).map((k) => db.set(k, `v:${k}`)));
    const values = await db.mget(keys);
    expect(values).toHaveLength(1500);
    values.forEach((v, i) => expect(v).toEqual(i % 3 === 0 ? null : Buffer.from(`v:key-${i}`)));
  });

  it('pipelines thousands of requests on one connection and matches every reply', async () => {
    const { db } = await freshNamespace({ connections: 1 });
    const n = 3000;
    await Promise.all(Array.from({ length: n }, (_, i) => db.set(`p${i}`, `value-${i}`)));
    const got = await Promise.all(Array.from({ length: n }, (_, i) => db.get(`p${i}`)));
    got.forEach((v, i) => expect(v!.toString()).toBe(`value-${i}`));
  });

  it('moves large values intact, several at once', async () => {
    const { db } = await freshNamespace({ connections: 2 });
    const values = [8 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024 + 7, 5].map((size, i) => {
      const b = Buffer.allocUnsafe(size);
      for (let j = 0; j < size; j += 4096) b[j] = (i * 31 + j) & 0xff;
      return b;
    });
    await Promise.all(values.map((v, i) => db.set(`big${i}`, v)));
    const got = await Promise.all(values.map((_, i) => db.get(`big${i}`)));
    got.forEach((v, i) => expect(v!.equals(values[i]!)).toBe(true));
  });

  it('scans forward, backward, and from a key', async () => {
    const { db } = await freshNamespace();
    const keys = Array.from({ length: 400 }, (_, i) => `s${String(i).padStart(4, '0')}`);
    for (const k of keys) await db.set(k, k + k); // in order: scan order is write order
    const forward: string[] = [];
    for await (const e of db.scanAll()) {
      expect(e.size).toBe(10);
      expect(e.timestamp).toBeGreaterThan(1_600_000_000);
      forward.push(e.key.toString());
    }
    expect(forward).toEqual(keys);
    const backward: string[] = [];
    for await (const e of db.scanAll({ reverse: true })) backward.push(e.key.toString());
    expect(backward).toEqual([...keys].reverse());

    const from = await db.keycur('s0389');
    expect(from).not.toBeNull();
    const rest: string[] = [];
    for await (const e of db.scanAll({ from: from! })) rest.push(e.key.toString());
    expect(rest).toEqual(keys.slice(390));
    expect(await db.keycur('nope')).toBeNull();

    const { db: empty } = await freshNamespace();
    expect(await empty.scan()).toBeNull();
  });

  it('walks the history of a key', async () => {
    const { db } = await freshNamespace();
    for (const v of ['one', 'two', 'three']) await db.set('h', v);
    const seen: string[] = [];
    let entry = await db.history('h');
    while (entry) {
      seen.push(entry.value.toString());
      expect(entry.timestamp).toBeGreaterThan(1_600_000_000);
      entry = entry.cursor ? await db.history('h', entry.cursor) : null;
    }
    expect(seen).toEqual(['three', 'two', 'one']);
    expect(await db.history('nope')).toBeNull();
  });

  it('manages namespaces and reports NSINFO as numbers', async () => {
    const { name, db } = await freshNamespace();
    const admin = client({ connections: 1 });
    expect(await admin.nslist()).toContain(name);
    expect((await zdbError(admin.nsnew(name))).code).toBe('NS_EXISTS');
    await db.set('a', Buffer.alloc(1000));
    const info = await admin.nsinfo(name);
    expect(info).toMatchObject({
      name,
      entries: 1,
      public: true,
      password: false,
      worm: false,
      locked: false,
      mode: 'user',
      dataLimitsBytes: 0,
    });
    expect(info.dataSizeBytes).toBeGreaterThanOrEqual(1000);
    expect(info.indexSizeBytes).toBeGreaterThan(0);
    expect(info.dataDiskFreespaceBytes).toBeGreaterThan(0);
    expect(info.spaceAvailableBytes).toBeNull();

    await admin.nsset(name, 'maxsize', 1500);
    expect((await admin.nsinfo(name)).dataLimitsBytes).toBe(1500);
    expect((await zdbError(db.set('b', Buffer.alloc(1000)))).code).toBe('NO_SPACE');
    await admin.nsset(name, 'maxsize', 0);

    await admin.nsset(name, 'worm', true);
    expect((await zdbError(db.set('a', 'other'))).code).toBe('WORM');
    expect((await zdbError(db.del('a'))).code).toBe('WORM');
    await admin.nsset(name, 'worm', false);

    await admin.nsset(name, 'lock', true);
    expect((await zdbError(db.set('c', 'x'))).code).toBe('READ_ONLY');
    await admin.nsset(name, 'lock', false);

    await admin.nsset(name, 'freeze', true);
    expect((await zdbError(db.get('a'))).code).toBe('FROZEN');
    await admin.nsset(name, 'freeze', false);

    expect((await zdbError(admin.nsset('default', 'worm', true))).code).toBe('PERMISSION');
    expect((await zdbError(admin.nsinfo('no-such-ns'))).code).toBe('NS_NOT_FOUND');
    db.destroy();
    await admin.nsdel(name);
    expect(await admin.nslist()).not.toContain(name);
  });

  it('authenticates plainly and with the SECURE challenge', async () => {
    const anon = client({ adminPassword: undefined, connections: 1 });
    expect((await zdbError(anon.nsnew('by-anon'))).code).toBe('PERMISSION');
    expect((await zdbError(anon.auth('wrong'))).code).toBe('PERMISSION');
    expect((await zdbError(anon.auth('wrong', { secure: true }))).code).toBe('PERMISSION');
    await anon.auth(ADMIN, { secure: true });
    await anon.nsnew('by-secure');
    const plain = client({ adminPassword: undefined, connections: 2 });
    await plain.auth(ADMIN, { secure: false });
    await plain.nsnew('by-plain');
    // Configured up front, replayed on connect.
    const configured = client({ secure: false });
    await configured.nsdel('by-plain');
    await client().nsdel('by-secure');
  });

  it('selects password-protected namespaces, with the password or SECURE', async () => {
    const { name } = await freshNamespace();
    const admin = client({ connections: 1 });
    await admin.nsset(name, 'password', 'ns-pass');
    await admin.nsset(name, 'public', false);

    const user = client({ adminPassword: undefined, connections: 1 });
    expect((await zdbError(user.select(name))).code).toBe('PERMISSION');
    expect((await zdbError(user.select(name, { password: 'bad' }))).code).toBe('PERMISSION');
    expect((await zdbError(user.select('no-such-ns'))).code).toBe('NS_NOT_FOUND');
    await user.select(name, { password: 'ns-pass', secure: false });
    await user.set('k', 'v');
    await user.select(name, { password: 'ns-pass', secure: true });
    expect(await user.get('k')).toEqual(Buffer.from('v'));

    // A configured namespace with a wrong password fails the requests made on it, with the reason.
    const wrong = client({ adminPassword: undefined, namespace: name, namespacePassword: 'bad', connections: 1 });
    expect((await zdbError(wrong.get('k'))).code).toBe('PERMISSION');

    // Public with a password: readable without it, not writable.
    await admin.nsset(name, 'public', true);
    const reader = client({ adminPassword: undefined, namespace: name, connections: 1 });
    expect(await reader.get('k')).toEqual(Buffer.from('v'));
    expect((await zdbError(reader.set('k2', 'v'))).code).toBe('READ_ONLY');

    // FLUSH: only on a private, password-protected namespace. (What 0-db 2.0.7 then serves is
    // its own business: it answers +OK and keeps returning the old keys.)
    expect((await zdbError(user.flush())).code).toBe('PERMISSION');
    await admin.nsset(name, 'public', false);
    await user.flush();
  });

  it('appends in sequential mode', async () => {
    const { name, db } = await freshNamespace();
    await client({ connections: 1 }).nsset(name, 'mode', 'seq');
    expect(await db.append('zero')).toBe(0);
    expect(await db.append('one')).toBe(1);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => db.append(`v${i}`)));
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(await db.get(seqId(1))).toEqual(Buffer.from('one'));
    expect(await db.set(seqId(1), 'uno')).toEqual(seqId(1));
    expect(await db.get(seqId(1))).toEqual(Buffer.from('uno'));
    expect((await zdbError(db.set(seqId(1000), 'x'))).code).toBe('INVALID_KEY');
    expect((await client({ connections: 1 }).nsinfo(name)).mode).toBe('seq');
    const scanned: number[] = [];
    for await (const e of db.scanAll()) scanned.push(seqNumber(e.key));
    expect(scanned).toHaveLength(52);
  });

  it("waits for another client's command", async () => {
    const { db } = await freshNamespace();
    const waiting = db.wait('SET', 5_000);
    await sleep(100);
    await db.set('w', 'x');
    expect(await waiting).toBe('SET');
    expect((await zdbError(db.wait('*', 100))).code).toBe('TIMEOUT');
  });

  it('reconnects after a server restart and replays AUTH and SELECT', async () => {
    const { name } = await freshNamespace();
    const admin = client({ connections: 1 });
    await admin.nsset(name, 'password', 'pw');
    await admin.nsset(name, 'public', false);
    const db = client({
      namespace: name,
      namespacePassword: 'pw',
      connections: 2,
      reconnectDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    await db.set('before', 'restart');

    server = await server.restart();
    // The dropped connections are noticed by the first request on each (CONNECTION), or not at all.
    let value: Buffer | null = null;
    for (let i = 0; i < 100 && value === null; i++) {
      value = await db.get('before').catch((err: ZdbError) => {
        expect(err.code).toBe('CONNECTION');
        return sleep(50).then(() => null);
      });
    }
    expect(value).toEqual(Buffer.from('restart'));
    await db.set('after', 'x'); // admin + right namespace again
    expect(await db.dbsize()).toBe(2);
  });
}

// Every server the client must work with runs the same contract: ours always, 0-db when
// ZDB_REFERENCE_BIN names a binary built outside the repo.
const REFERENCE = process.env['ZDB_REFERENCE_BIN'];
const servers = [
  { name: 'qstor zdb', bin: 'bin/zdb.js', enabled: true },
  {
    name: `0-db (${REFERENCE ?? 'set ZDB_REFERENCE_BIN to run'})`,
    bin: REFERENCE ?? '',
    enabled: REFERENCE !== undefined && existsSync(REFERENCE),
  },
];

for (const target of servers) {
  describe.runIf(target.enabled)(`zdb-client against ${target.name}`, () => {
    clientContract((options) => startZdb({ ...options, bin: target.bin }));

    it('works over a unix socket, and tolerates AUTH on a server without an admin password', async () => {
      const server = await startZdb({ bin: target.bin, unixSocket: true });
      const db = new ZdbClient({ path: server.socketPath, adminPassword: 'anything' });
      try {
        await db.ping();
        await db.nsnew('via-unix'); // every connection is admin without --admin
        expect(await db.nslist()).toContain('via-unix');
      } finally {
        db.destroy();
        await server.stop();
      }
    });
  });
}
