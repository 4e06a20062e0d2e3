/**
 * The work of one pool thread: a chunk's plaintext to its k+m shards and back. Buffers arrive
 * and leave by transfer (see pool.ts); the zstd contexts, the codec per (k, m) and the wasm
 * kernel are made once per thread.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ErasureError } from '../erasure/errors.js';
import { ReedSolomonCodec } from '../erasure/reed-solomon.js';
import { transferable } from './buffers.js';
import { ChunkCompressor } from './compress.js';
import { decryptChunk, encryptChunk, TAG_BYTES } from './encrypt.js';
import { PipelineError, type PipelineErrorCode } from './errors.js';
import { allocateShards, encodeShards, joinShards, rebuildShards, shardCapacity } from './shards.js';

export interface EncodeTask {
  /** The chunk's plaintext, transferred. */
  plain: ArrayBuffer;
  dataKey: Uint8Array;
  aadObject: string;
  aadIndex: number;
  k: number;
  m: number;
  level: number;
  /**
   * A shard set the store is done with, transferred for reuse when it can hold this chunk's
   * shards at their largest (stored raw): see shardCapacity.
   */
  spare?: ArrayBuffer;
}

export interface EncodeResult {
  /** k+m views of one ArrayBuffer, transferred. */
  shards: Uint8Array[];
  crcs: number[];
  storedSize: number;
  shardSize: number;
  compressed: boolean;
  nonce: Uint8Array;
  /** The task's plaintext buffer, handed back (transferred) for the next chunk. */
  plain: ArrayBuffer;
}

export interface DecodeTask {
  /** k+m slots, data first; null for a shard that could not be read. Transferred. */
  shards: (ArrayBuffer | null)[];
  crcs: number[];
  dataKey: Uint8Array;
  nonce: Uint8Array;
  aadObject: string;
  aadIndex: number;
  k: number;
  m: number;
  storedSize: number;
  shardSize: number;
  compressed: boolean;
  plainSize: number;
  /**
   * false: join without computing the shards' CRCs, the chunk's tag authenticating the result
   * (a reader that gets CHUNK_AUTH_FAILED reads again with them checked). Default true.
   */
  checkCrcs?: boolean;
  /** A free buffer of plainSize bytes, transferred, for the chunk's plaintext. */
  spare?: ArrayBuffer;
}

export interface DecodeResult {
  /** Transferred. */
  plain: ArrayBuffer;
  /** Shards that were missing or corrupt, to be repaired. */
  bad: number[];
}

export interface RebuildTask {
  /** k+m slots, data first; null where the shard is missing or known bad. Transferred. */
  shards: (ArrayBuffer | null)[];
  crcs: number[];
  k: number;
  m: number;
  shardSize: number;
  /** Indices of the shards to rebuild. */
  missing: number[];
}

export interface RebuildResult {
  /** The rebuilt shards, in the order of `missing`: views of one ArrayBuffer, transferred. */
  shards: Uint8Array[];
}

/** Structured cloning drops an Error's class and `code`, so typed errors travel as data. */
export type Reply<T> = { result: T } | { error: { code: PipelineErrorCode; message: string } };

const compressor = new ChunkCompressor();
/**
 * Where decode joins a chunk's shards and decrypts a compressed chunk in place (zstd reads it
 * from there): one buffer per thread serves every chunk (a fresh 4 MiB per chunk was garbage
 * and page faults).
 */
let joinScratch = new ArrayBuffer(0);

function joinBuffer(bytes: number): ArrayBuffer {
  if (joinScratch.byteLength < bytes) joinScratch = Buffer.allocUnsafeSlow(bytes).buffer;
  return joinScratch;
}
/** The spare when it is exactly `size` bytes, else new memory. */
function plainBuffer(size: number, spare: ArrayBuffer | undefined): Uint8Array<ArrayBuffer> {
  return new Uint8Array(spare?.byteLength === size ? spare : Buffer.allocUnsafeSlow(size).buffer);
}

const codecs = new Map<string, ReedSolomonCodec>();

function codecFor(k: number, m: number): ReedSolomonCodec {
  const key = `${k}+${m}`;
  let codec = codecs.get(key);
  if (!codec) {
    try {
      codec = new ReedSolomonCodec(k, m);
    } catch (error) {
      if (error instanceof ErasureError) throw new PipelineError('INVALID_ARGUMENT', error.message);
      throw error;
    }
    codecs.set(key, codec);
  }
  return codec;
}

function reply<T extends object>(work: () => [result: T, transfer: ArrayBuffer[]]): Reply<T> {
  try {
    const [result, transfer] = work();
    // Piscina posts the value with `transfer` as its transfer list.
    return move({ [transferableSymbol]: transfer, [valueSymbol]: { result } }) as unknown as Reply<T>;
  } catch (error) {
    if (error instanceof PipelineError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

export function encodeChunk(task: EncodeTask): Reply<EncodeResult> {
  return reply(() => {
    const codec = codecFor(task.k, task.m);
    const { data, compressed } = compressor.compress(new Uint8Array(task.plain), task.level);
    const storedSize = data.length + TAG_BYTES;
    const into = task.spare ?? Buffer.allocUnsafeSlow(shardCapacity(task.plain.byteLength, task.k, task.m)).buffer;
    const { buffer, shards, shardSize } = allocateShards(storedSize, task.k, task.m, into);
    // The stored bytes go straight into the data shards, which are contiguous.
    const nonce = encryptChunk(task.dataKey, task.aadObject, task.aadIndex, data, new Uint8Array(buffer));
    const crcs = encodeShards(codec, shards);
    return [{ shards, crcs, storedSize, shardSize, compressed, nonce, plain: task.plain }, [buffer, task.plain]];
  });
}

export function decodeChunk(task: DecodeTask): Reply<DecodeResult> {
  return reply(() => {
    const slots = task.shards.map((shard) => (shard ? new Uint8Array(shard) : null));
    const codec = codecFor(task.k, task.m);
    const { stored, bad } = joinShards(
      codec,
      slots,
      task.checkCrcs === false ? null : task.crcs,
      task.storedSize,
      task.shardSize,
      joinBuffer((task.k + task.m) * task.shardSize),
    );
    const rawSize = stored.length - TAG_BYTES;
    if (!task.compressed && rawSize !== task.plainSize) {
      throw new PipelineError('MANIFEST_MISMATCH', `raw chunk holds ${rawSize} bytes, expected ${task.plainSize}`);
    }
    // A raw chunk is decrypted straight into the plaintext's buffer, a compressed one in place.
    const raw = task.compressed ? null : plainBuffer(task.plainSize, task.spare);
    const data = decryptChunk(task.dataKey, task.nonce, task.aadObject, task.aadIndex, stored, raw ?? stored);
    const plain = raw ? raw.buffer : transferable(compressor.decompress(data, task.plainSize, task.spare));
    return [{ plain, bad }, [plain]];
  });
}

/** Repair: rebuilds lost shards from k good ones. Shards are ciphertext: no key is needed. */
export function rebuildChunkShards(task: RebuildTask): Reply<RebuildResult> {
  return reply(() => {
    const slots = task.shards.map((shard) => (shard ? new Uint8Array(shard) : null));
    const { buffer, shards } = rebuildShards(codecFor(task.k, task.m), slots, task.crcs, task.shardSize, task.missing);
    return [{ shards }, [buffer]];
  });
}
