import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZdbClient } from '../src/zdb-client/index.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');
const REFERENCE = process.env.ZDB_REFERENCE_BIN;

function payload(tag: string, size: number): Buffer {
  const seed = crypto.createHash('sha256').update(tag).digest();
  const out = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += seed.length) seed.copy(out, o);
  return out;
}

function dataBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((f) => /^d\d+$/.test(f))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

let servers: ZdbProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function fill(c: ZdbClient, expected: Map<string, Buffer | null>): Promise<void> {
  // 60 keys of 20 KiB, each written 4 times, a third of them deleted: most bytes are dead.
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const v = payload(`${i}-${round}`, 20 * 1024);
        await c.set(`key-${i}`, v);
        expected.set(`key-${i}`, v);
      }),
    );
  }
  for (let i = 0; i < 60; i += 3) {
    await c.del(`key-${i}`);
    expected.set(`key-${i}`, null);
  }
}

async function verify(c: ZdbClient, expected: Map<string, Buffer | null>): Promise<void> {
  const wrong: string[] = [];
  for (const [k, v] of expected) {
    const got = await c.get(k);
    if (v === null ? got !== null : !got?.equals(v)) wrong.push(k);
  }
  expect(wrong).toEqual([]);
  expect(await c.dbsize()).toBe([...expected.values()].filter((v) => v !== null).length);
}

describe('zdb online compaction', () => {
  it('reclaims dead entries while writers keep going, and loses nothing across a restart', async () => {
    const server = await startZdb({ bin: ZDB, args: ['--datasize', '512K', '--sync'] });
    servers.push(server);
    const c = new ZdbClient({ port: server.port, connections: 4 });
    const expected = new Map<string, Buffer | null>();
    await fill(c, expected);
    const dir = path.join(server.dataDir, 'default');
    const before = dataBytes(dir);

    // Concurrent load during compaction: overwrites of old keys, new keys, deletes.
    let stop = false;
    let n = 0;
    const load = (async () => {
      while (!stop) {
        const i = n++;
        const key = `key-${(i * 7) % 60}`;
        if (i % 5 === 4) {
          const deleted = await c.del(key).then(
            () => true,
            () => false,
          );
          if (deleted || expected.get(key) === null) expected.set(key, null);
        } else {
          const v = payload(`live-${i}`, 4096 + (i % 3000));
          await c.set(key, v);
          expected.set(key, v);
        }
      }
    })();
    const freed = Number(await c.command(['COMPACT']));
    stop = true;
    await load;
    expect(freed).toBeGreaterThan(before / 2);
    expect(n).toBeGreaterThan(0);
    await verify(c, expected);
    expect(dataBytes(dir)).toBeLessThan(before);
    await c.close();

    const again = await server.restart();
    servers = [again];
    const c2 = new ZdbClient({ port: again.port, connections: 2 });
    await verify(c2, expected);
    // Keys compacted into rewritten files can still be updated and deleted.
    await c2.set('key-1', 'fresh');
    await c2.del('key-2');
    expect((await c2.get('key-1'))?.toString()).toBe('fresh');
    expect(await c2.get('key-2')).toBeNull();
    await c2.close();
  });

  it('finishes a compaction that crashed after its marker, and discards an unfinished copy', async () => {
    const server = await startZdb({ bin: ZDB, args: ['--datasize', '512K'] });
    servers.push(server);
    const c = new ZdbClient({ port: server.port, connections: 1 });
    const expected = new Map<string, Buffer | null>();
    await fill(c, expected);
    // Snapshot the files before compacting, then compact.
    const snapshot = `${server.dataDir}-before`;
    const snapshotIndex = `${server.indexDir}-before`;
    fs.cpSync(server.dataDir, snapshot, { recursive: true });
    fs.cpSync(server.indexDir, snapshotIndex, { recursive: true });
    expect(Number(await c.command(['COMPACT']))).toBeGreaterThan(0);
    await c.close();
    await server.stop({ keepDirs: true });
    // A crash in the switch of file 0: new d0 already renamed, new i0 still pending, marker present.
    const data = path.join(snapshot, 'default');
    const ns = path.join(snapshotIndex, 'default');
    fs.copyFileSync(path.join(server.dataDir, 'default', 'd0'), path.join(data, 'd0'));
    fs.copyFileSync(path.join(server.indexDir, 'default', 'i0'), path.join(ns, 'i0.compact'));
    fs.writeFileSync(path.join(ns, 'compact-0'), '0');
    // And an unfinished copy of file 1 (no marker): must be thrown away.
    fs.writeFileSync(path.join(data, 'd1.compact'), 'partial');
    const again = await startZdb({
      bin: ZDB,
      args: ['--datasize', '512K'],
      dataDir: snapshot,
      indexDir: snapshotIndex,
    });
    servers = [again];
    expect(fs.existsSync(path.join(data, 'd1.compact'))).toBe(false);
    expect(fs.existsSync(path.join(ns, 'i0.compact'))).toBe(false);
    expect(fs.readdirSync(ns).some((f) => f.startsWith('compact-'))).toBe(false);
    const c2 = new ZdbClient({ port: again.port, connections: 1 });
    await verify(c2, expected);
    await c2.close();
    fs.rmSync(snapshot, { recursive: true, force: true });
    fs.rmSync(snapshotIndex, { recursive: true, force: true });
  });

  it.runIf(REFERENCE)('leaves files that the reference 0-db reads', async () => {
    const server = await startZdb({ bin: ZDB, args: ['--datasize', '512K'] });
    servers.push(server);
    const c = new ZdbClient({ port: server.port, connections: 2 });
    const expected = new Map<string, Buffer | null>();
    await fill(c, expected);
    await c.command(['COMPACT']);
    await c.close();
    await server.stop({ keepDirs: true });
    const ref = await startZdb({ bin: REFERENCE!, dataDir: server.dataDir, indexDir: server.indexDir });
    servers = [ref];
    const r = new ZdbClient({ port: ref.port, connections: 1 });
    await verify(r, expected);
    await r.close();
  });
});
