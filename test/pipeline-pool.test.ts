// The worker pool: chunks through compression, encryption and erasure coding on worker
// threads, buffers moved by transfer. The worker runs from dist/: build first (npm test does).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG_BYTES } from '../src/pipeline/encrypt.js';
import { newDataKey } from '../src/pipeline/keys.js';
import { PipelinePool, type EncodedChunk } from '../src/pipeline/pool.js';
import { shardCapacity } from '../src/pipeline/shards.js';
import { expectRejects, textBytes } from './helpers/pipeline.js';

const MiB = 1 << 20;

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
    return pool.decode({
      ...chunk,
      shards,
      dataKey,
      aadObject,
      aadIndex: 0,
      k,
      m,
      plainSize: plain.length,
      ...overrides,
    });
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
    expect(buffer.byteLength).toBe(shardCapacity(MiB + 3, 4, 2));
    chunk.shards.forEach((shard, i) => {
      expect(shard.buffer).toBe(buffer);
      expect(shard.byteOffset).toBe(i * chunk.shardSize);
    });
  });

  it('reuses the plaintext buffer and a released shard set for the next chunk, bytes intact', async () => {
    const fresh = new PipelinePool({ threads: 1 });
    try {
      const size = 4 * MiB;
      const random = randomBytes(size);
      const first = fresh.chunkBuffer(size);
      random.copy(first);
      const a = await fresh.encode({ plain: first, dataKey, aadObject, aadIndex: 0, k: 4, m: 2 });
      // The worker handed the plaintext's memory back; the shards are the caller's until released.
      expect(fresh.pooledBytes).toEqual({ chunks: size, shardSets: 0 });
      a.release();
      a.release(); // once only: the same memory must never go to two chunks
      expect(fresh.pooledBytes).toEqual({ chunks: size, shardSets: shardCapacity(size, 4, 2) });

      // Text now, in the memory random data left: compressed, shorter, the padding zeroed.
      const text = textBytes(size);
      const second = fresh.chunkBuffer(size);
      expect(fresh.pooledBytes.chunks).toBe(0);
      text.copy(second);
      const b = await fresh.encode({ plain: second, dataKey, aadObject, aadIndex: 1, k: 4, m: 2 });
      expect(fresh.pooledBytes.shardSets).toBe(0);
      expect(b.compressed).toBe(true);
      expect(b.shards[0].buffer.byteLength).toBe(shardCapacity(size, 4, 2));
      const request = { ...b, dataKey, aadObject, aadIndex: 1, k: 4, m: 2, plainSize: size };
      const healthy = await fresh.decode({ ...request, shards: b.shards.map((s) => Buffer.from(s)) });
      expect(Buffer.compare(healthy.plain, text)).toBe(0);
      // Parity computed over the reused memory rebuilds the data shards.
      const rebuilt = await fresh.decode({
        ...request,
        shards: [null, null, ...b.shards.slice(2).map((s) => Buffer.from(s))],
      });
      expect(Buffer.compare(rebuilt.plain, text)).toBe(0);
      expect(rebuilt.bad).toEqual([0, 1]);
    } finally {
      await fresh.close();
    }
  });

  it("decodes in a thread reusing its join buffer: an earlier chunk's plaintext stays intact", async () => {
    // threads: 0 transfers nothing, so a result that aliased the reused buffer would change.
    const inline = new PipelinePool({ threads: 0 });
    const chunks = [randomBytes(MiB + 7), textBytes(MiB), randomBytes(MiB + 7)];
    const encoded = await Promise.all(
      chunks.map((plain, aadIndex) =>
        inline.encode({ plain: Buffer.from(plain), dataKey, aadObject, aadIndex, k: 4, m: 2 }),
      ),
    );
    const decoded = [];
    for (const [aadIndex, chunk] of encoded.entries()) {
      // The last one is rebuilt (a data shard missing): it goes through the join buffer too.
      const shards = aadIndex === 2 ? [null, ...chunk.shards.slice(1)] : chunk.shards;
      const request = { ...chunk, shards, dataKey, aadObject, aadIndex, k: 4, m: 2 };
      decoded.push(await inline.decode({ ...request, plainSize: chunks[aadIndex]!.length }));
    }
    decoded.forEach(({ plain }, i) => expect(Buffer.compare(plain, chunks[i]!)).toBe(0));
    await inline.close();
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
      const cases = [
        range(0, m),
        range(k, m),
        range(k - m / 2, m),
        ...Array.from({ length: 6 }, () => randomSubset(k + m, m)),
      ];
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
