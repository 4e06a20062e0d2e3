// The object store over memory backends with injected latency, timeouts and wrong bytes: what
// real zdb processes cannot be made to do on cue. The metadata store is the real sqlite one.
import { afterEach, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/repair/scrubber.js';
import { StoreError } from '../../src/store/errors.js';
import type { ObjectManifest } from '../../src/meta/manifest.js';
import { ShardReadError } from '../../src/store/shard-read.js';
import { ZdbError } from '../../src/zdb-client/index.js';
import { collect, content, pieces } from '../helpers/content.js';
import { memoryStore, type MemoryStore, type MemoryStoreOptions } from '../helpers/memory-store.js';

const KiB = 1024;

let s: MemoryStore | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function start(o: MemoryStoreOptions): Promise<MemoryStore> {
  s = await memoryStore(o);
  await s.store.createBucket('b');
  return s;
}

async function put(key: string, data: Buffer): Promise<ObjectManifest> {
  return (await s!.store.put('b', key, pieces(data))).manifest;
}

/** GETs an object; resolves with its bytes and how long the GET took. */
async function timedGet(key: string): Promise<{ bytes: Buffer; ms: number }> {
  const t0 = performance.now();
  const { body } = await s!.store.get('b', key);
  const bytes = await collect(body);
  return { bytes, ms: performance.now() - t0 };
}

/** The store's repair queue, as reasons by chunk id. */
async function repairs(): Promise<Map<string, string>> {
  return new Map((await s!.meta.takeRepairs(100, 60_000)).map((r) => [r.chunkId, r.reason]));
}

describe('store over memory backends: hedged reads', () => {
  it('reads around a slow but live backend at about the hedge delay, byte-identical, and queues no repair', async () => {
    const { memory, store } = await start({ store: { hedgeMs: 100 } });
    const data = content(256 * KiB, 1);
    const chunk = (await put('slow', data)).chunks[0]!;
    const slow = memory.get(chunk.shards[0]!.backend); // holds data shard 0
    slow.configure({ latency: { minMs: 5000, ops: ['get'] } });

    const { bytes, ms } = await timedGet('slow');
    expect(bytes.equals(data)).toBe(true);
    expect(slow.calls.get).toBe(1); // it was asked, and not waited for
    expect(ms).toBeGreaterThanOrEqual(95); // a parity shard is asked for only at the hedge delay
    expect(ms).toBeLessThan(2000); // far below the slow backend's 5 s (margin for a loaded machine)
    expect(await store.head('b', 'slow')).toBeTruthy();
    expect(await repairs()).toEqual(new Map()); // slow is not broken
  });
});

describe('store over memory backends: wrong bytes', () => {
  it('reads past a backend that returns wrong bytes (CRC), byte-identical; queues the chunk as CORRUPT', async () => {
    const { memory, backends } = await start({});
    const data = content(300 * KiB, 2);
    const chunk = (await put('liar', data)).chunks[0]!;
    const liar = chunk.shards[1]!.backend;
    memory.get(liar).configure({ faults: [{ kind: 'corrupt', ops: ['get'] }] });

    const { bytes } = await timedGet('liar');
    expect(bytes.equals(data)).toBe(true);
    // Read twice: the first read leaves the bytes to the chunk's tag, which fails; the second
    // checks every shard's CRC, names the liar and reads parity instead.
    expect(memory.get(liar).injected.corrupt).toBe(2);
    expect((await repairs()).get(chunk.id)).toBe('shards 1 CORRUPT');
    expect(backends.get(liar)!.state).toBe('up'); // an answer, however wrong, is not an outage
  });

  it('rebuilds a shard rotted at rest: the read falls back to parity, the scrubber finds it by CHECK and writes it again', async () => {
    const { memory, meta, backends, pipeline } = await start({});
    const data = content(200 * KiB, 3);
    const chunk = (await put('rot', data)).chunks[0]!;
    const victim = chunk.shards[2]!;
    const original = await memory.get(victim.backend).get(victim.key);
    memory.get(victim.backend).rot(victim.key);
    expect(await memory.get(victim.backend).check(victim.key)).toBe(false);

    expect((await timedGet('rot')).bytes.equals(data)).toBe(true);
    expect((await repairs()).get(chunk.id)).toBe('shards 2 CORRUPT');

    const report = await new Scrubber({ meta, backends, pipeline }, { graceMs: 60_000, chunksPerSecond: 0 }).pass();
    expect(report).toMatchObject({ chunks: 1, repaired: 1, shardsRebuilt: 1, failed: 0 });
    expect(await memory.get(victim.backend).check(victim.key)).toBe(true);
    expect((await memory.get(victim.backend).get(victim.key))!.equals(original!)).toBe(true);
  });
});

describe('store over memory backends: a backend that times out on every third call', () => {
  it('PUTs and GETs still succeed, each within the request timeout it may cost', async () => {
    const requestTimeoutMs = 250;
    // 8 backends for 4+2: a shard whose SET timed out is placed again on a spare.
    const { memory } = await start({
      count: 8,
      pool: { requestTimeoutMs },
      store: { hedgeMs: 50, chunkSize: 64 * KiB },
    });
    const flaky = memory.get('b5');
    flaky.configure({ faults: [{ kind: 'timeout', every: 3 }] });

    const objects = Array.from({ length: 6 }, (_, i) => content(150 * KiB + i, 10 + i)); // 3 chunks each
    for (const [i, data] of objects.entries()) {
      const t0 = performance.now();
      await put(`o${i}`, data);
      // A chunk's writes run in parallel: a timed-out SET costs one timeout, its retry lands on a spare.
      expect(performance.now() - t0).toBeLessThan(2 * requestTimeoutMs + 1500);
    }
    for (const [i, data] of objects.entries()) {
      const { bytes, ms } = await timedGet(`o${i}`);
      expect(bytes.equals(data)).toBe(true);
      expect(ms).toBeLessThan(requestTimeoutMs + 1500);
    }
    expect(flaky.injected.timeout).toBeGreaterThanOrEqual(3);
  });
});

describe('store over memory backends: why a read failed', () => {
  it('keeps each shard failure with its cause: a timeout is told from a bad CRC, for the caller and the repair queue', async () => {
    const requestTimeoutMs = 200;
    // Hedging later than the timeout: the read waits for the timeouts, so it sees them.
    const { memory } = await start({ pool: { requestTimeoutMs }, store: { hedgeMs: 5000 } });
    const data = content(100 * KiB, 4);
    const chunk = (await put('lost', data)).chunks[0]!;
    const on = (i: number) => memory.get(chunk.shards[i]!.backend);
    on(0).configure({ faults: [{ kind: 'timeout', ops: ['get'] }] });
    on(1).configure({ faults: [{ kind: 'timeout', ops: ['get'] }] });
    on(2).configure({ faults: [{ kind: 'corrupt', ops: ['get'] }] });

    const error = await timedGet('lost').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('ServiceUnavailable');
    const cause = (error as StoreError).cause;
    expect(cause).toBeInstanceOf(AggregateError);
    const failures = (cause as AggregateError).errors as ShardReadError[];
    expect(failures.every((f) => f instanceof ShardReadError)).toBe(true);
    expect(failures.map((f) => [f.shard, f.code]).sort()).toEqual([
      [0, 'TIMEOUT'],
      [1, 'TIMEOUT'],
      [2, 'CORRUPT'],
    ]);
    for (const f of failures.filter((f) => f.code === 'TIMEOUT')) {
      expect(f.cause).toBeInstanceOf(ZdbError);
      expect((f.cause as ZdbError).code).toBe('TIMEOUT');
      expect(f.shardIsBad).toBe(false);
    }
    expect(failures.find((f) => f.code === 'CORRUPT')!.shardIsBad).toBe(true);

    // One shard times out, the rest answer: the read succeeds and the queue says why.
    on(1).configure({ faults: [] });
    on(2).configure({ faults: [] });
    expect((await timedGet('lost')).bytes.equals(data)).toBe(true);
    expect((await repairs()).get(chunk.id)).toBe('shards 0 TIMEOUT');
  });
});
