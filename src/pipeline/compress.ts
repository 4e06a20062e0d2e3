import zstd from 'zstd-napi/binding.js';
import { PipelineError } from './errors.js';

/** zstd level 1: the fastest level that still halves text (the pipeline is CPU-bound). */
export const DEFAULT_LEVEL = 1;

/**
 * Before zstd runs over a whole chunk, it runs over SAMPLES slices of SAMPLE_BYTES spread across
 * it; when they shrink by less than MIN_SAVING the chunk is kept raw. On random or already
 * compressed data (media, archives, encrypted files) that saves ~1 ms of CPU per 4 MiB chunk
 * (~0.25 CPU-s per GiB) for ~50 us of sampling; chunks under SAMPLED_FROM are compressed whole.
 */
const SAMPLES = 4;
const SAMPLE_BYTES = 16 * 1024;
const SAMPLED_FROM = 8 * SAMPLES * SAMPLE_BYTES;
const MIN_SAVING = 1 / 32;

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
    if (this.samplesIncompressible(plain, level)) return { data: plain, compressed: false };
    const size = this.cctx.compress(this.scratch, plain, level);
    return size < plain.length
      ? { data: this.scratch.subarray(0, size), compressed: true }
      : { data: plain, compressed: false };
  }

  /** Whether the samples of a large chunk show it will not shrink (see SAMPLES). */
  private samplesIncompressible(plain: Uint8Array, level: number): boolean {
    if (plain.length < SAMPLED_FROM) return false;
    const stride = Math.floor((plain.length - SAMPLE_BYTES) / (SAMPLES - 1));
    let sampled = 0;
    for (let i = 0; i < SAMPLES; i++)
      sampled += this.cctx.compress(this.scratch, plain.subarray(i * stride, i * stride + SAMPLE_BYTES), level);
    return sampled > SAMPLES * SAMPLE_BYTES * (1 - MIN_SAVING);
  }

  /**
   * Decompresses into a Buffer of exactly `plainSize` bytes that owns its ArrayBuffer: `into`
   * when it has that size (a reused one: fresh memory costs a page fault per 4 KiB written,
   * about as much as the decompression), else a new one.
   */
  decompress(data: Uint8Array, plainSize: number, into?: ArrayBuffer): Buffer<ArrayBuffer> {
    const out = into?.byteLength === plainSize ? Buffer.from(into) : Buffer.allocUnsafeSlow(plainSize);
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
