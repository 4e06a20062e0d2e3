import { ChunkCompressor } from '../pipeline/compress.js';
import { decryptChunk, encryptChunk, TAG_BYTES } from '../pipeline/encrypt.js';
import { newDataKey, unwrapKey, wrapKey } from '../pipeline/keys.js';
import { PipelineError } from '../pipeline/errors.js';
import type { InlineData } from '../meta/manifest.js';

/**
 * Small objects kept inside their manifest, as MinIO (xl.meta inline data) and Garage (inline
 * blocks) do: a 4 KiB object spread as six 1 KiB shards costs six backend writes, each with its
 * own fsync, and six reads to get back. Its bytes are compressed and encrypted exactly as a
 * chunk's are (own data key wrapped by the master key, AAD = object id + index 0), so farmers
 * still see only ciphertext, and they live wherever the manifest lives: the metadata database
 * and the encrypted manifest copies on the backends (`MetaReplica`), which the store only uses
 * for this when they outnumber the parity shards.
 *
 * The work is a few microseconds for such sizes, so it runs on the calling thread: a trip to
 * the worker pool would cost more than the work.
 */
const compressor = new ChunkCompressor();

/** `wrappingKey`: the master key, or an SSE-C object's key derived from it (ObjectStore.wrappingKey). */
export function sealInline(wrappingKey: Buffer, aadObject: string, plain: Uint8Array): InlineData {
  const dataKey = newDataKey();
  const { data, compressed } = compressor.compress(plain);
  const sealed = Buffer.allocUnsafe(data.length + TAG_BYTES);
  const nonce = encryptChunk(dataKey, aadObject, 0, data, sealed);
  return {
    wrappedKey: wrapKey(wrappingKey, dataKey).toString('base64'),
    nonce: nonce.toString('base64'),
    aadObject,
    compressed,
    data: sealed.toString('base64'),
  };
}

/** The plaintext of an inline object of `size` bytes; CHUNK_AUTH_FAILED if it was altered. */
export function openInline(wrappingKey: Buffer, inline: InlineData, size: number): Buffer {
  const dataKey = unwrapKey(wrappingKey, Buffer.from(inline.wrappedKey, 'base64'));
  const data = decryptChunk(
    dataKey,
    Buffer.from(inline.nonce, 'base64'),
    inline.aadObject,
    0,
    Buffer.from(inline.data, 'base64'),
  );
  if (inline.compressed) return compressor.decompress(data, size);
  if (data.length !== size)
    throw new PipelineError('MANIFEST_MISMATCH', `inline object holds ${data.length} bytes, expected ${size}`);
  return data;
}
