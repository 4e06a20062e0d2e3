import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { ObjectStore } from '../src/store/object-store.js';
import { Deleter } from '../src/store/deleter.js';
import { collect, content, pieces, startStore, type Harness } from './helpers/store-harness.js';

const CHUNK = 256 * 1024;

describe('object store', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('b');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('round-trips sizes around the chunk boundaries byte for byte', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12345]) {
      const data = content(size, size);
      const put = await h.store.put('b', `obj-${size}`, pieces(data));
      expect(put.size).toBe(size);
      expect(put.etag).toBe(crypto.createHash('md5').update(data).digest('hex'));
      const got = await collect((await h.store.get('b', `obj-${size}`)).body);
      expect(got.equals(data)).toBe(true);
    }
  });

  it('serves random ranges from the chunks that cover them', async () => {
    const data = content(5 * CHUNK + 777, 42);
    await h.store.put('b', 'ranged', pieces(data));
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 25; i++) {
      const a = rnd(data.length);
      const b = Math.min(data.length - 1, a + rnd(2 * CHUNK));
      const got = await collect((await h.store.get('b', 'ranged', { start: a, end: b })).body);
      expect(got.equals(data.subarray(a, b + 1))).toBe(true);
    }
    await expect(h.store.get('b', 'ranged', { start: data.length, end: data.length + 5 })).rejects.toThrow(
      /not satisfiable/,
    );
  });

  it('refuses a Content-MD5 that does not match and leaves nothing visible', async () => {
    const data = content(CHUNK * 2, 3);
    await expect(
      h.store.put('b', 'bad-md5', pieces(data), { contentMd5: Buffer.alloc(16).toString('base64') }),
    ).rejects.toMatchObject({ code: 'BadDigest' });
    expect(await h.meta.getObject('b', 'bad-md5')).toBeNull();
  });

  it('shares chunks on copy, and deleting one copy keeps the other readable', async () => {
    const data = content(2 * CHUNK + 5, 9);
    await h.store.put('b', 'src', pieces(data));
    const copy = await h.store.copy('b', 'src', 'b', 'dst');
    expect(copy!.chunks.map((c) => c.id)).toEqual((await h.meta.getObject('b', 'src'))!.chunks.map((c) => c.id));
    await h.store.delete('b', 'src');
    await new Deleter(h.meta, h.backends).drain();
    expect((await collect((await h.store.get('b', 'dst')).body)).equals(data)).toBe(true);
  });

  it('removes the shards of deleted objects from the backends', async () => {
    const data = content(CHUNK + 1, 11);
    const { manifest } = await h.store.put('b', 'doomed', pieces(data));
    const shards = manifest.chunks.flatMap((c) => c.shards);
    for (const s of shards) expect(await h.backends.client(s.backend).check(s.key)).toBe(true);
    await h.store.delete('b', 'doomed');
    expect(await new Deleter(h.meta, h.backends).drain()).toBeGreaterThanOrEqual(shards.length);
    for (const s of shards) expect(await h.backends.client(s.backend).check(s.key)).toBeNull();
  });

  it('reads correct bytes when shards on disk are corrupted, and queues the chunk for repair', async () => {
    const data = content(CHUNK, 77);
    const { manifest } = await h.store.put('b', 'flipped', pieces(data));
    const victim = manifest.chunks[0]!.shards[0]!;
    const zdb = h.zdbs[Number(victim.backend.slice(1))]!;
    // Flip bytes inside the data file, in the shard's payload.
    const file = path.join(zdb.dataDir, 'default', 'd0');
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from(victim.key));
    expect(at).toBeGreaterThan(0);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, at + victim.key.length + 100);
    fs.closeSync(fd);
    expect((await collect((await h.store.get('b', 'flipped')).body)).equals(data)).toBe(true);
    expect((await h.meta.takeRepairs(100, 1000)).map((r) => r.chunkId)).toContain(manifest.chunks[0]!.id);
  });

  it('refuses to decrypt with a wrong master key, never returning garbage', async () => {
    const data = content(CHUNK, 5);
    await h.store.put('b', 'secret', pieces(data));
    const wrong = new ObjectStore({
      meta: h.meta,
      backends: h.backends,
      pipeline: h.pipeline,
      masterKey: crypto.randomBytes(32),
      chunkSize: CHUNK,
    });
    await expect(collect((await wrong.get('b', 'secret')).body)).rejects.toMatchObject({ code: 'WRONG_MASTER_KEY' });
  });

  it('rebuilds the whole metadata database from the backends and the master key', async () => {
    const data = content(3 * CHUNK + 7, 808);
    await h.store.createBucket('rebuilt', { erasure: { dataShards: 3, parityShards: 2 } });
    await h.store.put('rebuilt', 'a/κλειδί', pieces(data), {
      contentType: 'text/x-test',
      metadata: { colour: 'blue' },
    });
    await h.store.put('rebuilt', 'gone', pieces(content(10, 1)));
    await h.store.delete('rebuilt', 'gone');
    const expected = new Map<string, { etag: string; size: number }>();
    for (const bucket of await h.meta.listBuckets()) {
      for (const e of (await h.meta.listObjects({ bucket: bucket.name, maxKeys: 10_000 })).entries)
        expected.set(`${bucket.name}/${e.key}`, { etag: e.etag, size: e.size });
    }
    const fresh = new SqliteMetaStore(path.join(h.dir, 'rebuilt.db'));
    try {
      const report = await h.store.replica.rebuild(fresh);
      expect(report.unreadable).toBe(0);
      const got = new Map<string, { etag: string; size: number }>();
      for (const bucket of await fresh.listBuckets()) {
        for (const e of (await fresh.listObjects({ bucket: bucket.name, maxKeys: 10_000 })).entries)
          got.set(`${bucket.name}/${e.key}`, { etag: e.etag, size: e.size });
      }
      expect(got).toEqual(expected);
      expect((await fresh.getBucket('rebuilt'))!.settings.erasure).toEqual({ dataShards: 3, parityShards: 2 });
      const m = (await fresh.getObject('rebuilt', 'a/κλειδί'))!;
      expect(m.contentType).toBe('text/x-test');
      expect(m.metadata).toEqual({ colour: 'blue' });
      const reader = new ObjectStore({
        meta: fresh,
        backends: h.backends,
        pipeline: h.pipeline,
        masterKey: h.masterKey,
        chunkSize: CHUNK,
      });
      expect((await collect((await reader.get('rebuilt', 'a/κλειδί')).body)).equals(data)).toBe(true);
      const wrongKey = new ObjectStore({
        meta: fresh,
        backends: h.backends,
        pipeline: h.pipeline,
        masterKey: crypto.randomBytes(32),
      });
      await expect(wrongKey.replica.rebuild(new SqliteMetaStore(path.join(h.dir, 'wrong.db')))).rejects.toMatchObject({
        code: 'WRONG_MASTER_KEY',
      });
    } finally {
      await fresh.close();
    }
  });

  it('100 MiB round trip with the default 4 MiB chunks', async () => {
    const big = new ObjectStore({ meta: h.meta, backends: h.backends, pipeline: h.pipeline, masterKey: h.masterKey });
    const data = content(100 * 1024 * 1024, 100);
    const put = await big.put('b', 'big', pieces(data, 1024 * 1024));
    expect(put.manifest.chunks).toHaveLength(25);
    const got = await collect((await big.get('b', 'big')).body);
    expect(got.length).toBe(data.length);
    expect(crypto.createHash('sha256').update(got).digest('hex')).toBe(
      crypto.createHash('sha256').update(data).digest('hex'),
    );
  });
});

describe('object store with backends failing', () => {
  it('reads every object byte-identically with any 2 of 6 backends killed', async () => {
    const h = await startStore(6, { chunkSize: CHUNK });
    try {
      await h.store.createBucket('b');
      const objects = new Map<string, Buffer>();
      for (let i = 0; i < 4; i++) {
        const data = content(2 * CHUNK + i * 1000, 1000 + i);
        await h.store.put('b', `o${i}`, pieces(data));
        objects.set(`o${i}`, data);
      }
      h.zdbs[1]!.kill('SIGKILL');
      h.zdbs[4]!.kill('SIGKILL');
      for (const [key, data] of objects)
        expect((await collect((await h.store.get('b', key)).body)).equals(data)).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('a backend killed during a PUT: its shards go to spares and the object reads back whole', async () => {
    const h = await startStore(8, { chunkSize: CHUNK });
    try {
      await h.store.createBucket('b');
      const data = content(24 * CHUNK, 56);
      let sent = 0;
      async function* body(): AsyncGenerator<Buffer> {
        for await (const p of pieces(data, CHUNK)) {
          if (sent++ === 6) h.zdbs[3]!.kill('SIGKILL');
          yield p;
        }
      }
      const put = await h.store.put('b', 'survivor', body());
      for (const c of put.manifest.chunks) expect(new Set(c.shards.map((s) => s.backend)).size).toBe(6);
      const late = put.manifest.chunks.slice(12).flatMap((c) => c.shards.map((s) => s.backend));
      expect(late).not.toContain('b3');
      expect((await collect((await h.store.get('b', 'survivor')).body)).equals(data)).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('a PUT that cannot place its write quorum fails, leaves nothing visible, and its shards are collected', async () => {
    const h = await startStore(6, { chunkSize: CHUNK });
    try {
      await h.store.createBucket('b');
      const data = content(16 * CHUNK, 57);
      let sent = 0;
      async function* body(): AsyncGenerator<Buffer> {
        for await (const p of pieces(data, CHUNK)) {
          if (sent++ === 4) {
            // One down is written degraded (5 of 6 shards); two down are below the quorum of 5.
            h.zdbs[2]!.kill('SIGKILL');
            h.zdbs[3]!.kill('SIGKILL');
          }
          yield p;
        }
      }
      await expect(h.store.put('b', 'doomed', body())).rejects.toMatchObject({ code: 'SlowDown' });
      expect(await h.meta.getObject('b', 'doomed')).toBeNull();
      const live = [0, 1, 4, 5];
      const shardCount = async (i: number): Promise<number> => {
        let n = 0;
        for await (const e of h.backends.client(`b${i}`).scanAll()) if (!e.key.toString().startsWith('meta:')) n++;
        return n;
      };
      const before = await Promise.all(live.map(shardCount));
      expect(before.some((n) => n > 0)).toBe(true);
      await new Deleter(h.meta, h.backends).drain();
      expect(await Promise.all(live.map(shardCount))).toEqual([0, 0, 0, 0]);
    } finally {
      await h.close();
    }
  });
});

describe('object store multipart', () => {
  it('joins parts without moving data, with the S3 multipart ETag, and releases parts left out', async () => {
    const h = await startStore(6, { chunkSize: CHUNK });
    try {
      await h.store.createBucket('b');
      const id = await h.store.createUpload('b', 'multi', { contentType: 'application/x-test', metadata: { a: '1' } });
      const p1 = content(5 * 1024 * 1024, 1);
      const p2 = content(5 * 1024 * 1024 + 3, 2);
      const p3 = content(1234, 3);
      const e1 = await h.store.uploadPart(id, 1, pieces(p1));
      const unused = await h.store.uploadPart(id, 2, pieces(content(5 * 1024 * 1024, 9)));
      const e2 = await h.store.uploadPart(id, 2, pieces(p2)); // replaces the first part 2
      const e3 = await h.store.uploadPart(id, 3, pieces(p3));
      expect(unused.etag).not.toBe(e2.etag);
      const manifest = await h.store.completeUpload(id, [
        { partNumber: 1, etag: e1.etag },
        { partNumber: 2, etag: `"${e2.etag}"` },
        { partNumber: 3, etag: e3.etag },
      ]);
      const md5 = crypto.createHash('md5');
      for (const e of [e1, e2, e3]) md5.update(Buffer.from(e.etag, 'hex'));
      expect(manifest.etag).toBe(`${md5.digest('hex')}-3`);
      expect(manifest.size).toBe(p1.length + p2.length + p3.length);
      expect(manifest.contentType).toBe('application/x-test');
      const got = await collect((await h.store.get('b', 'multi')).body);
      expect(got.equals(Buffer.concat([p1, p2, p3]))).toBe(true);
      const ranged = await collect(
        (await h.store.get('b', 'multi', { start: p1.length - 10, end: p1.length + 10 })).body,
      );
      expect(ranged.equals(Buffer.concat([p1, p2]).subarray(p1.length - 10, p1.length + 11))).toBe(true);
      // The replaced part's shards were queued for deletion.
      expect(await new Deleter(h.meta, h.backends).drain()).toBeGreaterThan(0);
      expect((await collect((await h.store.get('b', 'multi')).body)).equals(got)).toBe(true);
      await expect(h.store.uploadPart(id, 4, pieces(p3))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    } finally {
      await h.close();
    }
  });
});
