/**
 * A hostile client on loopback: a request that never ends, more connections than the server
 * serves, password guessing; and the admin secret kept off the command line.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, err } from './helpers/raw-resp.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');
const MiB = 1024 * 1024;

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM). */
function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe('zdb: a request that never ends', () => {
  let server: ZdbProcess;
  beforeAll(async () => {
    server = await startZdb({ bin: ZDB });
  });
  afterAll(async () => server.stop());

  it('*1024 then 60 bulks of 8 MiB: refused after one, the connection cut, memory bounded', async () => {
    const before = procMemory(server.pid, 'VmRSS');
    const sock = net.connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    let closed = false;
    sock.on('data', (d: Buffer) => received.push(d));
    sock.on('error', () => {});
    const gone = new Promise<void>((r) => sock.on('close', () => ((closed = true), r())));
    await new Promise((r) => sock.once('connect', r));
    const value = Buffer.alloc(8 * MiB, 0x61);
    sock.write('*1024\r\n');
    let sent = 0;
    for (let i = 0; i < 60 && !closed; i++) {
      sock.write(`$${value.length}\r\n`);
      const flushed = sock.write(value);
      sock.write('\r\n');
      sent += value.length;
      if (!flushed) await Promise.race([new Promise((r) => sock.once('drain', r)), gone]);
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    const peak = procMemory(server.pid, 'VmHWM');
    sock.destroy();

    const grown = `${Math.round((peak - before) / MiB)} MiB`;
    expect(closed, `still open after ${sent / MiB} MiB sent; server peak RSS +${grown}`).toBe(true);
    expect(Buffer.concat(received).toString()).toBe('-Request too large\r\n');
    // One 8 MiB argument was buffered, the second one refused at its header.
    expect(sent).toBeLessThan(60 * value.length);
    expect(peak - before, `server peak RSS +${grown}`).toBeLessThan(100 * MiB);
    const c = await RawClient.connect(server.port);
    expect(await c.cmd('PING')).toBe('PONG');
    c.close();
  });
});

describe('zdb --request-timeout', () => {
  let server: ZdbProcess;
  beforeAll(async () => {
    server = await startZdb({ bin: ZDB, args: ['--request-timeout', '1'] });
  });
  afterAll(async () => server.stop());

  it('a request begun and never finished is answered an error and closed after the timeout', async () => {
    const c = await RawClient.connect(server.port);
    c.setRaw(true);
    const start = Date.now();
    c.sendRaw(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${4 * MiB}\r\n`);
    c.sendRaw(Buffer.alloc(MiB));
    expect((await c.readUntilClose()).toString()).toBe('-Request timeout\r\n');
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
    expect(Date.now() - start).toBeLessThan(5_000);
  });

  it('an idle connection between requests, and a slow one that keeps finishing requests, stay open', async () => {
    const idle = await RawClient.connect(server.port);
    expect(await idle.cmd('PING')).toBe('PONG');
    const slow = await RawClient.connect(server.port);
    const ping = Buffer.from('*1\r\n$4\r\nPING\r\n');
    // PINGs, each split in two, sent over 2.5 s: never a whole second without a finished request.
    for (let i = 0; i < 10; i++) {
      slow.sendRaw(ping.subarray(0, 5));
      await new Promise((r) => setTimeout(r, 125));
      slow.sendRaw(ping.subarray(5));
      await new Promise((r) => setTimeout(r, 125));
      expect(await slow.reply()).toBe('PONG');
    }
    expect(await idle.cmd('PING')).toBe('PONG');
    expect(idle.closed || slow.closed).toBe(false);
    idle.close();
    slow.close();
  });
});

describe('zdb --max-connections', () => {
  let server: ZdbProcess;
  beforeAll(async () => {
    server = await startZdb({ bin: ZDB, args: ['--max-connections', '3'] });
  });
  afterAll(async () => server.stop());

  it('the connection past the cap gets an error and is closed; a freed place serves again', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
    for (const c of clients) expect(await c.cmd('PING')).toBe('PONG');
    const extra = await RawClient.connect(server.port);
    extra.setRaw(true);
    expect((await extra.readUntilClose()).toString()).toBe('-Too many connections\r\n');
    clients[0]!.close();
    await new Promise((r) => setTimeout(r, 200));
    const next = await RawClient.connect(server.port);
    expect(await next.cmd('PING')).toBe('PONG');
    for (const c of [...clients, next]) c.close();
  });
});

describe('zdb: password guessing is paced', () => {
  const PW = 'the-right-password';
  let server: ZdbProcess;
  beforeAll(async () => {
    server = await startZdb({ bin: ZDB, args: ['--admin', PW] });
  });
  afterAll(async () => server.stop());

  /** Waits until a source's penalty has run out. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

  it('50 wrong AUTHs on one connection take 5 s; the right password then answers at once', async () => {
    const c = await RawClient.connect(server.port);
    const start = Date.now();
    for (let i = 0; i < 50; i++) expect(await c.cmd('AUTH', `guess-${i}`)).toEqual(err('Access denied'));
    expect(Date.now() - start).toBeGreaterThanOrEqual(4_900);
    c.close();
    await settle();
    const ok = await RawClient.connect(server.port);
    const t = Date.now();
    expect(await ok.cmd('AUTH', PW)).toBe('OK');
    expect(Date.now() - t).toBeLessThan(400);
    ok.close();
  });

  it('guesses spread over many connections are paced too (at most 10 checks a second per source)', async () => {
    await settle();
    const clients = await Promise.all(Array.from({ length: 30 }, () => RawClient.connect(server.port)));
    const start = Date.now();
    const times = await Promise.all(
      clients.map(
        async (c, i) => (expect(await c.cmd('AUTH', `guess-${i}`)).toEqual(err('Access denied')), Date.now() - start),
      ),
    );
    expect(Math.max(...times)).toBeGreaterThanOrEqual(2_900);
    // Ten a second: no more than about 10 answers in the first second.
    expect(times.filter((t) => t < 1_000).length).toBeLessThanOrEqual(11);
    for (const c of clients) c.close();
  });

  it('SELECT with a namespace password is paced the same way', async () => {
    await settle();
    const admin = await RawClient.connect(server.port);
    expect(await admin.cmd('AUTH', PW)).toBe('OK');
    expect(await admin.cmd('NSNEW', 'vault')).toBe('OK');
    expect(await admin.cmd('NSSET', 'vault', 'password', 'secret')).toBe('OK');
    admin.close();
    const c = await RawClient.connect(server.port);
    const start = Date.now();
    for (let i = 0; i < 20; i++) expect(await c.cmd('SELECT', 'vault', `guess-${i}`)).toEqual(err('Access denied'));
    expect(Date.now() - start).toBeGreaterThanOrEqual(1_900);
    await settle();
    expect(await c.cmd('SELECT', 'vault', 'secret')).toBe('OK');
    c.close();
  });

  it('a source with more than 5 s of queued guesses is refused without a check', async () => {
    await settle();
    const clients = await Promise.all(Array.from({ length: 70 }, () => RawClient.connect(server.port)));
    const replies = await Promise.all(clients.map((c, i) => c.cmd('AUTH', i === 69 ? PW : `guess-${i}`)));
    const throttled = replies.filter(
      (r) => JSON.stringify(r) === JSON.stringify(err('Too many failed authentications, retry later')),
    );
    expect(throttled.length).toBeGreaterThan(0);
    // Even the right password, queued behind the guesses, is refused, not granted.
    expect(replies[69]).toEqual(err('Too many failed authentications, retry later'));
    for (const c of clients) c.close();
  });
});

describe('zdb --admin-file --protect', () => {
  const SECRET = 'file-only-secret-7f3a';
  let dir: string;
  let server: ZdbProcess;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-admin-'));
    const file = path.join(dir, 'admin');
    fs.writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    server = await startZdb({ bin: ZDB, args: ['--admin-file', file, '--protect'] });
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('protects default with the secret from the file, which is not on the command line', async () => {
    const cmdline = fs.readFileSync(`/proc/${server.pid}/cmdline`);
    expect(cmdline.includes('--admin-file')).toBe(true);
    expect(cmdline.includes(SECRET)).toBe(false);
    const c = await RawClient.connect(server.port);
    expect(await c.cmd('SET', 'k', 'v')).toEqual(err('Namespace is in read-only mode'));
    expect(await c.cmd('NSNEW', 'x')).toEqual(err('Permission denied'));
    expect(await c.cmd('AUTH', SECRET)).toBe('OK');
    expect(await c.cmd('NSNEW', 'x')).toBe('OK');
    expect(await c.cmd('SELECT', 'default', SECRET)).toBe('OK');
    expect(await c.cmd('SET', 'k', 'v')).toEqual(Buffer.from('k'));
    c.close();
  });
});
