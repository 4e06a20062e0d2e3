// Multipart parts written degraded are completed too: 4+2 over six real zdb, one killed while
// the parts are uploaded, then back. The repair queue names chunks only and the completion
// worker finds them in the manifests, where a part's chunks are not until its upload completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetaStore } from '../src/meta/meta-store.js';
import { Completer, type CompletionOptions } from '../src/repair/completion.js';
import { collect, content, startStore, type Harness } from './helpers/store-harness.js';

const MiB = 1024 * 1024;
const BUCKET = 'parts';
const OPTIONS: CompletionOptions = { batch: 10_000, leaseMs: 1, graceMs: 0, chunksPerSecond: 0 };

let h: Harness;

beforeAll(async () => {
  h = await startStore(6, { chunkSize: MiB });
  await h.store.createBucket(BUCKET);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

async function refreshUntil(id: string, state: 'up' | 'down'): Promise<void> {
  for (let i = 0; i < 50 && h.backends.get(id)!.state !== state; i++) {
    await h.backends.refresh();
    if (h.backends.get(id)!.state !== state) await new Promise((r) => setTimeout(r, 200));
  }
  expect(h.backends.get(id)!.state).toBe(state);
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** Parts 1 and 2 of a new upload of `key`, written while b5 is dead. */
async function uploadDegraded(
  key: string,
  seed: number,
): Promise<{ uploadId: string; parts: Buffer[]; etags: string[] }> {
  const uploadId = await h.store.createUpload(BUCKET, key, { metadata: {} });
  const parts = [content(5 * MiB, seed), content(MiB + 1000, seed + 1)];
  const etags = [];
  for (const [i, bytes] of parts.entries()) etags.push((await h.store.uploadPart(uploadId, i + 1, once(bytes))).etag);
  return { uploadId, parts, etags };
}

/** The object's chunks short of a shard (recorded missing). */
async function shortChunks(key: string): Promise<number> {
  const manifest = (await h.meta.getObject(BUCKET, key))!;
  expect(manifest.chunks.length).toBeGreaterThan(0);
  return manifest.chunks.filter((c) => c.shards.length !== 6 || c.shards.some((s) => s.missing)).length;
}

describe('multipart parts written degraded (4+2 over six zdb, one killed)', () => {
  it('chunks of an open upload stay queued, and are completed once it completes', async () => {
    h.zdbs[5]!.kill('SIGKILL');
    await refreshUntil('b5', 'down');
    const { uploadId, parts, etags } = await uploadDegraded('open', 1);
    const queued = await h.meta.countRepairs();
    expect(queued).toBe(7); // 5 + 2 chunks of 1 MiB, each short of one shard

    // b5 still down, then back: the upload still open, its chunks are in no object yet.
    const down = await new Completer(h, OPTIONS).pass();
    expect(down).toMatchObject({ taken: 7, inUpload: 7, notFound: 0, failed: 0 });
    h.zdbs[5] = await h.zdbs[5]!.restart();
    await refreshUntil('b5', 'up');
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms lease
    const back = await new Completer(h, OPTIONS).pass();
    expect(back).toMatchObject({ taken: 7, inUpload: 7, notFound: 0 });
    expect(await h.meta.countRepairs()).toBe(7);

    await h.store.completeUpload(
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    expect(await shortChunks('open')).toBe(7);
    await new Promise((r) => setTimeout(r, 5));
    const done = await new Completer(h, OPTIONS).pass();
    expect(done).toMatchObject({ completed: 7, failed: 0 });
    expect(await shortChunks('open')).toBe(0);
    expect(await h.meta.countRepairs()).toBe(0);
    expect((await collect((await h.store.get(BUCKET, 'open')).body)).equals(Buffer.concat(parts))).toBe(true);
  }, 180_000);

  it('an upload completed while a pass sweeps the manifests: its chunks are not dropped from the queue', async () => {
    h.zdbs[5]!.kill('SIGKILL');
    await refreshUntil('b5', 'down');
    const { uploadId, parts, etags } = await uploadDegraded('racing', 10);
    h.zdbs[5] = await h.zdbs[5]!.restart();
    await refreshUntil('b5', 'up');

    // The pass has taken (leased) the parts' chunks and listed the keys when the upload completes:
    // the key was not there yet, and the completion's enqueue is a no-op on chunks already queued.
    // The real metadata store; only the moment of the completion is forced.
    let completing: Promise<unknown> | null = null;
    const meta = new Proxy(h.meta, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (name !== 'listObjects' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const page: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          completing ??= h.store.completeUpload(
            uploadId,
            etags.map((etag, i) => ({ partNumber: i + 1, etag })),
          );
          await completing;
          return page;
        };
      },
    }) as MetaStore;
    const racing = await new Completer({ ...h, meta }, OPTIONS).pass();
    expect(completing).not.toBeNull();
    expect(racing).toMatchObject({ failed: 0, notFound: 0 });
    expect(await shortChunks('racing')).toBe(7);

    await new Promise((r) => setTimeout(r, 5));
    const after = await new Completer(h, OPTIONS).pass();
    expect(after).toMatchObject({ completed: 7, failed: 0 });
    expect(await shortChunks('racing')).toBe(0);
    expect((await collect((await h.store.get(BUCKET, 'racing')).body)).equals(Buffer.concat(parts))).toBe(true);
  }, 180_000);
});
