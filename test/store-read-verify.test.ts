// A GET joins a chunk's shards without computing their CRCs and lets the chunk's AEAD tag
// authenticate the result; only when the tag fails does it read the chunk again with every
// shard's CRC checked. These tests alter shards on the zdbs' disks where the unchecked first
// read picks them up, and check that the read still returns the right bytes (never garbage),
// names the altered shards CORRUPT for repair, and fails cleanly when too many are altered.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardRef } from '../src/meta/manifest.js';
import { collect, content, pieces, startStore, type Harness } from './helpers/store-harness.js';

const CHUNK = 256 * 1024;

describe('reads authenticated by the chunk tag, CRCs checked on failure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startStore(6, { chunkSize: CHUNK });
    await h.store.createBucket('v');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Overwrites 4 bytes in the middle of a shard's payload in its zdb's data file. */
  function alterOnDisk(shard: ShardRef): void {
    const zdb = h.zdbs[Number(shard.backend.slice(1))]!;
    const file = path.join(zdb.dataDir, 'default', 'd0');
    const at = fs.readFileSync(file).indexOf(Buffer.from(shard.key));
    expect(at).toBeGreaterThan(0);
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, at + shard.key.length + 1000);
    } finally {
      fs.closeSync(fd);
    }
  }

  async function repairsOf(chunkId: string): Promise<string[]> {
    return (await h.meta.takeRepairs(100, 1000)).filter((r) => r.chunkId === chunkId).map((r) => r.reason);
  }

  it('two data shards altered on disk: the right bytes, both named CORRUPT for repair', async () => {
    const data = content(CHUNK, 1701);
    const { manifest } = await h.store.put('v', 'two-data', pieces(data));
    const chunk = manifest.chunks[0]!;
    alterOnDisk(chunk.shards[0]!);
    alterOnDisk(chunk.shards[2]!);
    expect((await collect((await h.store.get('v', 'two-data')).body)).equals(data)).toBe(true);
    const reasons = (await repairsOf(chunk.id)).join('; ');
    expect(reasons).toMatch(/0 CORRUPT/);
    expect(reasons).toMatch(/2 CORRUPT/);
  });

  it('a data shard gone and the parity shard that replaces it altered: the right bytes', async () => {
    const data = content(CHUNK, 1702);
    const { manifest } = await h.store.put('v', 'parity', pieces(data));
    const chunk = manifest.chunks[0]!;
    const gone = chunk.shards[1]!;
    expect(await h.backends.client(gone.backend).del(gone.key)).toBe(true);
    // The first read rebuilds the lost data shard from the first parity shard, unchecked.
    alterOnDisk(chunk.shards[chunk.dataShards]!);
    expect((await collect((await h.store.get('v', 'parity')).body)).equals(data)).toBe(true);
    const reasons = (await repairsOf(chunk.id)).join('; ');
    expect(reasons).toMatch(/1 MISSING/);
    expect(reasons).toMatch(new RegExp(`${chunk.dataShards} CORRUPT`));
  });

  it('more shards altered than there is parity: an error, never altered bytes', async () => {
    const data = content(CHUNK, 1703);
    const { manifest } = await h.store.put('v', 'too-many', pieces(data));
    const chunk = manifest.chunks[0]!;
    for (const i of [0, 1, 4]) alterOnDisk(chunk.shards[i]!);
    await expect(collect((await h.store.get('v', 'too-many')).body)).rejects.toMatchObject({
      code: 'ServiceUnavailable',
    });
  });
});
