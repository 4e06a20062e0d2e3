import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scrubber } from '../src/repair/scrubber.js';
import { Deleter } from '../src/store/deleter.js';
import { collect, content, pieces, startStore, type Harness } from './helpers/store-harness.js';

const CHUNK = 128 * 1024;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Alters a shard's bytes on its zdb's disk (its CRC no longer matches). */
function corruptOnDisk(harness: Harness, shard: { backend: string; key: string }): void {
  const zdb = harness.zdbs[Number(shard.backend.slice(1))]!;
  const file = path.join(zdb.dataDir, 'default', 'd0');
  const at = fs.readFileSync(file).indexOf(Buffer.from(shard.key));
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from('garbage!'), 0, 8, at + shard.key.length + 64);
  fs.closeSync(fd);
}

function scrubber(harness: Harness, graceMs = 0): Scrubber {
  return new Scrubber(
    { meta: harness.meta, backends: harness.backends, pipeline: harness.pipeline },
    { graceMs, chunksPerSecond: 0 },
  );
}

describe('repair', () => {
  it('rebuilds shards corrupted on disk in place, and a second pass finds everything healthy', async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    const data = content(3 * CHUNK, 1);
    const { manifest } = await h.store.put('b', 'x', pieces(data));
    const victim = manifest.chunks[1]!.shards[2]!;
    corruptOnDisk(h, victim);
    expect(await h.backends.client(victim.backend).check(victim.key)).toBe(false);

    const first = await scrubber(h).pass();
    expect(first).toMatchObject({
      objects: 1,
      chunks: 3,
      repaired: 1,
      shardsRebuilt: 1,
      failed: 0,
      belowRedundancy: 0,
    });
    expect(await h.backends.client(victim.backend).check(victim.key)).toBe(true);
    expect(await scrubber(h).pass()).toMatchObject({ chunks: 3, healthy: 3, repaired: 0 });
    expect((await collect((await h.store.get('b', 'x')).body)).equals(data)).toBe(true);
  });

  it('moves the shards of a lost backend elsewhere, updates every manifest sharing them, and cleans up when it returns', async () => {
    h = await startStore(8, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) {
      const data = content(2 * CHUNK + i, 10 + i);
      await h.store.put('b', `o${i}`, pieces(data));
      objects.set(`o${i}`, data);
    }
    await h.store.copy('b', 'o0', 'b', 'o0-copy');
    objects.set('o0-copy', objects.get('o0')!);
    const lost = 'b5';
    const onLost = async (key: string): Promise<number> =>
      (await h!.meta.getObject('b', key))!.chunks.filter((c) => c.shards.some((s) => s.backend === lost)).length;
    const before = (await Promise.all([...objects.keys()].map(onLost))).reduce((sum, n) => sum + n, 0);
    expect(before).toBeGreaterThan(0);

    const z = h.zdbs[5]!;
    await z.stop({ keepDirs: true });
    await h.backends.refresh(); // notices it is down
    expect(h.backends.get(lost)!.state).toBe('down');
    const report = await scrubber(h, 0).pass();
    expect(report.failed).toBe(0);
    expect(report.repaired).toBeGreaterThan(0);
    for (const key of objects.keys()) expect(await onLost(key)).toBe(0);
    // Chunks shared by the copy moved together.
    expect((await h.meta.getObject('b', 'o0-copy'))!.chunks).toEqual((await h.meta.getObject('b', 'o0'))!.chunks);
    // Full redundancy again: two more backends can go.
    h.zdbs[0]!.kill('SIGKILL');
    h.zdbs[1]!.kill('SIGKILL');
    for (const [key, data] of objects)
      expect((await collect((await h.store.get('b', key)).body)).equals(data)).toBe(true);

    // The lost backend comes back: its stale shards are deleted, nothing is duplicated.
    const back = await z.restart();
    h.zdbs[5] = back;
    let stale = 0;
    for await (const e of h.backends.client(lost).scanAll()) if (!e.key.toString().startsWith('meta:')) stale++;
    expect(stale).toBeGreaterThan(0);
    h.backends.succeeded(lost);
    await new Deleter(h.meta, h.backends).drain();
    let left = 0;
    for await (const e of h.backends.client(lost).scanAll()) if (!e.key.toString().startsWith('meta:')) left++;
    expect(left).toBe(0);
  });

  it('leaves a backend down within its grace period alone and reports the chunks below redundancy', async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    await h.store.put('b', 'x', pieces(content(2 * CHUNK, 3)));
    h.zdbs[2]!.kill('SIGKILL');
    await h.backends.refresh();
    const report = await scrubber(h, 60_000).pass();
    expect(report.repaired).toBe(0);
    expect(report.belowRedundancy).toBe(2);
  });

  it('reads rather than CHECKs the shards a repair reads anyway, and rebuilds one of them found corrupt', async () => {
    h = await startStore(7, { chunkSize: CHUNK });
    await h.store.createBucket('b');
    const data = content(CHUNK, 7);
    const { manifest } = await h.store.put('b', 'x', pieces(data));
    const chunk = manifest.chunks[0]!;
    const [lost, corrupt] = [chunk.shards[0]!, chunk.shards[1]!];
    corruptOnDisk(h, corrupt);
    await h.zdbs[Number(lost.backend.slice(1))]!.stop({ keepDirs: true });
    await h.backends.refresh();
    const checks = h.backends.list().map((b) => vi.spyOn(h!.backends.client(b.id), 'check'));
    const checked = (): number => checks.reduce((n, spy) => n + spy.mock.calls.length, 0);

    const report = await scrubber(h).pass();
    expect(report).toMatchObject({ chunks: 1, repaired: 1, shardsRebuilt: 2, failed: 0, belowRedundancy: 0 });
    // Shard 0 is lost, shards 1-4 are read for the rebuild (1 found corrupt by its read), 5 is CHECKed.
    expect(checked()).toBe(1);
    const after = (await h.meta.getObject('b', 'x'))!.chunks[0]!;
    expect(after.shards[0]!.backend).not.toBe(lost.backend);
    expect(await h.backends.client(corrupt.backend).check(corrupt.key)).toBe(true);
    // A scrub that repairs nothing still CHECKs every shard.
    const before = checked();
    expect(await scrubber(h).pass()).toMatchObject({ chunks: 1, healthy: 1, repaired: 0 });
    expect(checked() - before).toBe(6);
    expect((await collect((await h.store.get('b', 'x')).body)).equals(data)).toBe(true);
  });
});
