import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, content, pieces, startStore, type Harness } from './helpers/store-harness.js';

/**
 * Operations that read metadata and then write what depends on it, run while other operations
 * interleave (the MetaStore is asynchronous: anything runs between two of its calls).
 */
describe('object store: reads and writes that must be one metadata transaction', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startStore(6, { chunkSize: 256 * 1024 });
    await h.store.createBucket('b', { owner: 'AK1' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps every one of concurrent bucket settings changes', async () => {
    const cors = [{ allowedOrigins: ['*'], allowedMethods: ['GET'] }];
    await Promise.all([
      h.store.updateBucketSettings('b', (settings) => ({ ...settings, versioning: 'Suspended' })),
      h.store.updateBucketSettings('b', (settings) => ({ ...settings, cors })),
      h.store.updateBucketSettings('b', (settings) => ({ ...settings, erasure: { dataShards: 4, parityShards: 2 } })),
    ]);
    expect((await h.meta.getBucket('b'))?.settings).toEqual({
      owner: 'AK1',
      versioning: 'Suspended',
      cors,
      erasure: { dataShards: 4, parityShards: 2 },
    });
  });

  it('copies only the source version named, and reports a source replaced since', async () => {
    const first = content(300_000, 1);
    const { manifest } = await h.store.put('b', 'src', pieces(first));
    expect(await h.store.copy('b', 'src', 'b', 'dst', undefined, manifest.id)).not.toBeNull();
    await h.store.put('b', 'src', pieces(content(300_000, 2)));
    expect(await h.store.copy('b', 'src', 'b', 'dst2', undefined, manifest.id)).toBeNull();
    expect(await h.meta.getObject('b', 'dst2')).toBeNull();
    expect((await collect((await h.store.get('b', 'dst')).body)).equals(first)).toBe(true);
  });

  it('stores an UploadPartCopy part only from the source version named', async () => {
    const { manifest: old } = await h.store.put('b', 'part-src', pieces(content(300_000, 3)));
    await h.store.put('b', 'part-src', pieces(content(300_000, 4)));
    const uploadId = await h.store.createUpload('b', 'joined', { metadata: {} });
    expect(await h.store.uploadPartCopy(uploadId, 1, 'b', 'part-src', undefined, old.id)).toBeNull();
    expect((await h.meta.listParts(uploadId)).parts).toEqual([]);
    const current = (await h.meta.getObject('b', 'part-src'))!;
    expect(await h.store.uploadPartCopy(uploadId, 1, 'b', 'part-src', undefined, current.id)).toEqual({
      etag: current.etag,
      size: 300_000,
    });
  });
});
