/**
 * Buffers cross to worker threads by transferring their ArrayBuffer, which detaches every view
 * of it. That is only safe for a view that is the whole of its ArrayBuffer: a slice of a bigger
 * one (Node's small-Buffer pool, a socket read) shares memory with bytes its owner still uses.
 */
export function ownsWholeBuffer(view: Uint8Array): view is Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

/** Where a chunk's memory comes from: a Buffer of `size` bytes that owns its ArrayBuffer. */
export type ChunkAllocator = (size: number) => Buffer<ArrayBuffer>;

/**
 * The bytes of `parts` (in order, `size` bytes in all) in a Buffer that owns its ArrayBuffer,
 * from `allocate` when they must be copied. allocUnsafeSlow never hands out a slice of the
 * shared pool (Buffer.concat may).
 */
export function ownedBuffer(
  parts: readonly Uint8Array[],
  size: number,
  allocate: ChunkAllocator = Buffer.allocUnsafeSlow,
): Buffer<ArrayBuffer> {
  if (parts.length === 1 && ownsWholeBuffer(parts[0])) return Buffer.from(parts[0].buffer);
  const out = allocate(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** An ArrayBuffer with exactly `view`'s bytes that can be transferred: its own, or a copy. */
export function transferable(view: Uint8Array): ArrayBuffer {
  return ownedBuffer([view], view.length).buffer;
}
