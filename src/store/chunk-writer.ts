import crypto from 'node:crypto';
import type { MetaStore } from '../meta/meta-store.js';
import type { PipelinePool } from '../pipeline/pool.js';
import { placeShards, PlacementError } from '../placement/placement.js';
import type { BackendPool } from './backend-pool.js';
import { StoreError } from './errors.js';
import type { ChunkRef, ShardRef } from '../meta/manifest.js';

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
  /** Backends tried per shard before the chunk fails. */
  attempts: number;
}

export function shardKey(chunkId: string, index: number): string {
  return `${chunkId}/${index}`;
}

/**
 * Encodes one chunk on a worker, places its k+m shards and writes them all in parallel.
 * A backend that fails gets its shard re-placed on a spare; the chunk fails only when a
 * shard cannot be stored anywhere. Shards are in the pending-write log before they are sent.
 */
export async function writeChunk(ctx: ChunkWriteContext, plain: Buffer, index: number): Promise<ChunkRef> {
  const plainSize = plain.length;
  const encoded = await ctx.pipeline.encode({ plain, dataKey: ctx.dataKey, aadObject: ctx.aadObject, aadIndex: index, k: ctx.k, m: ctx.m });
  const id = crypto.randomBytes(16).toString('hex');
  const total = ctx.k + ctx.m;
  const placed = place(ctx, total, new Set());
  const used = new Set(placed.map((b) => b.id));
  await ctx.meta.beginWrite(
    ctx.writeId,
    placed.map((b, i) => ({ backend: b.id, key: shardKey(id, i) })),
  );
  await ctx.meta.durable(); // the intent is on disk before any shard is
  const shards: ShardRef[] = await Promise.all(
    placed.map(async (first, i) => {
      const key = shardKey(id, i);
      let backend = first.id;
      for (let attempt = 1; ; attempt++) {
        try {
          await ctx.backends.run(backend, (c) => c.set(key, encoded.shards[i]!));
          return { backend, key, crc: encoded.crcs[i]! };
        } catch (e) {
          if (attempt >= ctx.attempts) throw new StoreError('ServiceUnavailable', `shard ${i} of chunk ${index} could not be stored: ${(e as Error).message}`, { cause: e });
          const [spare] = place(ctx, 1, used);
          used.add(spare!.id);
          await ctx.meta.beginWrite(ctx.writeId, [{ backend: spare!.id, key }]);
          await ctx.meta.durable();
          backend = spare!.id;
        }
      }
    }),
  );
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

function place(ctx: ChunkWriteContext, count: number, exclude: Set<string>): ReturnType<typeof placeShards>['backends'] {
  try {
    return placeShards(ctx.backends.list(), count, exclude).backends;
  } catch (e) {
    if (e instanceof PlacementError) throw new StoreError('ServiceUnavailable', e.message);
    throw e;
  }
}
