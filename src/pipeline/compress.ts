import zstd from 'zstd-napi/binding.js';
import { PipelineError } from './errors.js';

/** zstd level 1: the fastest level that still halves text (the pipeline is CPU-bound). */
export const DEFAULT_LEVEL = 1;

export interface Compressed {
  /** The bytes to store: zstd output, or the input itself when that did not shrink it. */
  data: Uint8Array;
  compressed: boolean;
}

/**
 * zstd with one compression and one decompression context reused across calls (one instance
 * per thread). Compression writes into a scratch buffer kept between calls, so `data` of a
 * result is valid only until the next compress().
 */
export class ChunkCompressor {
  private readonly cctx = new zstd.CCtx();
  private readonly dctx = new zstd.DCtx();
  private scratch = Buffer.alloc(0);

  compress(plain: Uint8Array, level: number = DEFAULT_LEVEL): Compressed {
    const bound = zstd.compressBound(plain.length);
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafeSlow(bound);
    const size = this.cctx.compress(this.scratch, plain, level);
    return size < plain.length ? { data: this.scratch.subarray(0, size), compressed: true } : { data: plain, compressed: false };
  }

  /** Decompresses into a new Buffer of exactly `plainSize` bytes that owns its ArrayBuffer. */
  decompress(data: Uint8Array, plainSize: number): Buffer<ArrayBuffer> {
    const out = Buffer.allocUnsafeSlow(plainSize);
    let size: number;
    try {
      size = this.dctx.decompress(out, data);
    } catch (error) {
      throw new PipelineError('MANIFEST_MISMATCH', `zstd: ${(error as Error).message} (expected ${plainSize} bytes)`);
    }
    if (size !== plainSize) {
      throw new PipelineError('MANIFEST_MISMATCH', `decompressed to ${size} bytes, expected ${plainSize}`);
    }
    return out;
  }
}
