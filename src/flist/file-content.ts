import type { BlockCache } from './block-cache.js';
import { FlistError } from './errors.js';
import { BLOCK_SIZE, type BlockRef } from './schema.js';

/**
 * Bytes [offset, offset + length) of a file made of `blocks` (all BLOCK_SIZE but the last),
 * clipped to `size`. Blocks after the range are asked for in the background (read-ahead).
 */
export async function readRange(
  cache: BlockCache,
  blocks: BlockRef[],
  size: number,
  offset: number,
  length: number,
  readAhead = 0,
): Promise<Buffer> {
  const end = Math.min(size, offset + length);
  if (offset >= end) return Buffer.alloc(0);
  const first = Math.floor(offset / BLOCK_SIZE);
  const last = Math.floor((end - 1) / BLOCK_SIZE);
  for (let i = last + 1; i <= last + readAhead && i < blocks.length; i++) cache.get(blocks[i]!).catch(() => undefined);
  const parts: Buffer[] = [];
  for (let i = first; i <= last; i++) {
    const block = blocks[i];
    if (!block) throw new FlistError('BAD_FORMAT', `file of ${size} bytes has only ${blocks.length} blocks`);
    const plain = await cache.get(block);
    const from = i === first ? offset - i * BLOCK_SIZE : 0;
    const to = i === last ? end - i * BLOCK_SIZE : BLOCK_SIZE;
    if (plain.length < to)
      throw new FlistError('CORRUPT', `block ${block.id.toString('hex')} is ${plain.length} bytes, need ${to}`);
    parts.push(plain.subarray(from, to));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** A whole file as a stream of plaintext blocks, a few fetched ahead. */
export async function* fileBlocks(cache: BlockCache, blocks: BlockRef[], ahead = 4): AsyncGenerator<Buffer> {
  const queue: Promise<Buffer>[] = [];
  let next = 0;
  while (next < blocks.length || queue.length > 0) {
    while (queue.length <= ahead && next < blocks.length) {
      const p = cache.get(blocks[next++]!);
      p.catch(() => undefined); // awaited in order below; a failure surfaces there
      queue.push(p);
    }
    yield await queue.shift()!;
  }
}
