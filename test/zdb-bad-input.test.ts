import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZdbClient, ZdbError } from '../src/zdb-client/index.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');

/** Sends raw bytes, returns everything the server sent back before closing (or after `waitMs`). */
function rawExchange(
  port: number,
  bytes: Buffer | Buffer[],
  waitMs = 1500,
): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const done = (): void => resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed });
    const timer = setTimeout(() => {
      sock.destroy();
      done();
    }, waitMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    sock.on('connect', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) sock.write(b);
    });
  });
}

function request(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

describe('zdb bad input', () => {
  let server: ZdbProcess;
  let client: ZdbClient;

  beforeAll(async () => {
    server = await startZdb({ bin: ZDB });
    client = new ZdbClient({ port: server.port, connections: 1 });
    await client.set('precious', 'still here');
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  async function stillServing(): Promise<void> {
    expect((await client.get('precious'))?.toString()).toBe('still here');
    expect(await client.dbsize()).toBe(1);
  }

  it('answers an argument over 8 MiB with an error, then closes', async () => {
    const header = Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${8 * 1024 * 1024 + 1}\r\n`);
    const { reply, closed } = await rawExchange(server.port, [header, Buffer.alloc(64 * 1024)]);
    expect(reply).toBe('-Argument too large\r\n');
    expect(closed).toBe(true);
    expect(await client.exists('big')).toBe(false);
    await stillServing();
  });

  it('accepts an argument of exactly 8 MiB', async () => {
    const v = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const { reply } = await rawExchange(server.port, request('SET', 'eight', v), 3000);
    expect(reply).toBe('$5\r\neight\r\n');
    expect((await client.length('eight')) ?? 0).toBe(v.length);
    await client.del('eight');
  });

  it('refuses more than 1024 arguments', async () => {
    const args = ['MGET', ...Array.from({ length: 1024 }, (_, i) => `k${i}`)];
    const { reply, closed } = await rawExchange(server.port, request(...args));
    expect(reply).toBe('-Too many arguments\r\n');
    expect(closed).toBe(true);
    await stillServing();
  });

  it('answers an inline command or garbage bytes with an error and closes', async () => {
    for (const junk of ['PING\r\n', '\x00\xff\x13garbage', '*2\r\n:1\r\n', '*abc\r\n', '*1\r\n$-5\r\n']) {
      const { reply, closed } = await rawExchange(server.port, Buffer.from(junk, 'latin1'));
      expect(reply.startsWith('-Malformed request')).toBe(true);
      expect(closed).toBe(true);
    }
    await stillServing();
  });

  it('answers the requests before a protocol error in order, then the error', async () => {
    const { reply } = await rawExchange(server.port, [
      request('PING'),
      request('GET', 'precious'),
      Buffer.from('JUNK\r\n'),
    ]);
    expect(reply).toBe('+PONG\r\n$10\r\nstill here\r\n-Malformed request, array expected\r\n');
  });

  it('refuses namespace names that would leave the data directory', async () => {
    for (const name of ['../x', '..', '.', 'a/b', 'default']) {
      await expect(client.nsnew(name)).rejects.toMatchObject({
        message: expect.stringContaining('This name is not allowed'),
      });
    }
    expect(fs.readdirSync(path.dirname(server.dataDir)).filter((f) => f === 'x')).toEqual([]);
    expect(await client.nslist()).toEqual(['default']);
    await stillServing();
  });

  it('keeps serving other clients while one sends a value byte by byte', async () => {
    const slow = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => slow.on('connect', r));
    const req = request('SET', 'slow', 'abc');
    for (let i = 0; i < req.length - 1; i++) slow.write(req.subarray(i, i + 1));
    await stillServing();
    const reply = new Promise<string>((r) => slow.once('data', (d) => r(d.toString())));
    slow.write(req.subarray(req.length - 1));
    expect(await reply).toBe('$4\r\nslow\r\n');
    slow.destroy();
    await client.del('slow');
  });
});

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-mnt-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(canMountTmpfs())('zdb on a full disk (tmpfs of 3 MiB)', () => {
  let mount: string;
  beforeAll(() => {
    mount = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mount]);
  });
  afterAll(() => {
    execFileSync('umount', ['-l', mount]);
    fs.rmSync(mount, { recursive: true, force: true });
  });

  it('answers ENOSPC with an error, keeps every acknowledged value, and restarts intact', async () => {
    const server = await startZdb({
      bin: ZDB,
      args: ['--sync'],
      dataDir: path.join(mount, 'data'),
      indexDir: path.join(mount, 'index'),
    });
    const c = new ZdbClient({ port: server.port, connections: 1 });
    const acked = new Map<string, Buffer>();
    let failure: unknown;
    for (let i = 0; i < 100 && !failure; i++) {
      const v = Buffer.alloc(100 * 1024, i);
      try {
        await c.set(`k${i}`, v);
        acked.set(`k${i}`, v);
      } catch (e) {
        failure = e;
      }
    }
    expect(failure).toBeInstanceOf(ZdbError);
    expect((failure as ZdbError).message).toMatch(/Cannot write (data|index) right now/);
    expect(acked.size).toBeGreaterThan(5);
    // Still serving, every acknowledged value intact.
    for (const [k, v] of acked) expect((await c.get(k))?.equals(v)).toBe(true);
    await c.close();
    await server.stop({ keepDirs: true });
    const again = await server.restart();
    const c2 = new ZdbClient({ port: again.port, connections: 1 });
    for (const [k, v] of acked) expect((await c2.get(k))?.equals(v)).toBe(true);
    expect(await c2.dbsize()).toBe(acked.size);
    await c2.close();
    await again.stop();
  });
});
