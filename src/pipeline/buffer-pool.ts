/**
 * Free ArrayBuffers kept for reuse, up to `maxBytes` in all, the oldest dropped first.
 *
 * Every 4 MiB chunk and every shard set used to be a fresh allocation, garbage once written:
 * V8 counts each as external memory and runs a full collection every few tens of MiB of them
 * (GC was 2.5 CPU-s per GiB of a PUT). The store hands a buffer back once nothing refers to it
 * any more (the worker returned it, or every backend acknowledged its shard) and the next chunk
 * of the same size takes it. Odd sizes (an object's last chunk) age out. A detached buffer
 * (transferred away) is refused: it has no memory left.
 */
export class BufferPool {
  /** Oldest first; a handful of entries, so a linear search is cheapest. */
  private readonly free: ArrayBuffer[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A free buffer of exactly `size` bytes, or undefined. Its contents are left as they were. */
  take(size: number): ArrayBuffer | undefined {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i]!.byteLength === size) {
        this.bytes -= size;
        return this.free.splice(i, 1)[0];
      }
    }
    return undefined;
  }

  /** Keeps `buffer` for a later take(); the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size === 0 || size > this.maxBytes || this.free.includes(buffer)) return;
    this.free.push(buffer);
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.bytes -= this.free.shift()!.byteLength;
  }

  /** Bytes held free. */
  get heldBytes(): number {
    return this.bytes;
  }
}
