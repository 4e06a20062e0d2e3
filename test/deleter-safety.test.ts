import { afterEach, describe, expect, it } from 'vitest';
import { Deleter } from '../src/store/deleter.js';
import { content, startStore, type Harness } from './helpers/store-harness.js';

const CHUNK = 64 * 1024;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Shards on all backends (the metadata copies aside). */
async function shardCount(store: Harness): Promise<number> {
  let n = 0;
  for (const b of store.backends.list())
    for await (const e of store.backends.client(b.id).scanAll()) if (!e.key.toString().startsWith('meta:')) n++;
  return n;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

describe('the deleter and the shards of writes recovered as interrupted', () => {
  it('keeps the shards of a write that committed after another process recovered it', async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    const data = content(4 * CHUNK + 1000, 11);
    let release!: () => void;
    const halfway = new Promise<void>((r) => (release = r));
    let stored!: () => void;
    const firstHalfStored = new Promise<void>((r) => (stored = r));
    // A PUT in flight: half its chunks are stored (and logged as pending writes) when a second
    // process on the same database runs its start-up recovery, as a second `qstor start` did.
    const put = h.store.put(
      'b',
      'in-flight',
      (async function* () {
        yield data.subarray(0, 2 * CHUNK);
        stored();
        await halfway;
        yield data.subarray(2 * CHUNK);
      })(),
    );
    await firstHalfStored;
    while ((await shardCount(h)) < 12) await new Promise((r) => setTimeout(r, 50)); // 2 chunks of 4+2 stored
    expect(await h.meta.recoverPendingWrites()).toBeGreaterThan(0);
    release();
    await put; // answered 200 to the client
    const manifest = (await h.meta.getObject('b', 'in-flight'))!;
    expect(manifest.chunks).toHaveLength(5);

    await new Deleter(h.meta, h.backends, { batch: 256, leaseMs: 0 }).drain();
    for (const chunk of manifest.chunks) {
      for (const shard of chunk.shards) expect(await h.backends.client(shard.backend).check(shard.key)).toBe(true);
    }
    expect((await collect((await h.store.get('b', 'in-flight')).body)).equals(data)).toBe(true);
    expect(await h.meta.takeDeletes(1000, 0)).toEqual([]); // their entries are gone, not left to retry
  });

  it('still deletes the shards of a write that did fail', async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    const failing = h.store.put(
      'b',
      'failed',
      (async function* () {
        yield content(2 * CHUNK, 12);
        throw new Error('client went away');
      })(),
    );
    await expect(failing).rejects.toThrow('client went away');
    const removed = await new Deleter(h.meta, h.backends, { batch: 256, leaseMs: 0 }).drain();
    expect(removed).toBe(12); // 2 chunks of 4+2 shards
    expect(await shardCount(h)).toBe(0);
  });
});
