import crypto from 'node:crypto';
import type { MetaStore, ShardLocation } from '../meta/meta-store.js';
import type { PipelinePool } from '../pipeline/pool.js';
import { spareBackend } from '../placement/placement.js';
import type { BackendPool } from '../store/backend-pool.js';
import { StoreError } from '../store/errors.js';
import type { ChunkRef, ShardRef } from '../meta/manifest.js';
import { describeFailures, readShard, ShardReadError } from '../store/shard-read.js';
import type { ShardHealth } from './chunk-health.js';

export interface RepairDeps {
  meta: MetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
}

export interface ChunkRepair {
  /** The chunk's shard list after repair (the same backends unless some were lost). */
  shards: ShardRef[];
  rebuilt: number;
  /** Shards still not in place: unreadable now, or lost with no distinct backend up to take them. */
  remaining: number;
  /** Pending-write id of shards written to new backends (commit once manifests point at them). */
  writeId: string | null;
  /** Copies on lost backends, to delete once no manifest points at them (if they come back). */
  dropped: ShardLocation[];
}

/**
 * Rebuilds the bad shards of a chunk from k good ones (no key needed: shards are
 * ciphertext). A shard missing or corrupt on a live backend is written again in place, same
 * key; a shard of a lost backend, or one a degraded write recorded missing, goes to an up
 * backend holding no shard of this chunk, so the manifest changes (the lost backend's copy is
 * returned to be deleted, should it come back). With no such backend up, it stays as it is:
 * never two shards of a chunk on one backend.
 */
export async function repairChunk(d: RepairDeps, chunk: ChunkRef, health: ShardHealth[]): Promise<ChunkRepair | null> {
  const bad = health.flatMap((h, i) => (h === 'missing' || h === 'corrupt' || h === 'lost' ? [i] : []));
  if (bad.length === 0) return null;
  // Where each lost shard goes, before any work: one with nowhere to go is not rebuilt now.
  const keep = new Set(chunk.shards.filter((_, i) => health[i] !== 'lost').map((s) => s.backend));
  const targets = new Map<number, string>();
  for (const i of bad) {
    if (health[i] !== 'lost') continue;
    const target = spareBackend(d.backends.list(), keep)?.id;
    if (target === undefined) continue;
    keep.add(target);
    targets.set(i, target);
  }
  let unknown = health.filter((h) => h === 'unknown').length;
  if (bad.every((i) => health[i] === 'lost' && !targets.has(i)))
    return { shards: chunk.shards, rebuilt: 0, remaining: bad.length + unknown, writeId: null, dropped: [] };
  const k = chunk.dataShards;
  const total = k + chunk.parityShards;
  // Gather k good shards, data shards first: as many read at once as are still needed (the
  // unchecked ones come first: shardHealth leaves the first k live shards unchecked).
  const slots: (Buffer | null)[] = new Array<Buffer | null>(total).fill(null);
  const candidates = health.flatMap((h, i) => (h === 'ok' || h === 'unchecked' ? [i] : []));
  const failures: ShardReadError[] = [];
  let good = 0;
  while (good < k && candidates.length > 0) {
    await Promise.all(
      candidates.splice(0, k - good).map(async (i) => {
        try {
          slots[i] = await readShard(d.backends, chunk, i);
          good++;
        } catch (e) {
          if (!(e instanceof ShardReadError)) throw e;
          failures.push(e);
          // A bad shard is rebuilt too; one out of reach is left as it is (and, not checked
          // before, counts as CHECK's 'unknown' would). Either way the next candidate is tried.
          if (e.shardIsBad) bad.push(i);
          else if (health[i] === 'unchecked') unknown++;
        }
      }),
    );
  }
  if (good < k) {
    const why = `chunk ${chunk.id}: only ${good} of the ${k} shards needed are readable (${describeFailures(failures)})`;
    throw new StoreError('ServiceUnavailable', why, { cause: new AggregateError(failures, why) });
  }
  const missing = [...new Set(bad)].filter((i) => health[i] !== 'lost' || targets.has(i)).sort((a, b) => a - b);
  const remaining = new Set(bad).size - missing.length + unknown;
  const rebuilt = await d.pipeline.rebuild({
    shards: slots,
    crcs: chunk.shards.map((s) => s.crc),
    k,
    m: chunk.parityShards,
    shardSize: chunk.shardSize,
    missing,
  });
  const shards = chunk.shards.map((s) => ({ ...s }));
  let writeId: string | null = null;
  const dropped: ShardLocation[] = [];
  for (const [j, i] of missing.entries()) {
    const target = targets.get(i);
    if (target !== undefined) {
      const ref = chunk.shards[i]!;
      writeId ??= `repair-${crypto.randomBytes(8).toString('hex')}`;
      await d.meta.beginWrite(writeId, [{ backend: target, key: ref.key }]);
      await d.meta.durable();
      if (!ref.missing) dropped.push({ backend: ref.backend, key: ref.key });
      shards[i] = { backend: target, key: ref.key, crc: ref.crc };
    }
    const ref = shards[i]!;
    await d.backends.run(ref.backend, (c) => c.set(ref.key, rebuilt[j]!));
  }
  return { shards, rebuilt: missing.length, remaining, writeId, dropped };
}
