import { ownedBuffer, type ChunkAllocator } from './buffers.js';
import { PipelineError } from './errors.js';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/**
 * Cuts a byte stream into chunks of `size` bytes, the last one shorter, none for an empty
 * stream. Every chunk owns its whole ArrayBuffer, so it can be transferred to a worker.
 *
 * Incoming pieces are held by reference until a chunk is complete, then copied once into it;
 * a piece that is exactly one chunk at a chunk boundary (or the whole tail) and owns its
 * ArrayBuffer is handed on as is, so transferring the chunk detaches that piece. At most one
 * chunk's worth of earlier pieces plus the incoming piece is held. The source must not reuse a
 * piece's memory after yielding it (Node streams never do). Copied chunks come from `allocate`
 * (the store passes PipelinePool.chunkBuffer, which reuses the chunks workers are done with).
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  size: number = DEFAULT_CHUNK_SIZE,
  allocate?: ChunkAllocator,
): AsyncGenerator<Buffer<ArrayBuffer>, void, undefined> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new PipelineError('INVALID_ARGUMENT', `chunk size must be a positive integer, got ${size}`);
  }
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = piece;
    while (pendingBytes + rest.length >= size) {
      const take = size - pendingBytes;
      pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      const chunk = ownedBuffer(pending, size, allocate);
      pending.length = 0;
      pendingBytes = 0;
      yield chunk;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield ownedBuffer(pending, pendingBytes, allocate);
}
