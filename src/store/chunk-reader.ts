import type { MetaStore } from '../meta/meta-store.js';
import type { PipelinePool } from '../pipeline/pool.js';
import type { BackendPool } from './backend-pool.js';
import { PipelineError } from '../pipeline/errors.js';
import { StoreError } from './errors.js';
import type { ChunkRef } from '../meta/manifest.js';
import { describeFailures, readShard, type ShardReadError } from './shard-read.js';

export interface ChunkReadContext {
  meta: MetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
  /** The chunk's data key, unwrapped. */
  dataKey: Buffer;
  /** Ask for parity shards when a data shard has not arrived after this long. */
  hedgeMs: number;
}

type Slot = Buffer | null;

/**
 * Reads a chunk: its k data shards first (no decoding when they all arrive intact), parity
 * shards as soon as one fails, is missing or is slower than `hedgeMs` (and at once in place of
 * a shard recorded missing or on a backend marked down); then the worker decrypts and
 * decompresses. Shards that could not be used are queued for repair, each with its fault
 * (MISSING, CORRUPT, TIMEOUT...); when fewer than k can be read, the StoreError's cause is an
 * AggregateError of their ShardReadErrors (each with the backend's error as its cause).
 *
 * The chunk's AEAD tag authenticates the joined bytes, so the first read computes no shard
 * CRC (two passes over every byte a GET moves, on the gateway). Only when the tag fails is the
 * chunk read again with every shard's CRC checked: a shard altered on its backend is then
 * named CORRUPT, replaced by a parity shard and queued for repair, as a missing one is.
 */
export async function readChunk(ctx: ChunkReadContext, chunk: ChunkRef): Promise<Buffer> {
  try {
    return await readChunkOnce(ctx, chunk, false);
  } catch (e) {
    if (!isAuthFailure(e)) throw e;
    return readChunkOnce(ctx, chunk, true);
  }
}

async function readChunkOnce(ctx: ChunkReadContext, chunk: ChunkRef, checkCrcs: boolean): Promise<Buffer> {
  const k = chunk.dataShards;
  const total = k + chunk.parityShards;
  const slots: Slot[] = new Array<Slot>(total).fill(null);
  const failures: ShardReadError[] = [];
  // Shards a read can expect to get first: not recorded missing, on a backend not known down (a
  // frozen one would cost the hedge delay on every chunk). Data shards first within each group.
  const reachable = (i: number): boolean =>
    !chunk.shards[i]!.missing && ctx.backends.get(chunk.shards[i]!.backend)?.state === 'up';
  const indices = Array.from({ length: total }, (_, i) => i);
  const order = [...indices.filter(reachable), ...indices.filter((i) => !reachable(i))];
  let good = 0;
  let next = k; // position in `order` of the next shard to ask for
  let inflight = 0;

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hedge);
      if (err) reject(err);
      else resolve();
    };
    const fetch = (i: number): void => {
      inflight++;
      readShard(ctx.backends, chunk, i, checkCrcs)
        .then(
          (value) => {
            slots[i] = value;
            good++;
          },
          (e: ShardReadError) => failures.push(e),
        )
        .finally(() => {
          inflight--;
          if (settled) return;
          if (good >= k) return finish();
          // Replace every failed shard by a parity shard not asked for yet.
          while (good + inflight < k && next < total) fetch(order[next++]!);
          if (good + inflight < k) {
            const why = `chunk ${chunk.id}: only ${good} of the ${k} shards needed could be read (${describeFailures(failures)})`;
            finish(new StoreError('ServiceUnavailable', why, { cause: new AggregateError([...failures], why) }));
          }
        });
    };
    for (let i = 0; i < k; i++) fetch(order[i]!);
    const hedge = setTimeout(() => {
      if (!settled && next < total) fetch(order[next++]!);
    }, ctx.hedgeMs);
  });

  // Keep exactly what is needed: the first k good shards, data shards preferred.
  const use: Slot[] = new Array<Slot>(total).fill(null);
  let taken = 0;
  for (let i = 0; i < total && taken < k; i++) {
    if (slots[i]) {
      use[i] = slots[i]!;
      taken++;
    }
  }
  const decoding = ctx.pipeline.decode({
    shards: use,
    crcs: chunk.shards.map((s) => s.crc),
    dataKey: ctx.dataKey,
    nonce: Buffer.from(chunk.nonce, 'base64'),
    aadObject: chunk.aadObject,
    aadIndex: chunk.aadIndex,
    k,
    m: chunk.parityShards,
    storedSize: chunk.storedSize,
    shardSize: chunk.shardSize,
    compressed: chunk.compressed,
    plainSize: chunk.plainSize,
    // Never again in the worker: readShard checked every shard's CRC when this read checks them.
    checkCrcs: false,
  });
  const queueRepair = async (): Promise<void> => {
    if (failures.length > 0) await ctx.meta.enqueueRepair(chunk.id, `shards ${describeFailures(failures)}`);
  };
  try {
    const { plain } = await decoding;
    await queueRepair();
    return plain;
  } catch (e) {
    // The checked read that follows a failed tag queues what it finds, CORRUPT shards included
    // (a chunk is queued once: a first reason would hide them).
    if (checkCrcs || !isAuthFailure(e)) await queueRepair();
    throw e;
  }
}

function isAuthFailure(e: unknown): boolean {
  return e instanceof PipelineError && e.code === 'CHUNK_AUTH_FAILED';
}
