/**
 * The CPU pipeline: each stage on one core (the calling thread), then PipelinePool end to end
 * (compress, encrypt, erasure-code 4+2 and back) with 1 and 2 worker threads.
 *
 *   node dist/bench/pipeline.js [--json FILE] [--samples N]
 *
 * MB/s counts bytes (10^6 per MB) per second, median of the samples: a stage's input bytes,
 * the pool's plaintext bytes. Chunks are 4 MiB of mixed data: half random (zstd keeps it
 * raw), half text-like (zstd shrinks it).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ReedSolomonCodec } from '../src/erasure/reed-solomon.js';
import { chunkStream } from '../src/pipeline/chunker.js';
import { ChunkCompressor } from '../src/pipeline/compress.js';
import { decryptChunk, encryptChunk, TAG_BYTES } from '../src/pipeline/encrypt.js';
import { newDataKey } from '../src/pipeline/keys.js';
import { PipelinePool, type EncodedChunk } from '../src/pipeline/pool.js';
import { allocateShards, encodeShards, joinShards } from '../src/pipeline/shards.js';
import { median, textLike, throughputSample } from './common.js';

const MiB = 1 << 20;
const CHUNK = 4 * MiB;
const K = 4;
const M = 2;
const MIN_SAMPLE_MS = 200;
/** Chunks per pool sample, and how many are in flight per worker (so none waits on the caller). */
const POOL_CHUNKS = 24;
const IN_FLIGHT_PER_THREAD = 2;

function mixedChunk(): Buffer {
  return Buffer.concat([randomBytes(CHUNK / 2), textLike(CHUNK / 2)]);
}

/** Median MB/s of `op` over `bytes` plaintext, each sample repeating it for MIN_SAMPLE_MS. */
async function measure(op: () => unknown, bytes: number, samples: number): Promise<number> {
  const results: number[] = [];
  for (let s = 0; s <= samples; s++) {
    const mbps = await throughputSample(op, bytes, MIN_SAMPLE_MS);
    if (s > 0) results.push(mbps); // sample 0 warms up
  }
  return median(results);
}

interface StageRow {
  stage: string;
  mbps: number;
}

async function stages(samples: number): Promise<StageRow[]> {
  const plain = mixedChunk();
  const key = newDataKey();
  const zstd = new ChunkCompressor();
  const { data: compressed } = zstd.compress(plain);
  const packed = Buffer.from(compressed); // compress() reuses its output buffer
  const sealed = Buffer.allocUnsafe(packed.length + TAG_BYTES);
  const nonce = encryptChunk(key, 'bench', 0, packed, sealed);
  const scratch = Buffer.allocUnsafe(sealed.length);
  const codec = new ReedSolomonCodec(K, M);
  const set = allocateShards(plain.length, K, M);
  new Uint8Array(set.buffer).set(plain);
  const crcs = encodeShards(codec, set.shards);
  const lost = set.shards.map((shard, i) => (i < M ? null : shard));
  const stream = randomBytes(16 * CHUNK);
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < stream.length; offset += 64 * 1024) yield stream.subarray(offset, offset + 64 * 1024);
  }
  const rows: Array<[string, () => unknown, number]> = [
    [
      'chunk (64 KiB pieces into 4 MiB chunks)',
      async () => {
        for await (const chunk of chunkStream(pieces())) void chunk;
      },
      stream.length,
    ],
    [`zstd -1 compress (ratio ${(plain.length / packed.length).toFixed(2)})`, () => zstd.compress(plain), plain.length],
    ['zstd -1 decompress', () => zstd.decompress(packed, plain.length), plain.length],
    ['AES-256-GCM encrypt', () => encryptChunk(key, 'bench', 0, packed, scratch), packed.length],
    ['AES-256-GCM decrypt', () => decryptChunk(key, nonce, 'bench', 0, sealed), packed.length],
    [`RS ${K}+${M} encode + CRC32C of the shards`, () => encodeShards(codec, set.shards), plain.length],
    [
      `RS ${K}+${M} join, ${M} data shards lost (CRC, rebuild)`,
      () => joinShards(codec, lost, crcs, plain.length, set.shardSize),
      plain.length,
    ],
  ];
  const out: StageRow[] = [];
  for (const [stage, op, bytes] of rows) out.push({ stage, mbps: await measure(op, bytes, samples) });
  return out;
}

/** Runs `task` over `count` items with `parallel` in flight; returns the elapsed ms. */
async function timed<T>(items: T[], parallel: number, task: (item: T) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return performance.now() - start;
}

interface PoolRow {
  threads: number;
  encodeMbps: number;
  decodeMbps: number;
}

async function poolRun(threads: number, rounds: number): Promise<PoolRow> {
  const pool = new PipelinePool({ threads });
  const dataKey = newDataKey();
  const template = mixedChunk();
  const parallel = threads * IN_FLIGHT_PER_THREAD;
  const encodes: number[] = [];
  const decodes: number[] = [];
  try {
    for (let r = 0; r <= rounds; r++) {
      // encode() and decode() take their input buffers away: fresh ones every round.
      const inputs = Array.from({ length: POOL_CHUNKS }, (_, i) => ({ plain: Buffer.from(template), aadIndex: i }));
      const encoded: EncodedChunk[] = [];
      const encodeMs = await timed(inputs, parallel, async ({ plain, aadIndex }) => {
        encoded[aadIndex] = await pool.encode({ plain, dataKey, aadObject: 'bench', aadIndex, k: K, m: M });
      });
      // As shards arrive from zdb: one buffer each (copied here, outside the clock).
      const reads = encoded.map((chunk, aadIndex) => ({
        chunk,
        aadIndex,
        shards: chunk.shards.map((s) => new Uint8Array(s)),
      }));
      const decodeMs = await timed(reads, parallel, ({ chunk, aadIndex, shards }) =>
        pool.decode({ ...chunk, shards, dataKey, aadObject: 'bench', aadIndex, k: K, m: M, plainSize: CHUNK }),
      );
      if (r > 0) {
        encodes.push((POOL_CHUNKS * CHUNK) / (encodeMs * 1000));
        decodes.push((POOL_CHUNKS * CHUNK) / (decodeMs * 1000));
      }
    }
  } finally {
    await pool.close();
  }
  return { threads, encodeMbps: median(encodes), decodeMbps: median(decodes) };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

function printTable(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const line of [header, ...lines]) {
    console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, samples: { type: 'string', default: '5' } } });
  const samples = Number(values.samples);
  // The machines are shared: the load says how far to trust the worker-scaling figures.
  const load = loadavg()[0];
  console.log(
    `pipeline, MB/s, median of ${samples}, 4 MiB chunks of mixed data (node ${process.version}, load ${load.toFixed(1)})\n`,
  );
  const stageRows = await stages(samples);
  printTable(
    ['stage, one core', 'MB/s'],
    stageRows.map((r) => [r.stage, fmt(r.mbps)]),
  );
  const poolRows = [await poolRun(1, samples), await poolRun(2, samples)];
  console.log('');
  printTable(
    [`PipelinePool ${K}+${M}, end to end`, 'encode MB/s', 'decode MB/s'],
    poolRows.map((r) => [`${r.threads} worker${r.threads > 1 ? 's' : ''}`, fmt(r.encodeMbps), fmt(r.decodeMbps)]),
  );
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify({ unit: 'MB/s', samples, load, chunkSize: CHUNK, stages: stageRows, pool: poolRows }, null, 2),
    );
  }
}

await main();
