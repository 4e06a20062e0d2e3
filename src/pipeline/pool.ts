import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina, valueSymbol } from 'piscina';
import { BufferPool } from './buffer-pool.js';
import { ownsWholeBuffer, transferable } from './buffers.js';
import { DEFAULT_LEVEL } from './compress.js';
import { PipelineError } from './errors.js';
import { shardCapacity } from './shards.js';
import type {
  DecodeResult,
  DecodeTask,
  EncodeResult,
  EncodeTask,
  RebuildResult,
  RebuildTask,
  Reply,
} from './worker.js';

export interface EncodeRequest {
  /**
   * The chunk's plaintext. Its ArrayBuffer is transferred to the worker, so every view of it is
   * detached (empty) once encode() is called; hash it before. A view that is not the whole of
   * its ArrayBuffer is copied first (chunkStream never hands out such views).
   */
  plain: Uint8Array;
  dataKey: Uint8Array;
  aadObject: string;
  aadIndex: number;
  k: number;
  m: number;
  /** zstd level, default 1. */
  level?: number;
}

export interface EncodedChunk {
  /** k+m shards, data first: views of one ArrayBuffer. */
  shards: Buffer[];
  /** CRC32C of each shard. */
  crcs: number[];
  storedSize: number;
  shardSize: number;
  compressed: boolean;
  nonce: Buffer;
  /**
   * Hands the shards' memory back for a later chunk. Call it only once nothing reads a shard
   * any more (every backend acknowledged its write); never calling it is safe (garbage).
   */
  release(): void;
}

/** What decode() takes: the worker's task, with the shards as the caller has them. */
export interface DecodeRequest extends Omit<DecodeTask, 'shards'> {
  /**
   * k+m slots, data first; null for a shard that could not be read. Each shard's ArrayBuffer is
   * transferred when the shard is the whole of it (a Buffer of 4 KiB or more that is not a
   * slice); others are copied once.
   */
  shards: (Uint8Array | null)[];
}

export interface DecodedChunk {
  plain: Buffer;
  /** Shards that were missing or failed their CRC, for repair. */
  bad: number[];
}

export interface RebuildRequest {
  /** k+m slots, data first; null where the shard is missing (transferred like decode's). */
  shards: (Uint8Array | null)[];
  crcs: number[];
  k: number;
  m: number;
  shardSize: number;
  /** Shards to rebuild. */
  missing: number[];
}

export interface PipelinePoolOptions {
  /**
   * Worker threads; default: one per core. 0 runs the same work in the calling thread, from the
   * source under vitest: the unit tier uses it, needing no build.
   */
  threads?: number;
}

/**
 * The worker runs compiled JavaScript: from `dist/src/pipeline/pool.js` it sits beside this
 * file. From the TypeScript source (vitest) the compiled worker in `dist/` is used, since
 * worker threads do not go through vitest's transform: tests run after `npm run build`
 * (`pretest`), so run `npm test` or build before `npx vitest`.
 */
function workerFile(): string {
  const own = import.meta.url;
  const url = own.endsWith('.ts') ? new URL('../../dist/src/pipeline/worker.js', own) : new URL('./worker.js', own);
  const path = fileURLToPath(url);
  if (!existsSync(path))
    throw new PipelineError('WORKER_NOT_FOUND', `pipeline worker ${path} not found: run npm run build`);
  return path;
}

/**
 * Small values (keys, nonces) may be slices of Node's 8 KiB Buffer pool (Buffer.from of base64),
 * and cloning a slice clones the whole pool: send an exact copy.
 */
function exact(view: Uint8Array): Uint8Array {
  return new Uint8Array(view);
}

function unwrap<T>(reply: Reply<T>): T {
  if ('error' in reply) throw new PipelineError(reply.error.code, reply.error.message);
  return reply.result;
}

function asBuffer(view: Uint8Array): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The CPU side of the store on worker threads: compress, encrypt and erasure-code a chunk, and
 * back. The calling thread only moves buffers, by transfer.
 */
type TaskName = 'encodeChunk' | 'decodeChunk' | 'rebuildChunkShards';

/**
 * Free buffers kept per pool: a PUT keeps a few chunks in flight (ObjectStore's depth, 4) and
 * a gateway a few PUTs, so these cover the steady state; beyond them buffers are garbage.
 */
const CHUNK_POOL_BYTES = 32 * 1024 * 1024;
const SHARD_POOL_BYTES = 64 * 1024 * 1024;

export class PipelinePool {
  /** Null when the work runs in the calling thread (threads: 0). */
  private readonly piscina: Piscina | null;
  /** Chunk plaintext buffers the workers handed back. */
  private readonly chunks = new BufferPool(CHUNK_POOL_BYTES);
  /** Shard sets whose writes were acknowledged. */
  private readonly shardSets = new BufferPool(SHARD_POOL_BYTES);

  constructor(options: PipelinePoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    // Fixed size: workers keep their zstd contexts and codecs warm.
    this.piscina =
      threads === 0 ? null : new Piscina({ filename: workerFile(), minThreads: threads, maxThreads: threads });
  }

  get threads(): number {
    return this.piscina?.maxThreads ?? 0;
  }

  private async run<T>(name: TaskName, task: object, transferList: ArrayBuffer[]): Promise<Reply<T>> {
    if (this.piscina) return this.piscina.run(task, { name, transferList });
    const worker = await import('./worker.js');
    const reply = worker[name](task as never) as Reply<T> & { [valueSymbol]?: Reply<T> };
    // No postMessage takes the value out of the worker's move() wrapper here.
    return reply[valueSymbol] ?? reply;
  }

  /**
   * A Buffer of `size` bytes for a chunk's plaintext (chunkStream's allocator): one a worker
   * handed back when there is one, its old contents still in it.
   */
  readonly chunkBuffer = (size: number): Buffer<ArrayBuffer> => {
    const reused = this.chunks.take(size);
    return reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(size);
  };

  async encode(request: EncodeRequest): Promise<EncodedChunk> {
    const plain = transferable(request.plain);
    const spare = this.shardSets.take(shardCapacity(plain.byteLength, request.k, request.m));
    const task: EncodeTask = {
      ...request,
      plain,
      dataKey: exact(request.dataKey),
      level: request.level ?? DEFAULT_LEVEL,
      ...(spare && { spare }),
    };
    const reply: Reply<EncodeResult> = await this.run('encodeChunk', task, spare ? [plain, spare] : [plain]);
    const { plain: returned, ...result } = unwrap(reply);
    // Only a transferred buffer is free: with threads: 0 it is still the caller's.
    if (this.piscina) this.chunks.give(returned);
    let shardSet: ArrayBuffer | null = result.shards[0]!.buffer as ArrayBuffer;
    return {
      ...result,
      shards: result.shards.map(asBuffer),
      nonce: asBuffer(result.nonce),
      // Once only: the same memory given twice would go to two chunks at once.
      release: () => {
        if (shardSet) this.shardSets.give(shardSet);
        shardSet = null;
      },
    };
  }

  /** Rebuilds lost shards (repair); returns them in the order of `missing`. */
  async rebuild(request: RebuildRequest): Promise<Buffer[]> {
    const shards = request.shards.map((shard) => (shard ? transferable(shard) : null));
    const task: RebuildTask = { ...request, shards };
    const transferList = [...new Set(shards.filter((shard) => shard !== null))];
    const reply: Reply<RebuildResult> = await this.run('rebuildChunkShards', task, transferList);
    return unwrap(reply).shards.map(asBuffer);
  }

  async decode(request: DecodeRequest): Promise<DecodedChunk> {
    const shards = request.shards.map((shard) => (shard ? transferable(shard) : null));
    // The plaintext's buffer: zstd's output for a compressed chunk, the decryption's for a raw one.
    const spare = this.chunks.take(request.plainSize);
    // Field by field: a request spread from an EncodedChunk carries its release() (not cloneable).
    const task: DecodeTask = {
      shards,
      crcs: request.crcs,
      dataKey: exact(request.dataKey),
      nonce: exact(request.nonce),
      aadObject: request.aadObject,
      aadIndex: request.aadIndex,
      k: request.k,
      m: request.m,
      storedSize: request.storedSize,
      shardSize: request.shardSize,
      compressed: request.compressed,
      plainSize: request.plainSize,
      checkCrcs: request.checkCrcs,
      ...(spare && { spare }),
    };
    const transferList = [...new Set(shards.filter((shard) => shard !== null))];
    if (spare) transferList.push(spare);
    const reply: Reply<DecodeResult> = await this.run('decodeChunk', task, transferList);
    const { plain, bad } = unwrap(reply);
    return { plain: Buffer.from(plain), bad };
  }

  /**
   * Hands a chunk's plaintext (a decode's, or any buffer of a chunk's size) back for a later
   * chunk, once nothing reads it any more. Only a Buffer that is the whole of its ArrayBuffer is
   * kept (a range is a view of a chunk others may hold); never calling it is safe (garbage).
   */
  recycle(plain: Uint8Array): void {
    if (ownsWholeBuffer(plain)) this.chunks.give(plain.buffer);
  }

  /** Bytes of chunk buffers and shard sets held free for reuse. */
  get pooledBytes(): { chunks: number; shardSets: number } {
    return { chunks: this.chunks.heldBytes, shardSets: this.shardSets.heldBytes };
  }

  /** Waits for the tasks under way, then stops the workers. */
  async close(): Promise<void> {
    await this.piscina?.close();
  }
}
