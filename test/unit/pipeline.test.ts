// The pipeline's parts in the calling thread: chunker, compression, encryption, keys.
// (test/pipeline-pool.test.ts runs them on the worker pool, from dist/.)
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkStream, DEFAULT_CHUNK_SIZE } from '../../src/pipeline/chunker.js';
import { ChunkCompressor } from '../../src/pipeline/compress.js';
import { decryptChunk, encryptChunk, TAG_BYTES } from '../../src/pipeline/encrypt.js';
import {
  checkMasterKey,
  keyCheckValue,
  loadOrCreateMasterKey,
  MASTER_KEY_ENV,
  newDataKey,
  unwrapKey,
  wrapKey,
} from '../../src/pipeline/keys.js';
import { expectCode, expectRejects, textBytes } from '../helpers/pipeline.js';

const MiB = 1 << 20;

async function* pieces(sizes: number[], source: Buffer): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (const size of sizes) {
    yield source.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

describe('chunkStream', () => {
  const size = 4096;

  /** Cuts `total` bytes arriving in pieces of `pieceSizes` (cycled) and checks every chunk. */
  async function expectChunks(total: number, pieceSizes: number[]): Promise<void> {
    const input = randomBytes(total);
    const sizes: number[] = [];
    for (let left = total, i = 0; left > 0; i++) {
      sizes.push(Math.min(left, pieceSizes[i % pieceSizes.length]));
      left -= sizes[sizes.length - 1];
    }
    const chunks = await collect(chunkStream(pieces(sizes, input), size));
    expect(chunks.length).toBe(Math.ceil(total / size));
    chunks.forEach((chunk, i) => {
      expect(chunk.length).toBe(i < chunks.length - 1 ? size : total - i * size);
      expect(chunk.byteOffset).toBe(0);
      expect(chunk.buffer.byteLength).toBe(chunk.length);
    });
    expect(Buffer.compare(Buffer.concat(chunks), input)).toBe(0);
  }

  for (const total of [0, 1, size - 1, size, size + 1]) {
    it(`cuts ${total} bytes given in one piece`, () => expectChunks(total, [total]));
    it(`cuts ${total} bytes given byte by byte and in odd pieces`, async () => {
      await expectChunks(total, [1]);
      await expectChunks(total, [7, 1000, 3]);
    });
  }

  it('cuts many chunks from odd-sized pieces', () => expectChunks(10 * size + 123, [1, 4095, 4097, 8191, 13, 12_289]));

  it('uses 4 MiB chunks by default', async () => {
    const chunks = await collect(chunkStream(pieces([3 * MiB, 3 * MiB], randomBytes(6 * MiB))));
    expect(chunks.map((c) => c.length)).toEqual([DEFAULT_CHUNK_SIZE, 6 * MiB - DEFAULT_CHUNK_SIZE]);
  });

  it('hands on a piece that is exactly one chunk at a boundary without copying it', async () => {
    const whole = [Buffer.alloc(size, 1), Buffer.alloc(size, 2), Buffer.alloc(10, 3)];
    async function* source(): AsyncGenerator<Uint8Array> {
      yield* whole;
    }
    const chunks = await collect(chunkStream(source(), size));
    chunks.forEach((chunk, i) => expect(chunk.buffer).toBe(whole[i].buffer));
  });

  it('copies slices of a shared buffer into chunks of their own', async () => {
    const input = randomBytes(3 * size);
    const chunks = await collect(chunkStream(pieces([3 * size], input), size));
    chunks.forEach((chunk) => expect(chunk.buffer).not.toBe(input.buffer));
  });

  it('pulls no more than one chunk ahead of its consumer', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield randomBytes(1000);
      }
    }
    const iterator = chunkStream(source(), size);
    await iterator.next();
    expect(pulled).toBe(Math.ceil(size / 1000));
    await iterator.return();
  });
});

describe('ChunkCompressor', () => {
  const zstd = new ChunkCompressor();

  it('keeps random data raw', () => {
    const plain = randomBytes(MiB);
    const result = zstd.compress(plain);
    expect(result.compressed).toBe(false);
    expect(result.data).toBe(plain);
  });

  it('trusts samples of a large chunk: random where they fall, text elsewhere, it stays raw', () => {
    const plain = textBytes(4 * MiB);
    const stride = Math.floor((plain.length - 16384) / 3);
    for (let i = 0; i < 4; i++) randomBytes(16384).copy(plain, i * stride);
    expect(zstd.compress(plain).compressed).toBe(false);
    // Text at one sample is enough for zstd to be run over the whole chunk.
    textBytes(16384).copy(plain, stride);
    const result = zstd.compress(plain);
    expect(result.compressed).toBe(true);
    expect(Buffer.compare(zstd.decompress(result.data, plain.length), plain)).toBe(0);
  });

  it('shrinks text and restores it', () => {
    const plain = textBytes(MiB + 17);
    const result = zstd.compress(plain);
    expect(result.compressed).toBe(true);
    expect(result.data.length).toBeLessThan(plain.length / 2);
    expect(Buffer.compare(zstd.decompress(result.data, plain.length), plain)).toBe(0);
  });

  it('refuses output of another size than recorded', () => {
    const plain = textBytes(10_000);
    const { data } = zstd.compress(plain);
    expectCode(() => zstd.decompress(data, plain.length - 1), 'MANIFEST_MISMATCH');
    expectCode(() => zstd.decompress(data, plain.length + 1), 'MANIFEST_MISMATCH');
  });
});

describe('chunk encryption', () => {
  const key = newDataKey();
  const plain = textBytes(100_000);
  const stored = Buffer.alloc(plain.length + TAG_BYTES + 5, 0xee);
  const nonce = encryptChunk(key, 'a1b2', 7, plain, stored);
  const sealed = stored.subarray(0, plain.length + TAG_BYTES);

  it('round-trips and leaves the rest of the output alone', () => {
    expect(nonce.length).toBe(12);
    expect(Buffer.compare(decryptChunk(key, nonce, 'a1b2', 7, sealed), plain)).toBe(0);
    expect(stored.subarray(sealed.length).every((b) => b === 0xee)).toBe(true);
  });

  it('uses a new nonce each time', () => {
    const again = Buffer.alloc(sealed.length);
    expect(encryptChunk(key, 'a1b2', 7, plain, again).equals(nonce)).toBe(false);
    expect(again.equals(sealed)).toBe(false);
  });

  it('rejects another chunk index, another object, a wrong key or an altered byte', () => {
    expectCode(() => decryptChunk(key, nonce, 'a1b2', 8, sealed), 'CHUNK_AUTH_FAILED');
    expectCode(() => decryptChunk(key, nonce, 'a1b3', 7, sealed), 'CHUNK_AUTH_FAILED');
    expectCode(() => decryptChunk(newDataKey(), nonce, 'a1b2', 7, sealed), 'CHUNK_AUTH_FAILED');
    for (const at of [0, 5000, sealed.length - 1]) {
      const flipped = Buffer.from(sealed);
      flipped[at] ^= 0x01;
      expectCode(() => decryptChunk(key, nonce, 'a1b2', 7, flipped), 'CHUNK_AUTH_FAILED');
    }
    expectCode(() => decryptChunk(key, nonce, 'a1b2', 7, sealed.subarray(0, sealed.length - 1)), 'CHUNK_AUTH_FAILED');
  });
});

describe('keys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qstor-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('wraps and unwraps a data key, and refuses another master key', () => {
    const master = randomBytes(32);
    const dataKey = newDataKey();
    const wrapped = wrapKey(master, dataKey);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(wrapKey(master, dataKey).equals(wrapped)).toBe(false); // random nonce
    expect(unwrapKey(master, wrapped).equals(dataKey)).toBe(true);
    expectCode(() => unwrapKey(randomBytes(32), wrapped), 'WRONG_MASTER_KEY');
    expectCode(() => unwrapKey(master, wrapped.subarray(1)), 'INVALID_WRAPPED_KEY');
  });

  it('tells a store that the master key changed', () => {
    const master = randomBytes(32);
    const check = keyCheckValue(master);
    expect(() => checkMasterKey(master, check)).not.toThrow();
    expectCode(() => checkMasterKey(randomBytes(32), check), 'WRONG_MASTER_KEY');
  });

  it('creates a 0600 key file once and reads it back', async () => {
    const file = join(dir, 'sub', 'master.key');
    const created = await loadOrCreateMasterKey(file, {});
    expect(created.source).toBe('created');
    expect(created.key.length).toBe(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(created.key.toString('hex'));
    const again = await loadOrCreateMasterKey(file, {});
    expect(again).toEqual({ key: created.key, source: 'file' });
  });

  it('refuses a key file that group or others can read', async () => {
    const file = join(dir, 'open.key');
    await loadOrCreateMasterKey(file, {});
    await chmod(file, 0o644);
    await expectRejects(loadOrCreateMasterKey(file, {}), 'KEY_FILE_PERMISSIONS');
  });

  it('takes the key from the environment first', async () => {
    const hex = randomBytes(32).toString('hex');
    const file = join(dir, 'unused.key');
    expect(await loadOrCreateMasterKey(file, { [MASTER_KEY_ENV]: hex })).toEqual({
      key: Buffer.from(hex, 'hex'),
      source: 'env',
    });
    await expect(stat(file)).rejects.toThrow();
    await expectRejects(loadOrCreateMasterKey(file, { [MASTER_KEY_ENV]: hex.slice(2) }), 'INVALID_MASTER_KEY');
  });
});
