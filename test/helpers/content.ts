// Test bytes and streams, with no process, file or socket: the unit tier may import this.

/** Deterministic test content: half random-looking, half text-like. */
export function content(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const half = Math.floor(size / 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < half; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  const text = Buffer.from(`line ${seed}: the quick brown fox jumps over the lazy dog\n`);
  for (let i = half; i < size; i++) out[i] = text[(i - half) % text.length]!;
  return out;
}

export async function* pieces(buf: Buffer, size = 65_537): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}
