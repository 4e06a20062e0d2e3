import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { DEFAULT_INLINE_MAX, ObjectStore } from '../src/store/object-store.js';
import { collect, content, pieces, startStore, type Harness } from './helpers/store-harness.js';

/** Entries in every backend's default namespace: shards and metadata copies alike. */
async function entriesOnBackends(h: Harness): Promise<number> {
  let n = 0;
  for (const b of h.backends.list()) n += (await h.backends.client(b.id).nsinfo('default')).entries;
  return n;
}

describe('small objects kept in their manifest', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startStore(6, { chunkSize: 256 * 1024 });
    await h.store.createBucket('b');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stores an object of up to the inline size with no shard, encrypted, and reads it and its ranges back', async () => {
    const data = content(DEFAULT_INLINE_MAX, 5);
    const before = await entriesOnBackends(h);
    const put = await h.store.put('b', 'small', pieces(data, 1000));
    expect(put.etag).toBe(crypto.createHash('md5').update(data).digest('hex'));
    expect(put.manifest.chunks).toEqual([]);
    // Only the 3 encrypted manifest copies were written: no shard.
    expect((await entriesOnBackends(h)) - before).toBe(3);
    const stored = (await h.meta.getObject('b', 'small'))!;
    expect(stored.inline).toBeDefined();
    const sealed = Buffer.from(stored.inline!.data, 'base64');
    // The text half of the content would be visible in a plaintext or merely compressed copy.
    expect(sealed.includes(Buffer.from('quick brown fox'))).toBe(false);
    expect((await collect((await h.store.get('b', 'small')).body)).equals(data)).toBe(true);
    expect(
      (await collect((await h.store.get('b', 'small', { start: 100, end: 9000 })).body)).equals(
        data.subarray(100, 9001),
      ),
    ).toBe(true);
  });

  it('cuts an object one byte over the inline size into chunks as before', async () => {
    const data = content(DEFAULT_INLINE_MAX + 1, 6);
    // A copy: the chunker hands a body that is one whole buffer to the workers by transfer.
    const put = await h.store.put('b', 'just-over', pieces(Buffer.from(data)));
    expect(put.manifest.inline).toBeUndefined();
    expect(put.manifest.chunks).toHaveLength(1);
    expect(put.manifest.chunks[0]!.shards).toHaveLength(6);
    expect((await collect((await h.store.get('b', 'just-over')).body)).equals(data)).toBe(true);
  });

  it('refuses inline bytes that were altered in the metadata, never returning them', async () => {
    const data = content(3000, 7);
    const { manifest } = await h.store.put('b', 'tampered', pieces(data));
    const sealed = Buffer.from(manifest.inline!.data, 'base64');
    sealed[10]! ^= 1;
    await h.meta.putObject('b', 'tampered', {
      ...manifest,
      inline: { ...manifest.inline!, data: sealed.toString('base64') },
    });
    await expect(collect((await h.store.get('b', 'tampered')).body)).rejects.toMatchObject({
      code: 'CHUNK_AUTH_FAILED',
    });
  });

  it('copies, overwrites and deletes inline objects, and a copy keeps reading after its source is gone', async () => {
    const data = content(5000, 8);
    await h.store.put('b', 'copy-src', pieces(data));
    await h.store.copy('b', 'copy-src', 'b', 'copy-dst');
    await h.store.delete('b', 'copy-src');
    expect((await collect((await h.store.get('b', 'copy-dst')).body)).equals(data)).toBe(true);
    const big = content(300 * 1024, 9);
    await h.store.put('b', 'copy-dst', pieces(Buffer.from(big)));
    expect((await collect((await h.store.get('b', 'copy-dst')).body)).equals(big)).toBe(true);
    await h.store.put('b', 'copy-dst', pieces(data));
    expect((await collect((await h.store.get('b', 'copy-dst')).body)).equals(data)).toBe(true);
  });

  it('serves an inline object as a multipart part (UploadPartCopy reads it)', async () => {
    const small = content(4096, 10);
    await h.store.put('b', 'part-src', pieces(small));
    const uploadId = await h.store.createUpload('b', 'assembled', { metadata: {} });
    const first = content(5 * 1024 * 1024, 11);
    const p1 = await h.store.uploadPart(uploadId, 1, pieces(Buffer.from(first)));
    const p2 = (await h.store.uploadPartCopy(uploadId, 2, 'b', 'part-src'))!;
    expect(p2.etag).toBe(crypto.createHash('md5').update(small).digest('hex'));
    await h.store.completeUpload(uploadId, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    expect((await collect((await h.store.get('b', 'assembled')).body)).equals(Buffer.concat([first, small]))).toBe(
      true,
    );
  });

  it('keeps reading inline objects with 2 of 6 backends down, and meta rebuild brings their bytes back', async () => {
    const objects = Array.from({ length: 20 }, (_, i) => content(100 + i * 500, 100 + i));
    for (const [i, data] of objects.entries()) await h.store.put('b', `many-${i}`, pieces(data));
    const fresh = new SqliteMetaStore(path.join(h.dir, 'inline-rebuilt.db'));
    try {
      await h.store.replica.rebuild(fresh);
      const rebuilt = new ObjectStore({
        meta: fresh,
        backends: h.backends,
        pipeline: h.pipeline,
        masterKey: h.masterKey,
      });
      for (const [i, data] of objects.entries())
        expect((await collect((await rebuilt.get('b', `many-${i}`)).body)).equals(data)).toBe(true);
    } finally {
      await fresh.close();
    }
    h.zdbs[0]!.kill();
    h.zdbs[3]!.kill();
    for (const [i, data] of objects.entries())
      expect((await collect((await h.store.get('b', `many-${i}`)).body)).equals(data)).toBe(true);
  });
});

describe('inline objects are not used where the metadata copies do not outnumber the parity', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startStore(6, { metaCopies: 2 });
    await h.store.createBucket('b');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('erasure-codes even a tiny object when only 2 copies of its manifest exist (m = 2)', async () => {
    const data = content(10, 1);
    const put = await h.store.put('b', 'tiny', pieces(data));
    expect(put.manifest.inline).toBeUndefined();
    expect(put.manifest.chunks).toHaveLength(1);
    expect((await collect((await h.store.get('b', 'tiny')).body)).equals(data)).toBe(true);
  });
});
