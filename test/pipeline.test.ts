import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkStream, DEFAULT_CHUNK_SIZE } from '../src/pipeline/chunker.js';
import { ChunkCompressor } from '../src/pipeline/compress.js';
import { decryptChunk, encryptChunk, TAG_BYTES } from '../src/pipeline/encrypt.js';
import { PipelineError, type PipelineErrorCode } from '../src/pipeline/errors.js';
import {
  checkMasterKey,
  keyCheckValue,
  loadOrCreateMasterKey,
  MASTER_KEY_ENV,
  newDataKey,
  unwrapKey,
  wrapKey,
} from '../src/pipeline/keys.js';
import { PipelinePool, type EncodedChunk } from '../src/pipeline/pool.js';

const MiB = 1 << 20;

function expectCode(action: () => unknown, code: PipelineErrorCode): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PipelineError);
  expect((caught as PipelineError).code).toBe(code);
}

async function expectRejects(promise: Promise<unknown>, code: PipelineErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PipelineError);
  expect((error as PipelineError).code).toBe(code);
}

/** Compressible bytes: words from a small vocabulary, like logs or JSON. */
function textBytes(size: number): Buffer {
  const words = ['object', 'bucket', 'shard', 'backend', 'farmer', 'chunk', 'manifest', '{"key":', '42,', '\n'];
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; offset < size; i++) offset += out.write(words[(i * 7 + (i >> 3)) % words.length] + ' ', offset);
  return out;
}

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

describe('PipelinePool', () => {
  let pool: PipelinePool;
  beforeAll(() => {
    pool = new PipelinePool({ threads: 2 });
  });
  afterAll(() => pool.close());

  const dataKey = newDataKey();
  const aadObject = 'c0ffee';

  interface Encoded {
    plain: Buffer;
    chunk: EncodedChunk;
    k: number;
    m: number;
  }

  async function encode(plain: Buffer, k: number, m: number, aadIndex = 0): Promise<Encoded> {
    const chunk = await pool.encode({ plain: Buffer.from(plain), dataKey, aadObject, aadIndex, k, m });
    return { plain, chunk, k, m };
  }

  function decode(
    { plain, chunk, k, m }: Encoded,
    shards: (Uint8Array | null)[] = chunk.shards,
    overrides: { dataKey?: Buffer; aadIndex?: number } = {},
  ): ReturnType<PipelinePool['decode']> {
    return pool.decode({ ...chunk, shards, dataKey, aadObject, aadIndex: 0, k, m, plainSize: plain.length, ...overrides });
  }

  /** The shards with those at `lose` gone: even positions in the list missing, odd ones corrupted. */
  function damage(shards: Uint8Array[], lose: number[]): (Uint8Array | null)[] {
    return shards.map((shard, i) => {
      const at = lose.indexOf(i);
      if (at < 0) return shard;
      if (at % 2 === 0) return null;
      const corrupt = Buffer.from(shard);
      corrupt[corrupt.length >> 1] ^= 0x80;
      return corrupt;
    });
  }

  const geometries: Array<[number, number]> = [
    [4, 2],
    [8, 4],
    [16, 8],
  ];
  for (const [k, m] of geometries) {
    for (const size of [1, 1_000_003, 4 * MiB]) {
      for (const kind of ['random', 'text'] as const) {
        it(`round-trips ${size} ${kind} bytes through ${k}+${m}`, async () => {
          const plain = kind === 'random' ? randomBytes(size) : textBytes(size);
          const encoded = await encode(plain, k, m);
          const { chunk } = encoded;
          expect(chunk.shards.length).toBe(k + m);
          expect(chunk.crcs.length).toBe(k + m);
          expect(chunk.compressed).toBe(kind === 'text' && size > 1);
          expect(chunk.shardSize).toBe(Math.ceil(chunk.storedSize / k));
          if (!chunk.compressed) expect(chunk.storedSize).toBe(size + TAG_BYTES);
          chunk.shards.forEach((shard) => expect(shard.length).toBe(chunk.shardSize));
          const { plain: out, bad } = await decode(encoded);
          expect(bad).toEqual([]);
          expect(Buffer.compare(out, plain)).toBe(0);
        });
      }
    }
  }

  it('transfers the plaintext and hands back all shards in one buffer', async () => {
    const plain = randomBytes(MiB + 3);
    const chunk = await pool.encode({ plain, dataKey, aadObject, aadIndex: 0, k: 4, m: 2 });
    expect(plain.buffer.byteLength).toBe(0); // detached: moved, not copied
    expect(plain.length).toBe(0);
    const buffer = chunk.shards[0].buffer;
    expect(buffer.byteLength).toBe(6 * chunk.shardSize);
    chunk.shards.forEach((shard, i) => {
      expect(shard.buffer).toBe(buffer);
      expect(shard.byteOffset).toBe(i * chunk.shardSize);
    });
  });

  it('transfers shards that own their buffer to decode', async () => {
    const encoded = await encode(textBytes(300_000), 4, 2);
    const owned = encoded.chunk.shards.map((shard) => new Uint8Array(shard));
    const { plain } = await decode(encoded, owned);
    expect(Buffer.compare(plain, encoded.plain)).toBe(0);
    owned.forEach((shard) => expect(shard.buffer.byteLength).toBe(0));
  });

  function* subsets(n: number, size: number, from = 0, chosen: number[] = []): Generator<number[]> {
    if (chosen.length === size) {
      yield chosen;
      return;
    }
    for (let i = from; i < n; i++) yield* subsets(n, size, i + 1, [...chosen, i]);
  }

  function randomSubset(n: number, size: number): number[] {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, size).sort((a, b) => a - b);
  }

  it('decodes 4+2 with every set of up to 2 shards missing or corrupt', async () => {
    const encoded = await encode(textBytes(1_000_003), 4, 2);
    const cases = [1, 2].flatMap((count) => [...subsets(6, count)]);
    expect(cases.length).toBe(21);
    for (const lose of cases) {
      const { plain, bad } = await decode(encoded, damage(encoded.chunk.shards, lose));
      expect(bad, `lost ${lose}`).toEqual(lose);
      expect(Buffer.compare(plain, encoded.plain), `lost ${lose}`).toBe(0);
    }
  });

  for (const [k, m] of geometries.slice(1)) {
    it(`decodes ${k}+${m} with m shards missing or corrupt`, async () => {
      const encoded = await encode(randomBytes(4 * MiB), k, m);
      const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
      const cases = [range(0, m), range(k, m), range(k - m / 2, m), ...Array.from({ length: 6 }, () => randomSubset(k + m, m))];
      for (const lose of cases) {
        const { plain, bad } = await decode(encoded, damage(encoded.chunk.shards, lose));
        expect(bad, `lost ${lose}`).toEqual(lose);
        expect(Buffer.compare(plain, encoded.plain), `lost ${lose}`).toBe(0);
      }
    });
  }

  it('fails with TOO_FEW_SHARDS past m shards lost', async () => {
    for (const [k, m] of geometries) {
      const encoded = await encode(textBytes(100_000), k, m);
      await expectRejects(decode(encoded, damage(encoded.chunk.shards, randomSubset(k + m, m + 1))), 'TOO_FEW_SHARDS');
    }
  });

  it('refuses a geometry the codec does not support', async () => {
    const plain = randomBytes(1000);
    await expectRejects(pool.encode({ plain, dataKey, aadObject, aadIndex: 0, k: 17, m: 2 }), 'INVALID_ARGUMENT');
  });

  it('reports a wrong data key or chunk index from the worker as CHUNK_AUTH_FAILED', async () => {
    const encoded = await encode(textBytes(100_000), 4, 2);
    await expectRejects(decode(encoded, encoded.chunk.shards, { dataKey: newDataKey() }), 'CHUNK_AUTH_FAILED');
    await expectRejects(decode(encoded, encoded.chunk.shards, { aadIndex: 1 }), 'CHUNK_AUTH_FAILED');
  });
});
