/**
 * Erasure-coding throughput: qstor's wasm SIMD codec beside @ronomon/reed-solomon (native C)
 * and @subspace/reed-solomon-erasure.wasm (the Rust crate, scalar), single core, in one run.
 * Then the scaling of the qstor codec from one piscina worker to two.
 *
 *   node dist/bench/erasure.js [--json FILE] [--samples N]
 *   node --experimental-wasm-relaxed-simd dist/bench/erasure.js ...   (the relaxed kernel on Node 20)
 *
 * MB/s counts data bytes (k x shard size, 10^6 bytes per MB) per second, median of the samples;
 * samples of the three codecs alternate so that load from elsewhere hits them alike.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import subspace from '@subspace/reed-solomon-erasure.wasm';
import { Piscina } from 'piscina';
import { ReedSolomonCodec } from '../src/erasure/reed-solomon.js';
import { bestKernelVariant } from '../src/erasure/wasm-kernel.js';
import { median, throughputSample } from './common.js';

interface Ronomon {
  create(k: number, m: number): unknown;
  encode(
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void;
}

type Op = () => void | Promise<void>;
type Codec = 'qstor' | 'ronomon' | 'subspace';
const CODECS: Codec[] = ['qstor', 'ronomon', 'subspace'];
type Operation = 'encode' | 'reconstruct';

const MiB = 1 << 20;
const CASES: Array<[k: number, m: number, shardSize: number]> = [
  [4, 2, MiB],
  [8, 4, MiB],
  [10, 4, MiB],
  [16, 4, MiB],
  [4, 2, 64 * 1024],
];
/** ISA-L 2.30 (C, AVX-512 + GFNI) encode on this machine, from specs/dependencies.md. */
const ISAL_ENCODE: Record<string, number> = { '4+2': 11_600, '10+4': 8_700 };
/** Reconstruct-2-missing loses data shards 0 and 1, the case that needs a decoding matrix. */
const LOST = [0, 1];
const MIN_SAMPLE_MS = 10;

const ronomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as Ronomon;
const reference = await subspace.ReedSolomonErasure.fromCurrentDirectory();

function bits(indices: number[]): number {
  return indices.reduce((mask, i) => mask | (1 << i), 0);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The operation of one codec on one geometry, with its buffers prepared. */
function makeOp(codec: Codec, operation: Operation, k: number, m: number, size: number): Op {
  const all = Buffer.alloc((k + m) * size);
  all.set(randomBytes(k * size));
  const shards = range(k + m).map((i) => all.subarray(i * size, (i + 1) * size));
  const lost = operation === 'encode' ? range(m).map((j) => k + j) : LOST;
  if (codec === 'qstor') {
    const rs = new ReedSolomonCodec(k, m);
    rs.encode(shards.slice(0, k), shards.slice(k));
    return operation === 'encode'
      ? () => rs.encode(shards.slice(0, k), shards.slice(k))
      : () => rs.reconstruct(shards, LOST);
  }
  if (codec === 'ronomon') {
    const context = ronomon.create(k, m);
    const data = all.subarray(0, k * size);
    const parity = all.subarray(k * size);
    const sources = bits(range(k + m).filter((i) => !lost.includes(i)));
    return () =>
      new Promise<void>((resolve, reject) =>
        ronomon.encode(context, sources, bits(lost), data, 0, data.length, parity, 0, parity.length, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
  }
  const present = range(k + m).map((i) => !lost.includes(i));
  const check = (result: number): void => {
    if (result !== subspace.ReedSolomonErasure.RESULT_OK) throw new Error(`subspace returned ${result}`);
  };
  return operation === 'encode'
    ? () => check(reference.encode(all, k, m))
    : () => check(reference.reconstruct(all, k, m, present));
}

interface Row {
  operation: Operation;
  k: number;
  m: number;
  shardSize: number;
  mbps: Record<Codec, number>;
  vsRonomon: number;
  vsSubspace: number;
  vsIsal: number | null;
}

async function measure(operation: Operation, k: number, m: number, size: number, samples: number): Promise<Row> {
  const ops = CODECS.map((codec) => makeOp(codec, operation, k, m, size));
  const results: number[][] = CODECS.map(() => []);
  for (let s = 0; s <= samples; s++) {
    for (let c = 0; c < ops.length; c++) {
      const mbps = await throughputSample(ops[c]!, k * size, MIN_SAMPLE_MS);
      if (s > 0) results[c].push(mbps); // sample 0 warms up the JIT and the caches
    }
  }
  const [qstor, ron, sub] = results.map(median);
  const isal = operation === 'encode' && size === MiB ? ISAL_ENCODE[`${k}+${m}`] : undefined;
  return {
    operation,
    k,
    m,
    shardSize: size,
    mbps: { qstor, ronomon: ron, subspace: sub },
    vsRonomon: qstor / ron,
    vsSubspace: qstor / sub,
    vsIsal: isal ? qstor / isal : null,
  };
}

/** Scaling runs: encodes of 4+2 at 1 MiB shards per piscina task, and tasks per run. */
const ENCODES_PER_TASK = 16;
const TASKS = 64;
let workerEncode: Op | undefined;

/**
 * The piscina task of the scaling runs: the codec (and so the compiled kernel) is made once
 * per worker thread, as the store's pipeline workers do.
 */
export default function encodeTask(): void {
  workerEncode ??= makeOp('qstor', 'encode', 4, 2, MiB);
  for (let i = 0; i < ENCODES_PER_TASK; i++) void workerEncode();
}

/** Data MB/s of a pool of `threads` piscina workers running TASKS encode tasks. */
async function poolThroughput(threads: number): Promise<number> {
  const pool = new Piscina({ filename: fileURLToPath(import.meta.url), minThreads: threads, maxThreads: threads });
  await Promise.all(range(threads * 2).map(() => pool.run(null))); // start and warm every worker
  const start = performance.now();
  await Promise.all(range(TASKS).map(() => pool.run(null)));
  const elapsed = performance.now() - start;
  await pool.destroy();
  return (TASKS * ENCODES_PER_TASK * 4 * MiB) / (elapsed * 1000);
}

async function scaling(rounds: number): Promise<{ one: number; two: number; ratio: number }> {
  const one: number[] = [];
  const two: number[] = [];
  for (let r = 0; r < rounds; r++) {
    one.push(await poolThroughput(1));
    two.push(await poolThroughput(2));
  }
  return { one: median(one), two: median(two), ratio: median(two) / median(one) };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows: Row[]): void {
  const header = ['operation', 'k+m', 'shard', 'qstor', 'ronomon', 'subspace', 'x ronomon', 'x subspace', 'of ISA-L'];
  const lines = rows.map((r) => [
    r.operation === 'encode' ? 'encode' : 'reconstruct-2',
    `${r.k}+${r.m}`,
    r.shardSize >= MiB ? `${r.shardSize / MiB} MiB` : `${r.shardSize / 1024} KiB`,
    fmt(r.mbps.qstor),
    fmt(r.mbps.ronomon),
    fmt(r.mbps.subspace),
    fmt(r.vsRonomon, 2),
    fmt(r.vsSubspace, 1),
    r.vsIsal === null ? '' : `${fmt(r.vsIsal * 100)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const line of [header, ...lines]) {
    console.log(line.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, samples: { type: 'string', default: '21' } } });
  const samples = Number(values.samples);
  const kernel = bestKernelVariant();
  console.log(
    `erasure coding, data MB/s, median of ${samples}, single core (node ${process.version}, ${kernel} kernel)`,
  );
  const rows: Row[] = [];
  for (const operation of ['encode', 'reconstruct'] as const) {
    for (const [k, m, size] of CASES) rows.push(await measure(operation, k, m, size, samples));
  }
  printTable(rows);
  const scale = await scaling(5);
  console.log(
    `\nqstor encode 4+2, 1 MiB shards, piscina workers: 1 -> ${fmt(scale.one)} MB/s, ` +
      `2 -> ${fmt(scale.two)} MB/s (${fmt(scale.ratio, 2)}x)`,
  );
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify({ unit: 'MB/s of data shards', kernel, samples, rows, scaling: scale }, null, 2),
    );
  }
}

if (isMainThread) await main();
