// Degraded writes over memory backends: the write quorum, shards recorded missing, a frozen
// backend given up after the shard timeout, and the repair queue completing the chunks later.
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Completer } from '../../src/repair/completion.js';
import { Scrubber } from '../../src/repair/scrubber.js';
import { StoreError } from '../../src/store/errors.js';
import type { ChunkRef, ObjectManifest } from '../../src/meta/manifest.js';
import { collect, content, pieces } from '../helpers/content.js';
import { memoryStore, type MemoryStore, type MemoryStoreOptions } from '../helpers/memory-store.js';

const KiB = 1024;

let s: MemoryStore | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function start(o: MemoryStoreOptions = {}): Promise<MemoryStore> {
  s = await memoryStore({
    ...o,
    pool: { downAfterFailures: 1, ...o.pool },
    store: { chunkSize: 64 * KiB, ...o.store },
  });
  await s.store.createBucket('b');
  return s;
}

/** Makes backend `id` refuse every call and lets the pool see it down. */
async function kill(id: string): Promise<void> {
  s!.memory.get(id).configure({ faults: [{ kind: 'error' }] });
  await s!.backends.refresh();
  expect(s!.backends.get(id)!.state).toBe('down');
}

async function revive(id: string): Promise<void> {
  s!.memory.get(id).configure({ faults: [] });
  await s!.backends.refresh();
  expect(s!.backends.get(id)!.state).toBe('up');
}

async function put(key: string, data: Buffer): Promise<ObjectManifest> {
  return (await s!.store.put('b', key, pieces(data))).manifest;
}

async function get(key: string): Promise<Buffer> {
  return collect((await s!.store.get('b', key)).body);
}

function expectDistinctBackends(chunk: ChunkRef): void {
  const placed = chunk.shards.filter((x) => !x.missing).map((x) => x.backend);
  expect(new Set(placed).size).toBe(placed.length);
}

const completer = (): Completer => new Completer(s!, { batch: 100, leaseMs: 0, graceMs: 60_000, chunksPerSecond: 0 });

describe('degraded writes: the write quorum', () => {
  it('with one of six backends down, a 4+2 PUT stores 5 shards, records the 6th missing and reads back', async () => {
    const { meta } = await start();
    await kill('b3');
    const data = content(300 * KiB, 1); // 5 chunks
    const manifest = await put('one-down', data);
    for (const chunk of manifest.chunks) {
      expect(chunk.shards).toHaveLength(6);
      expect(chunk.shards.filter((x) => x.missing)).toHaveLength(1);
      expect(chunk.shards.some((x) => x.backend === 'b3')).toBe(false);
      expectDistinctBackends(chunk);
    }
    expect((await get('one-down')).equals(data)).toBe(true);
    // Queued for completion at commit, oldest first.
    const queued = (await meta.takeRepairs(100, 0)).map((r) => r.chunkId);
    expect(queued).toEqual(manifest.chunks.map((c) => c.id));
  });

  it('below the quorum (two of six down, 4 < 5): SlowDown, and nothing of the object visible', async () => {
    const { store, memory } = await start();
    await kill('b1');
    await kill('b4');
    const sets = (): number[] => ['b0', 'b2', 'b3', 'b5'].map((id) => memory.get(id).calls.set);
    const before = sets();
    const error = await put('refused', content(200 * KiB, 2)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('SlowDown');
    await expect(store.head('b', 'refused')).rejects.toThrow(/does not exist/);
    expect(store.writes.refused).toBe(1);
    // Nothing was sent: the quorum is checked before a shard goes out.
    expect(sets()).toEqual(before);
  });

  it('with a quorum of k, two down still write; a quorum of k+m refuses with one down; out of range is refused', async () => {
    await start({ store: { writeQuorum: 4 } });
    await kill('b1');
    await kill('b4');
    const data = content(100 * KiB, 3);
    const manifest = await put('k', data);
    expect(manifest.chunks.every((c) => c.shards.filter((x) => x.missing).length === 2)).toBe(true);
    expect((await get('k')).equals(data)).toBe(true);
    await s!.close();

    await start({ store: { writeQuorum: 6 } });
    await kill('b0');
    await expect(put('full', data)).rejects.toMatchObject({ code: 'SlowDown' });
    await s!.close();
    s = undefined;

    await expect(start({ store: { writeQuorum: 3 } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(start({ store: { writeQuorum: 7 } })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('a bucket may set its own quorum beside its k+m', async () => {
    const { store } = await start();
    await store.createBucket('strict', { erasure: { dataShards: 4, parityShards: 2, writeQuorum: 6 } });
    await kill('b2');
    await expect(store.put('strict', 'x', pieces(content(100 * KiB, 4)))).rejects.toMatchObject({ code: 'SlowDown' });
    await expect(put('x', content(100 * KiB, 4))).resolves.toBeTruthy();
  });
});

describe('degraded writes: a frozen backend', () => {
  it('a backend that never answers holds a PUT for the shard timeout, not the request timeout, and is marked down', async () => {
    const { memory, backends } = await start({ pool: { requestTimeoutMs: 30_000 }, store: { shardTimeoutMs: 200 } });
    memory.get('b5').configure({ faults: [{ kind: 'timeout' }] });
    const data = content(300 * KiB, 5);
    const t0 = performance.now();
    const manifest = await put('frozen', data);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(backends.get('b5')!.state).toBe('down');
    for (const chunk of manifest.chunks) {
      expect(chunk.shards.some((x) => x.backend === 'b5')).toBe(false);
      expectDistinctBackends(chunk);
    }
    expect((await get('frozen')).equals(data)).toBe(true);
  });

  it('once the quorum is stored, a straggler is waited for stragglerMs only, then recorded missing', async () => {
    const { memory } = await start({
      pool: { requestTimeoutMs: 30_000, downAfterFailures: 100 },
      store: { shardTimeoutMs: 30_000, stragglerMs: 100 },
    });
    memory.get('b2').configure({ latency: { minMs: 20_000, ops: ['set'] } }); // alive, far too slow
    const data = content(64 * KiB - 1, 10); // one chunk
    const t0 = performance.now();
    const manifest = await put('straggler', data);
    expect(performance.now() - t0).toBeLessThan(1500);
    const chunk = manifest.chunks[0]!;
    expect(chunk.shards.filter((x) => x.missing)).toHaveLength(1);
    expect(chunk.shards.some((x) => x.backend === 'b2')).toBe(false);
    expect((await get('straggler')).equals(data)).toBe(true);
  });

  it('a GET does not ask a backend marked down first: no hedge delay per chunk', async () => {
    const { memory, backends } = await start({ pool: { requestTimeoutMs: 400 }, store: { hedgeMs: 5000 } });
    const data = content(256 * KiB, 9); // 4 chunks
    const manifest = await put('old', data);
    const holder = manifest.chunks[0]!.shards[0]!.backend; // data shard 0 of the first chunk
    memory.get(holder).configure({ faults: [{ kind: 'timeout' }] });
    await backends.refresh();
    expect(backends.get(holder)!.state).toBe('down');
    const gets = memory.get(holder).calls.get;
    const t0 = performance.now();
    expect((await get('old')).equals(data)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(350); // below even one request timeout
    expect(memory.get(holder).calls.get).toBe(gets);
  });

  it('the metadata copies do not wait for a frozen backend either', async () => {
    const { memory } = await start({ pool: { requestTimeoutMs: 30_000 }, store: { shardTimeoutMs: 200 } });
    for (const id of ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'])
      memory.get(id).configure({ faults: [{ kind: 'timeout', ops: ['set'], every: 2 }] });
    const t0 = performance.now();
    await put('small', content(2 * KiB, 6)); // inline: only metadata copies are written
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('degraded writes: completion in the background', () => {
  it('writes the missing shards once a distinct backend is up again, updates the manifest; a second pass finds nothing', async () => {
    const { meta, store } = await start();
    await kill('b0');
    const data = content(200 * KiB, 7);
    const before = await put('later', data);
    const copy = (await store.copy('b', 'later', 'b', 'later-copy'))!;

    // Nowhere to put them yet: they wait in the queue.
    const waiting = await completer().pass();
    expect(waiting).toMatchObject({ taken: before.chunks.length, completed: 0, waiting: before.chunks.length });

    await revive('b0');
    const report = await completer().pass();
    expect(report).toMatchObject({
      taken: before.chunks.length,
      completed: before.chunks.length,
      shardsRebuilt: before.chunks.length,
      failed: 0,
    });
    for (const key of ['later', 'later-copy']) {
      const after = (await meta.getObject('b', key))!;
      for (const chunk of after.chunks) {
        expect(chunk.shards.filter((x) => x.missing)).toHaveLength(0);
        expect(chunk.shards.some((x) => x.backend === 'b0')).toBe(true);
        expectDistinctBackends(chunk);
      }
    }
    expect(copy.chunks.map((c) => c.id)).toEqual(before.chunks.map((c) => c.id));
    expect(await completer().pass()).toMatchObject({ taken: 0 });
    const scrub = await new Scrubber(s!, { graceMs: 60_000, chunksPerSecond: 0, repair: false }).pass();
    expect(scrub).toMatchObject({ chunks: before.chunks.length, healthy: before.chunks.length, belowRedundancy: 0 });

    // The completed shards are what the reader uses: with two other backends down it still reads.
    await kill('b1');
    await kill('b2');
    expect((await get('later')).equals(data)).toBe(true);
  });

  it('a metadata copy missed while backends were down is written when they return', async () => {
    const { memory, store } = await start();
    for (const id of ['b0', 'b1', 'b2', 'b3']) await kill(id);
    await put('tiny', content(1000, 11)); // inline: its bytes live in the metadata copies
    const recordKey = 'meta:' + crypto.createHash('sha256').update('o\0b\0tiny').digest('hex');
    const holders = (): string[] =>
      ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'].filter((id) => memory.get(id).keys().includes(recordKey));
    expect(holders()).toHaveLength(2);
    expect(store.replica.recordsShort).toBeGreaterThanOrEqual(1);
    expect(await store.replica.catchUp()).toBe(0); // still too few up
    for (const id of ['b0', 'b1', 'b2', 'b3']) await revive(id);
    expect(await store.replica.catchUp()).toBeGreaterThanOrEqual(1);
    expect(holders().length).toBeGreaterThanOrEqual(3);
    expect(store.replica.recordsShort).toBe(0);
  });

  it('admin status counts chunks written degraded as below full redundancy', async () => {
    await start();
    await kill('b4');
    const manifest = await put('short', content(150 * KiB, 8));
    const status = await new Scrubber(s!, { graceMs: 0, chunksPerSecond: 0, repair: false }).pass();
    expect(status).toMatchObject({ chunks: manifest.chunks.length, belowRedundancy: manifest.chunks.length });
  });
});
