import { crc32c } from '@node-rs/crc32';
import type { ErasureCodec } from '../erasure/codec.js';
import { TAG_BYTES } from './encrypt.js';
import { PipelineError } from './errors.js';

/** k+m shards of one chunk: views of one ArrayBuffer, data shards first. */
export interface ShardSet {
  buffer: ArrayBuffer;
  shards: Uint8Array[];
  shardSize: number;
}

/** Every shard is this long: the stored bytes split in k, the last data shard zero-padded. */
export function shardSizeFor(storedSize: number, k: number): number {
  return Math.ceil(storedSize / k);
}

/**
 * The bytes a chunk's shard set takes at most: stored raw (incompressible), with its tag. The
 * encoder allocates new shard sets at this size, whatever the chunk compressed to, so that any
 * of them can be reused for any later chunk of the same size and geometry.
 */
export function shardCapacity(plainSize: number, k: number, m: number): number {
  return (k + m) * shardSizeFor(plainSize + TAG_BYTES, k);
}

/**
 * One allocation for all k+m shards of a chunk of `storedSize` bytes, to be transferred at once:
 * the start of `into` when it is large enough (a reused buffer), else a new one of exactly the
 * size. The caller writes the stored bytes at the start (data shards are contiguous); the
 * padding after them is zeroed here and the parity is written by encodeShards.
 */
export function allocateShards(storedSize: number, k: number, m: number, into?: ArrayBuffer): ShardSet {
  const shardSize = shardSizeFor(storedSize, k);
  const bytes = (k + m) * shardSize;
  const all = into && into.byteLength >= bytes ? Buffer.from(into, 0, bytes) : Buffer.allocUnsafeSlow(bytes);
  all.fill(0, storedSize, k * shardSize);
  const shards = Array.from({ length: k + m }, (_, i) => all.subarray(i * shardSize, (i + 1) * shardSize));
  return { buffer: all.buffer, shards, shardSize };
}

/** A shard's CRC32C; a named function so that a CPU profile shows its time (the native call has no frame). */
function shardCrc(shard: Uint8Array): number {
  return crc32c(shard);
}

/** Computes the parity shards in place and returns the CRC32C of every shard. */
export function encodeShards(codec: ErasureCodec, shards: readonly Uint8Array[]): number[] {
  const k = codec.dataShards;
  codec.encode(shards.slice(0, k), shards.slice(k));
  return shards.map(shardCrc);
}

export interface JoinedShards {
  /** The chunk's stored bytes. */
  stored: Uint8Array;
  /** Indices of the shards that were missing, of the wrong size or failed their CRC. */
  bad: number[];
}

/**
 * The stored bytes of a chunk from its k+m shard slots (null: not available). Shards that fail
 * their CRC count as missing; with `crcs` null no CRC is computed (the caller authenticates the
 * result by the chunk's AEAD tag, and checks CRCs only when that fails). The data shards are joined directly when they are all good (the
 * code is systematic); otherwise the missing ones are rebuilt from any k good shards. The
 * result is written at the start of `into` when it holds all k+m shards (a worker's scratch,
 * reused for every chunk: `stored` is then valid only until the next call), else in new memory.
 */
export function joinShards(
  codec: ErasureCodec,
  slots: readonly (Uint8Array | null)[],
  crcs: readonly number[] | null,
  storedSize: number,
  shardSize: number,
  into?: ArrayBuffer,
): JoinedShards {
  const k = codec.dataShards;
  const m = codec.parityShards;
  if (
    slots.length !== k + m ||
    (crcs !== null && crcs.length !== k + m) ||
    !(storedSize > 0 && storedSize <= k * shardSize)
  ) {
    throw new PipelineError(
      'INVALID_ARGUMENT',
      `${slots.length} shards and ${crcs?.length ?? 'no'} CRCs for a ${k}+${m} chunk of ${storedSize} bytes in ${shardSize}-byte shards`,
    );
  }
  const bad = slots.flatMap((shard, i) =>
    shard === null || shard.length !== shardSize || (crcs !== null && shardCrc(shard) !== crcs[i]) ? [i] : [],
  );
  if (bad.length > m) {
    throw new PipelineError(
      'TOO_FEW_SHARDS',
      `${bad.length} of ${k}+${m} shards missing or corrupt (shards ${bad.join(', ')})`,
    );
  }
  const scratch = into && into.byteLength >= (k + m) * shardSize ? into : undefined;
  if (bad.every((i) => i >= k)) {
    const stored = scratch ? new Uint8Array(scratch, 0, storedSize) : Buffer.allocUnsafeSlow(storedSize);
    for (let i = 0; i * shardSize < storedSize; i++) {
      stored.set((slots[i] as Uint8Array).subarray(0, Math.min(shardSize, storedSize - i * shardSize)), i * shardSize);
    }
    return { stored, bad };
  }
  // Every bad shard, parity included, is rebuilt: the codec takes its sources among the shards
  // not listed as missing, so a bad parity shard left off the list could be read as a source.
  const { buffer, shards } = allocateShards(storedSize, k, m, scratch);
  slots.forEach((shard, i) => {
    if (!bad.includes(i)) shards[i].set(shard as Uint8Array);
  });
  codec.reconstruct(shards, bad);
  return { stored: new Uint8Array(buffer, 0, storedSize), bad };
}

/**
 * Rebuilds the shards at `missing` from the good ones among `slots` (CRC-checked), and checks
 * each rebuilt shard against its recorded CRC: the code is deterministic, so a rebuilt shard
 * is byte-identical to the one lost.
 */
export function rebuildShards(
  codec: ErasureCodec,
  slots: readonly (Uint8Array | null)[],
  crcs: readonly number[],
  shardSize: number,
  missing: readonly number[],
): { buffer: ArrayBuffer; shards: Uint8Array[] } {
  const k = codec.dataShards;
  const m = codec.parityShards;
  const bad = new Set(missing);
  slots.forEach((shard, i) => {
    if (shard === null || shard.length !== shardSize || shardCrc(shard) !== crcs[i]) bad.add(i);
  });
  if (bad.size > m) throw new PipelineError('TOO_FEW_SHARDS', `${bad.size} of ${k}+${m} shards missing or corrupt`);
  const all = Buffer.allocUnsafeSlow((k + m) * shardSize);
  const shards = Array.from({ length: k + m }, (_, i) => all.subarray(i * shardSize, (i + 1) * shardSize));
  slots.forEach((shard, i) => {
    if (!bad.has(i)) shards[i]!.set(shard as Uint8Array);
  });
  codec.reconstruct(
    shards,
    [...bad].sort((a, b) => a - b),
  );
  for (const i of missing) {
    if (shardCrc(shards[i]!) !== crcs[i])
      throw new PipelineError('MANIFEST_MISMATCH', `rebuilt shard ${i} does not match its recorded CRC`);
  }
  return { buffer: all.buffer, shards: missing.map((i) => shards[i]!) };
}
