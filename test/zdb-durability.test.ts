import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZdbClient } from '../src/zdb-client/index.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');

function value(i: number): Buffer {
  // Sizes from 1 byte to 96 KiB; content derived from i so a reader can check it.
  const size = 1 + ((i * 7919) % (96 * 1024));
  const seed = crypto.createHash('sha256').update(String(i)).digest();
  const out = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += seed.length) seed.copy(out, o);
  return out;
}

let server: ZdbProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Writes from several connections until stopped; returns the keys whose SET was answered. */
async function writeUntil(srv: ZdbProcess, stopAfterMs: number, firstKey: number): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  const writers = 8;
  let next = firstKey;
  let stop = false;
  const clients = Array.from(
    { length: writers },
    () => new ZdbClient({ port: srv.port, connections: 1, requestTimeoutMs: 2000, reconnectDelayMs: 60_000 }),
  );
  const loops = clients.map(async (c) => {
    while (!stop) {
      const i = next++;
      const key = `key-${i}`;
      try {
        // Keep 16 requests in flight per connection: the crash lands between and inside writes.
        const batch = [0, 1, 2, 3].map(async (j) => {
          const k = `${key}-${j}`;
          await c.set(k, value(i * 4 + j));
          acked.set(k, i * 4 + j);
        });
        await Promise.all(batch);
      } catch {
        return;
      }
    }
  });
  await new Promise((r) => setTimeout(r, stopAfterMs));
  srv.kill('SIGKILL');
  stop = true;
  await Promise.all(loops);
  for (const c of clients) c.destroy();
  return acked;
}

async function expectAll(srv: ZdbProcess, acked: Map<string, number>): Promise<void> {
  const c = new ZdbClient({ port: srv.port, connections: 4 });
  try {
    const keys = [...acked.keys()];
    const values = await Promise.all(keys.map((k) => c.get(k)));
    const bad = keys.filter((k, i) => !values[i] || !values[i]!.equals(value(acked.get(k)!)));
    expect(bad).toEqual([]);
  } finally {
    await c.close();
  }
}

describe('zdb durability (--sync)', () => {
  it('keeps every acknowledged SET across kill -9 at random moments', async () => {
    server = await startZdb({ bin: ZDB, args: ['--sync', '--datasize', '2M'] });
    const acked = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      const got = await writeUntil(server, 300 + round * 250, round * 100_000);
      for (const [k, v] of got) acked.set(k, v);
      expect(got.size).toBeGreaterThan(0);
      server = await server.restart();
      await expectAll(server, acked);
    }
    // The restarted server takes new writes after the recovered tail.
    const c = new ZdbClient({ port: server.port, connections: 1 });
    expect((await c.set('after-crash', 'ok'))?.toString()).toBe('after-crash');
    expect((await c.get('after-crash'))?.toString()).toBe('ok');
    await c.close();
  });

  it('cuts a torn tail in the data and index files and keeps everything before it', async () => {
    server = await startZdb({ bin: ZDB, args: ['--sync'] });
    const c = new ZdbClient({ port: server.port, connections: 1 });
    const acked = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      await c.set(`k${i}`, value(i));
      acked.set(`k${i}`, i);
    }
    await c.del('k3');
    acked.delete('k3');
    await c.close();
    await server.stop({ keepDirs: true });
    const d0 = path.join(server.dataDir, 'default', 'd0');
    const i0 = path.join(server.indexDir, 'default', 'i0');
    const dataSize = fs.statSync(d0).size;
    const indexSize = fs.statSync(i0).size;
    // A half-written entry: a header announcing 1000 bytes, and 10 of them.
    const torn = Buffer.alloc(18 + 4 + 10);
    torn.writeUInt8(4, 0);
    torn.writeUInt32LE(1000, 1);
    fs.appendFileSync(d0, torn);
    fs.appendFileSync(i0, Buffer.alloc(20, 7));
    server = await server.restart();
    expect(fs.statSync(d0).size).toBe(dataSize);
    expect(fs.statSync(i0).size).toBe(indexSize);
    await expectAll(server, acked);
    const c2 = new ZdbClient({ port: server.port, connections: 1 });
    expect(await c2.get('k3')).toBeNull();
    expect(await c2.dbsize()).toBe(49);
    await c2.close();
  });

  it('indexes data entries whose index items were lost, and rebuilds a missing index file', async () => {
    server = await startZdb({ bin: ZDB, args: ['--datasize', '512K'] });
    const c = new ZdbClient({ port: server.port, connections: 1 });
    const acked = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      await c.set(`k${i % 25}`, value(i)); // 15 overwrites
      acked.set(`k${i % 25}`, i);
    }
    await c.del('k7');
    acked.delete('k7');
    await c.close();
    await server.stop({ keepDirs: true });
    const nsIndex = path.join(server.indexDir, 'default');
    const files = fs.readdirSync(nsIndex).filter((f) => /^i\d+$/.test(f));
    expect(files.length).toBeGreaterThan(1); // rotation happened
    // Lose the last index file entirely, and the last 3 items of the one before it.
    const last = Math.max(...files.map((f) => Number(f.slice(1))));
    fs.rmSync(path.join(nsIndex, `i${last}`));
    server = await server.restart();
    await expectAll(server, acked);
    const c2 = new ZdbClient({ port: server.port, connections: 1 });
    expect(await c2.get('k7')).toBeNull();
    expect(await c2.dbsize()).toBe(24);
    expect(fs.existsSync(path.join(nsIndex, `i${last}`))).toBe(true);
    await c2.close();
  });
});
