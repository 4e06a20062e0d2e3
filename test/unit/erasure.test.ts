import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import subspace from '@subspace/reed-solomon-erasure.wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../../src/erasure/codec.js';
import { ErasureError } from '../../src/erasure/errors.js';
import type { KernelVariant } from '../../src/erasure/kernel-files.js';
import { ReedSolomonCodec } from '../../src/erasure/reed-solomon.js';
import { bestKernelVariant, GfKernel } from '../../src/erasure/wasm-kernel.js';

// Node 20 runs relaxed SIMD only behind this flag; turned on in this test process so that
// both kernel variants are checked against the reference.
if (bestKernelVariant() === 'simd128') setFlagsFromString('--experimental-wasm-relaxed-simd');

type Reference = Awaited<ReturnType<typeof subspace.ReedSolomonErasure.fromCurrentDirectory>>;
let reference: Reference;

beforeAll(async () => {
  reference = await subspace.ReedSolomonErasure.fromCurrentDirectory();
});

/** k+m shards of `size` bytes: random data, parity from the Rust crate's wasm build. */
function referenceShards(k: number, m: number, size: number): Uint8Array[] {
  const all = new Uint8Array(size * (k + m));
  all.set(randomBytes(size * k));
  expect(reference.encode(all, k, m)).toBe(subspace.ReedSolomonErasure.RESULT_OK);
  return Array.from({ length: k + m }, (_, i) => all.slice(i * size, (i + 1) * size));
}

/** Byte comparison of shard lists (deep equality is far too slow on MiB shards). */
function expectSameShards(actual: Uint8Array[], expected: Uint8Array[], label = ''): void {
  expect(actual.length, label).toBe(expected.length);
  actual.forEach((shard, i) => expect(Buffer.compare(shard, expected[i]), `${label} shard ${i}`).toBe(0));
}

function encodeWith(codec: ReedSolomonCodec, data: Uint8Array[], size: number): Uint8Array[] {
  const parity = Array.from({ length: codec.parityShards }, () => new Uint8Array(size).fill(0xa5));
  codec.encode(data, parity);
  return parity;
}

/** Overwrites the shards at `missing` with garbage, reconstructs, and expects the originals back. */
function expectReconstructs(codec: ReedSolomonCodec, original: Uint8Array[], missing: number[]): void {
  const shards = original.map((s) => s.slice());
  for (const i of missing) shards[i].fill(0x5a);
  codec.reconstruct(shards, missing);
  expectSameShards(shards, original, `missing ${missing.join(',')}`);
}

function* subsets(n: number, maxSize: number, from = 0, chosen: number[] = []): Generator<number[]> {
  if (chosen.length > 0) yield chosen;
  if (chosen.length === maxSize) return;
  for (let i = from; i < n; i++) yield* subsets(n, maxSize, i + 1, [...chosen, i]);
}

function randomMissing(total: number, count: number): number[] {
  const indices = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, count);
}

describe.each<KernelVariant>(['simd128', 'relaxed'])(
  '%s kernel against reed-solomon-erasure (Rust, via @subspace wasm)',
  (variant) => {
    let kernel: GfKernel;
    beforeAll(() => {
      kernel = new GfKernel(variant);
    });

    it('gives byte-identical parity and exact reconstruction for every k <= 16, m <= 8', () => {
      for (let k = 1; k <= MAX_DATA_SHARDS; k++) {
        for (let m = 1; m <= MAX_PARITY_SHARDS; m++) {
          const size = 1 + ((k * 37 + m * 101) % 300); // odd sizes, most not multiples of 16
          const shards = referenceShards(k, m, size);
          const codec = new ReedSolomonCodec(k, m, kernel);
          expectSameShards(encodeWith(codec, shards.slice(0, k), size), shards.slice(k), `${k}+${m} size ${size}`);
          expect(codec.verify(shards)).toBe(true);
          for (let lost = 1; lost <= m; lost++) expectReconstructs(codec, shards, randomMissing(k + m, lost));
        }
      }
    });

    it.each([
      [4, 2, 1 << 20],
      [10, 4, (1 << 20) + 7],
      [16, 8, 100_003],
      [4, 2, 17],
      [3, 1, 1],
    ])('matches on %i+%i with %i-byte shards', (k, m, size) => {
      const shards = referenceShards(k, m, size);
      const codec = new ReedSolomonCodec(k, m, kernel);
      expectSameShards(encodeWith(codec, shards.slice(0, k), size), shards.slice(k));
      expectReconstructs(codec, shards, randomMissing(k + m, m));
    });

    it.each([
      [4, 2],
      [10, 4],
    ])('reconstructs every combination of up to m missing shards for %i+%i', (k, m) => {
      const shards = referenceShards(k, m, 333);
      const codec = new ReedSolomonCodec(k, m, kernel);
      let combinations = 0;
      for (const missing of subsets(k + m, m)) {
        expectReconstructs(codec, shards, missing);
        combinations++;
      }
      expect(combinations).toBe(k === 4 ? 21 : 1470);
    });

    it('codecs of different geometries share one kernel without disturbing each other', () => {
      const small = referenceShards(4, 2, 64);
      const large = referenceShards(10, 4, 300_000);
      const a = new ReedSolomonCodec(4, 2, kernel);
      const b = new ReedSolomonCodec(10, 4, kernel);
      expectSameShards(encodeWith(a, small.slice(0, 4), 64), small.slice(4));
      expectSameShards(encodeWith(b, large.slice(0, 10), 300_000), large.slice(10));
      expectSameShards(encodeWith(a, small.slice(0, 4), 64), small.slice(4));
    });
  },
);

describe('ReedSolomonCodec contract', () => {
  const codec = new ReedSolomonCodec(4, 2);

  function errorOf(action: () => void): ErasureError {
    try {
      action();
    } catch (e) {
      if (e instanceof ErasureError) return e;
      throw e;
    }
    throw new Error('expected an ErasureError');
  }

  it('refuses more than m missing shards with TOO_MANY_MISSING', () => {
    const shards = referenceShards(4, 2, 100);
    const error = errorOf(() => codec.reconstruct(shards, [0, 1, 5]));
    expect(error.code).toBe('TOO_MANY_MISSING');
    expect(error.message).toMatch(/3 shards missing, a 4\+2 code recovers at most 2/);
  });

  it('rebuilds only the shards asked for, without touching the other missing ones', () => {
    const shards = referenceShards(4, 2, 1000);
    const damaged = shards.map((s) => s.slice());
    damaged[1].fill(0);
    damaged[5] = new Uint8Array(0); // not fetched: a placeholder
    codec.reconstruct(damaged, [1, 5], [1]);
    expect(Buffer.compare(damaged[1], shards[1])).toBe(0);
    expect(damaged[5].length).toBe(0);
  });

  it('verify finds a flipped bit in data or parity', () => {
    const shards = referenceShards(4, 2, 1000);
    expect(codec.verify(shards)).toBe(true);
    for (const i of [0, 3, 4, 5]) {
      const corrupt = shards.map((s) => s.slice());
      corrupt[i][999] ^= 1;
      expect(codec.verify(corrupt)).toBe(false);
    }
  });

  it('does nothing when no shard is missing, and accepts empty shards', () => {
    const shards = referenceShards(4, 2, 10);
    const copy = shards.map((s) => s.slice());
    codec.reconstruct(copy, []);
    expectSameShards(copy, shards);
    const empty = Array.from({ length: 6 }, () => new Uint8Array(0));
    codec.encode(empty.slice(0, 4), empty.slice(4));
    expect(codec.verify(empty)).toBe(true);
  });

  it('rejects bad geometry, shard counts, lengths and indices with typed errors', () => {
    const shards = referenceShards(4, 2, 10);
    expect(errorOf(() => new ReedSolomonCodec(17, 2)).code).toBe('INVALID_GEOMETRY');
    expect(errorOf(() => new ReedSolomonCodec(4, 0)).code).toBe('INVALID_GEOMETRY');
    expect(errorOf(() => codec.encode(shards.slice(0, 3), shards.slice(4))).code).toBe('SHARD_COUNT');
    expect(errorOf(() => codec.verify([...shards.slice(0, 5), new Uint8Array(11)])).code).toBe('SHARD_SIZE');
    expect(errorOf(() => codec.reconstruct(shards, [6])).code).toBe('INVALID_INDEX');
    expect(errorOf(() => codec.reconstruct(shards, [1, 1])).code).toBe('INVALID_INDEX');
    expect(errorOf(() => codec.reconstruct(shards, [1], [2])).code).toBe('INVALID_INDEX');
  });
});
