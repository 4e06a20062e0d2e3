import type { BackendPool } from '../store/backend-pool.js';
import type { ChunkRef } from '../meta/manifest.js';

export type ShardHealth = 'ok' | 'missing' | 'corrupt' | 'lost' | 'unknown';

/**
 * The state of each shard of a chunk, without moving shard bytes: zdb CHECK verifies the
 * payload against the CRC zdb keeps, EXISTS is implied (CHECK is nil for a missing key).
 * A backend down for longer than `graceMs` has lost its shards; one down for less, or not
 * answering now, is 'unknown' (not rebuilt yet: it may come back). A shard a degraded write
 * recorded missing is 'lost' from the start: no backend holds it.
 */
export async function shardHealth(
  backends: BackendPool,
  chunk: ChunkRef,
  graceMs: number,
  now = Date.now(),
): Promise<ShardHealth[]> {
  return Promise.all(
    chunk.shards.map(async (s): Promise<ShardHealth> => {
      if (s.missing || !backends.get(s.backend)) return 'lost';
      const down = backends.downSince(s.backend);
      if (down !== null) return now - down >= graceMs ? 'lost' : 'unknown';
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
