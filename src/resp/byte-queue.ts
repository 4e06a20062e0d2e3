/**
 * A queue of received chunks that a RESP parser reads from without concatenating
 * everything it is given: a value that straddles chunks is copied once (take) or handed out
 * as the list of its pieces (takePieces).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // read offset inside chunks[0]
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Byte at position i from the read point, or -1 past the end. */
  peek(i = 0): number {
    let pos = this.head + i;
    for (const c of this.chunks) {
      if (pos < c.length) return c[pos]!;
      pos -= c.length;
    }
    return -1;
  }

  /**
   * Offset (from the read point) of the first "\r\n", or -1. Stops looking after `limit`
   * bytes so a peer cannot make us scan an endless header line.
   */
  indexOfCrlf(limit: number): number {
    let base = 0;
    let prevCr = false;
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!;
      const start = ci === 0 ? this.head : 0;
      if (prevCr && c[start] === 10) return base - 1;
      const at = c.indexOf(13, start);
      let idx = at;
      while (idx !== -1) {
        if (idx + 1 < c.length) {
          if (c[idx + 1] === 10) return base + idx - start;
          idx = c.indexOf(13, idx + 1);
        } else break;
      }
      const span = c.length - start;
      prevCr = c[c.length - 1] === 13;
      base += span;
      if (base > limit) return -1;
    }
    return -1;
  }

  /** Remove and return the next n bytes; a view when they lie in one chunk, unless `copy`. */
  take(n: number, copy = false): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (!copy && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advanceWithin(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      const want = Math.min(avail, n - filled);
      c.copy(out, filled, this.head, this.head + want);
      filled += want;
      this.advanceWithin(want);
    }
    return out;
  }

  /** Moves every queued byte (at most out.length) to the start of `out`; returns how many. */
  copyOut(out: Buffer): number {
    const n = Math.min(this.length, out.length);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = Math.min(c.length - this.head, n - filled);
      c.copy(out, filled, this.head, this.head + want);
      filled += want;
      this.advanceWithin(want);
    }
    return n;
  }

  /** If `chunk` is still queued (it can only be the last), replaces what is left of it by a copy: its memory is about to be reused. */
  own(chunk: Buffer): void {
    const i = this.chunks.length - 1;
    if (i < 0 || this.chunks[i] !== chunk) return;
    const start = i === 0 ? this.head : 0;
    this.chunks[i] = Buffer.from(this.chunks[i]!.subarray(start));
    if (i === 0) this.head = 0;
  }

  /** How many chunks the next n bytes span. */
  chunksSpanned(n: number): number {
    let count = 0;
    let left = n + this.head;
    for (const c of this.chunks) {
      if (left <= 0) break;
      count++;
      left -= c.length;
    }
    return count;
  }

  /** Remove the next n bytes and return them as they arrived: views of the chunks, nothing copied. */
  takePieces(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const c = this.chunks[0]!;
      const step = Math.min(c.length - this.head, n);
      out.push(this.head === 0 && step === c.length ? c : c.subarray(this.head, this.head + step));
      this.advanceWithin(step);
      n -= step;
    }
    return out;
  }

  /** Read a decimal integer line body of `len` bytes (sign allowed) without allocating. */
  readInt(len: number): number {
    let v = 0;
    let neg = false;
    for (let i = 0; i < len; i++) {
      const b = this.peek(i);
      if (i === 0 && b === 45) {
        neg = true;
        continue;
      }
      if (b < 48 || b > 57) return NaN;
      v = v * 10 + (b - 48);
    }
    if (len === 0 || (neg && len === 1)) return NaN;
    this.skip(len);
    return neg ? -v : v;
  }

  skip(n: number): void {
    while (n > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      const step = Math.min(avail, n);
      this.advanceWithin(step);
      n -= step;
    }
  }

  private advanceWithin(n: number): void {
    this.head += n;
    this.length -= n;
    if (this.head >= this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
