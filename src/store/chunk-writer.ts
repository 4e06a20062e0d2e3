import crypto from 'node:crypto';
import type { MetaStore } from '../meta/meta-store.js';
import type { PipelinePool } from '../pipeline/pool.js';
import type { Backend } from '../placement/backend.js';
import { placeAtLeast, PlacementError, spareBackend } from '../placement/placement.js';
import type { BackendPool } from './backend-pool.js';
import { StoreError } from './errors.js';
import { missingShard, type ChunkRef, type ShardRef } from '../meta/manifest.js';
import { Stragglers } from './stragglers.js';

export interface ChunkWriteContext {
  meta: MetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
  /** Pending-write id: every shard is logged under it before it is written. */
  writeId: string;
  dataKey: Buffer;
  wrappedKey: string;
  aadObject: string;
  k: number;
  m: number;
  /** Shards that must be stored for the chunk to be written (k <= quorum <= k + m). */
  quorum: number;
  /** Backends tried per shard before it is given up (recorded missing). */
  attempts: number;
  /** A shard write unanswered this long is given up on that backend (a spare is tried). */
  shardTimeoutMs: number;
  /** Once the quorum is stored, the other shards are waited for this long at least (see Stragglers), then recorded missing. */
  stragglerMs: number;
}

export function shardKey(chunkId: string, index: number): string {
  return `${chunkId}/${index}`;
}

/** The write quorum of a k+m geometry: `configured` (default k+1), kept within [k, k+m]. */
export function writeQuorum(k: number, m: number, configured?: number): number {
  return Math.min(k + m, Math.max(k, configured ?? k + 1));
}

/** Fewer healthy backends than the write quorum: the client is told to retry later. */
export function belowQuorum(detail: string): StoreError {
  return new StoreError(
    'SlowDown',
    `Please reduce your request rate: too few backends are reachable to store data safely (${detail}).`,
  );
}

/**
 * Encodes one chunk on a worker, places its k+m shards on distinct up backends and writes them
 * in parallel. A backend that fails or does not answer within `shardTimeoutMs` gets its shard
 * re-placed on a spare (one holding no shard of this chunk); once the quorum is stored, a
 * straggler has `stragglerMs` (or 4x the quorum's time) left. A shard no backend could take is
 * recorded missing, parity shards first: with fewer healthy backends than shards the chunk is
 * written degraded, as long as at least `quorum` shards are stored; below it the chunk fails
 * with SlowDown. Shards are in the pending-write log before they are sent.
 */
export async function writeChunk(ctx: ChunkWriteContext, plain: Buffer, index: number): Promise<ChunkRef> {
  const plainSize = plain.length;
  const total = ctx.k + ctx.m;
  // Checked before the work of encoding: with too few backends up, fail at once.
  const placed = placeWithQuorum(ctx, total);
  const encoded = await ctx.pipeline.encode({
    plain,
    dataKey: ctx.dataKey,
    aadObject: ctx.aadObject,
    aadIndex: index,
    k: ctx.k,
    m: ctx.m,
  });
  const id = crypto.randomBytes(16).toString('hex');
  const used = new Set(placed.map((b) => b.id));
  await ctx.meta.beginWrite(
    ctx.writeId,
    placed.map((b, i) => ({ backend: b.id, key: shardKey(id, i) })),
  );
  await ctx.meta.durable(); // the intent is on disk before any shard is

  const waits = new Stragglers(ctx.quorum, total, ctx.stragglerMs);
  // A write given up on (timeout, straggler) may still sit in a socket's queue: the shards'
  // memory is reused only when every backend answered on the first attempt.
  let everyWriteAnswered = true;
  const writeShard = async (i: number, first: string | undefined): Promise<ShardRef> => {
    const key = shardKey(id, i);
    const crc = encoded.crcs[i]!;
    let backend = first;
    for (let attempt = 1; backend !== undefined; attempt++) {
      try {
        await ctx.backends.run(backend, (c) => c.set(key, encoded.shards[i]!), waits.signal(ctx.shardTimeoutMs));
        waits.storedOne();
        return { backend, key, crc };
      } catch {
        everyWriteAnswered = false;
        if (attempt >= ctx.attempts || waits.givenUp) break;
        backend = spareBackend(ctx.backends.list(), used)?.id;
        if (backend === undefined) break;
        used.add(backend);
        await ctx.meta.beginWrite(ctx.writeId, [{ backend, key }]);
        await ctx.meta.durable();
      }
    }
    return missingShard(key, crc);
  };
  const shards = await Promise.all(Array.from({ length: total }, (_, i) => writeShard(i, placed[i]?.id))).finally(() =>
    waits.close(),
  );
  if (everyWriteAnswered) encoded.release();
  if (waits.stored < ctx.quorum)
    throw belowQuorum(`chunk ${index}: ${waits.stored} of ${total} shards stored, write quorum ${ctx.quorum}`);
  return {
    id,
    plainSize,
    storedSize: encoded.storedSize,
    compressed: encoded.compressed,
    shardSize: encoded.shardSize,
    dataShards: ctx.k,
    parityShards: ctx.m,
    wrappedKey: ctx.wrappedKey,
    nonce: encoded.nonce.toString('base64'),
    aadObject: ctx.aadObject,
    aadIndex: index,
    shards,
  };
}

/** Distinct up backends for as many of the `total` shards as possible, at least the quorum. */
function placeWithQuorum(ctx: ChunkWriteContext, total: number): Backend[] {
  try {
    return placeAtLeast(ctx.backends.list(), total, ctx.quorum).backends;
  } catch (e) {
    if (e instanceof PlacementError) throw belowQuorum(`${e.message}; write quorum ${ctx.quorum} of ${total} shards`);
    throw e;
  }
}
