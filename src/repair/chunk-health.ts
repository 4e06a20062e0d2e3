import { spareBackend } from '../placement/placement.js';
import type { BackendPool } from '../store/backend-pool.js';
import type { ChunkRef } from '../meta/manifest.js';

/** 'unchecked': on a live backend, not checked because the repair reads it (and the read checks it). */
export type ShardHealth = 'ok' | 'missing' | 'corrupt' | 'lost' | 'unknown' | 'unchecked';

/**
 * The state of each shard of a chunk, without moving shard bytes: zdb CHECK verifies the
 * payload against the CRC zdb keeps, EXISTS is implied (CHECK is nil for a missing key).
 * A backend down for longer than `graceMs` has lost its shards; one down for less, or not
 * answering now, is 'unknown' (not rebuilt yet: it may come back). A shard a degraded write
 * recorded missing is 'lost' from the start: no backend holds it.
 *
 * `forRepair`: when a lost shard has somewhere to go, the repair will read k shards, and a read
 * checks the shard's CRC as CHECK would: the first k shards on live backends are left
 * 'unchecked' (the repair reads those first) and only the others are CHECKed. Otherwise every
 * live shard was checked by zdb and then read again: 9 shards' bytes read per shard rebuilt at
 * 4+2, 5 now.
 */
export async function shardHealth(
  backends: BackendPool,
  chunk: ChunkRef,
  graceMs: number,
  { now = Date.now(), forRepair = false }: { now?: number; forRepair?: boolean } = {},
): Promise<ShardHealth[]> {
  const reach = chunk.shards.map((s): ShardHealth | 'live' => {
    if (s.missing || !backends.get(s.backend)) return 'lost';
    const down = backends.downSince(s.backend);
    if (down !== null) return now - down >= graceMs ? 'lost' : 'unknown';
    return 'live';
  });
  let unchecked = 0;
  if (forRepair && reach.includes('lost')) {
    const holding = new Set(chunk.shards.filter((_, i) => reach[i] !== 'lost').map((s) => s.backend));
    if (spareBackend(backends.list(), holding)) unchecked = chunk.dataShards;
  }
  return Promise.all(
    chunk.shards.map(async (s, i): Promise<ShardHealth> => {
      const r = reach[i]!;
      if (r !== 'live') return r;
      if (unchecked > 0) {
        unchecked--;
        return 'unchecked';
      }
      try {
        const ok = await backends.run(s.backend, (c) => c.check(s.key));
        if (ok === null) return 'missing';
        return ok ? 'ok' : 'corrupt';
      } catch {
        return 'unknown';
      }
    }),
  );
}
