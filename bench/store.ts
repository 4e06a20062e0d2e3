/**
 * The object store end to end: PUT and GET of one large object of mixed data through
 * ObjectStore on 6 local zdb backends (durable: --sync), 4+2, then a smaller object read
 * healthy and with 2 of the 6 backends killed (SIGKILL).
 *
 *   node dist/bench/store.js [--size MiB] [--degraded-size MiB] [--repeat N] [--json FILE] [--quick]
 *   node dist/bench/store.js --writes [--size MiB] [--count N] [--heal-gib G] [--json FILE] [--quick]
 *     writes with one backend killed or frozen beside healthy, and the time to redundancy once
 *     the killed one returns (bench/degraded-writes.ts)
 *
 * The store is assembled as `qstor start` does it (defaults of BackendPool, PipelinePool with
 * one thread per core, ObjectStore); only the pool and the backend pool are subclassed here to
 * time every encode/decode and every zdb request, without changing what they do.
 *
 * Figures:
 * - MB/s: object bytes (10^6 per MB) over the wall time of the whole PUT or GET.
 * - CPU-s/GiB: CPU time of the store process (every thread: event loop, pool workers, GC)
 *   plus every zdb process (utime+stime from /proc/<pid>/stat), minus the client's work
 *   (see below), per GiB of object.
 * - peak RSS: the store process. Linux's high-water mark (VmHWM) is reset before each phase
 *   (/proc/self/clear_refs), so it is the exact peak of that phase (getrusage's maxRSS is reset
 *   with it, so the peak over the process's life is kept here: the larger of the VmHWM/maxRSS
 *   before the first reset and every phase's peak); VmRSS is also sampled every 100 ms.
 *
 * The client lives in this process: the body is generated on the fly in 1 MiB pieces
 * (alternately AES-CTR keystream, i.e. random, and text-like lines), never buffered whole. The
 * generator is deterministic, so the expected SHA-256 is computed in an untimed calibration
 * pass before the PUT; the PUT itself does not hash. The GET hashes what comes back (client
 * work, inside the timed section). Both client costs, generation and hashing, are measured
 * alone in the calibration passes and subtracted from CPU-s/GiB; MB/s is as measured, client
 * included. Each 100 MiB GET runs `--repeat` times (default 3) and the median is reported.
 *
 * Then each stage alone, as a ceiling: the same worker pool encoding/decoding chunks of the
 * same data, and zdb storing/serving such shards (on 6 fresh backends), without the rest.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from '../src/cli/backends.js';
import { lowMemoryEnv } from '../src/util/programs.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { newDataKey } from '../src/pipeline/keys.js';
import {
  PipelinePool,
  type DecodedChunk,
  type DecodeRequest,
  type EncodedChunk,
  type EncodeRequest,
} from '../src/pipeline/pool.js';
import type { Backend } from '../src/placement/backend.js';
import { BackendPool } from '../src/store/backend-pool.js';
import type { ShardBackend } from '../src/store/shard-backend.js';
import type { ObjectManifest } from '../src/meta/manifest.js';
import { ObjectStore } from '../src/store/object-store.js';
import { CLK_TCK, fmt, freePorts, machineCpu, printTable, processCpuSeconds, textLike } from './common.js';
import { degradedWritesBench } from './degraded-writes.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const PIECE = MiB;
const BACKENDS = 6;
const K = 4;
const M = 2;
const KILLED = 2;
const BUCKET = 'bench';
const TARGET = { putCpu: 8, getCpu: 4, rssMiB: 300, degradedRatio: 0.7 };

// ------------------------------------------------------------------------ the client's data

const TEMPLATES = Array.from({ length: 8 }, (_, i) => textLike(PIECE, 1000 + i));

interface Body {
  pieces: AsyncGenerator<Buffer>;
  /** Wall ms spent inside the generator (synchronous work of the client). */
  ms(): number;
}

/**
 * `size` bytes in 1 MiB pieces, even pieces random (AES-256-CTR keystream of a seeded key),
 * odd pieces text lines; every piece is a fresh Buffer (the chunker may keep references).
 */
function body(size: number, seed: number): Body {
  let spent = 0;
  async function* gen(): AsyncGenerator<Buffer> {
    const key = createHash('sha256').update(`qstor bench ${seed}`).digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const zeros = Buffer.alloc(PIECE);
    for (let offset = 0, i = 0; offset < size; offset += PIECE, i++) {
      const t = performance.now();
      const n = Math.min(PIECE, size - offset);
      const piece =
        i % 2 === 0
          ? cipher.update(zeros.subarray(0, n))
          : Buffer.from(TEMPLATES[(i >> 1) % TEMPLATES.length]!.subarray(0, n));
      spent += performance.now() - t;
      yield piece;
    }
  }
  return { pieces: gen(), ms: () => spent };
}

interface Calibration {
  sha256: string;
  /** CPU seconds of generating the body alone. */
  generateCpuS: number;
  /** CPU seconds of SHA-256 over the body alone. */
  hashCpuS: number;
}

/** Untimed: the expected digest, and what generating and hashing cost on their own. */
async function calibrate(size: number, seed: number): Promise<Calibration> {
  let c = process.cpuUsage();
  const hash = createHash('sha256');
  for await (const p of body(size, seed).pieces) hash.update(p);
  const both = cpuSeconds(process.cpuUsage(c));
  c = process.cpuUsage();
  for await (const p of body(size, seed).pieces) void p;
  const generateCpuS = cpuSeconds(process.cpuUsage(c));
  return { sha256: hash.digest('hex'), generateCpuS, hashCpuS: Math.max(0, both - generateCpuS) };
}

// ------------------------------------------------------------------------ instruments

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

/** Wall-clock record of one kind of operation: count, summed latency, time with >= 1 under way. */
class Activity {
  count = 0;
  latencyMs = 0;
  busyMs = 0;
  maxOutstanding = 0;
  private outstanding = 0;
  private since = 0;

  async time<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    if (this.outstanding++ === 0) this.since = start;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    try {
      return await fn();
    } finally {
      const now = performance.now();
      this.count++;
      this.latencyMs += now - start;
      if (--this.outstanding === 0) this.busyMs += now - this.since;
    }
  }

  /** Starts a new phase (call with nothing under way). */
  reset(): void {
    this.count = 0;
    this.latencyMs = 0;
    this.busyMs = 0;
    this.maxOutstanding = this.outstanding;
    this.since = performance.now();
  }

  /** Busy time up to now, counting an interval still open. */
  /** What a phase reports of this activity, `wallMs` long, ending at `end`. */
  figures(
    end: number,
    wallMs: number,
  ): { ops: number; busyPct: number; meanMs: number; meanInFlight: number; maxInFlight: number } {
    return {
      ops: this.count,
      busyPct: (100 * this.busyUntil(end)) / wallMs,
      meanMs: this.count ? this.latencyMs / this.count : 0,
      meanInFlight: this.latencyMs / wallMs,
      maxInFlight: this.maxOutstanding,
    };
  }

  busyUntil(now: number): number {
    return this.busyMs + (this.outstanding > 0 ? now - this.since : 0);
  }
}

/** The store's worker pool, timed: latency of encode/decode as the store sees it (queue included). */
class TimedPipelinePool extends PipelinePool {
  readonly encodes = new Activity();
  readonly decodes = new Activity();

  override encode(request: EncodeRequest): Promise<EncodedChunk> {
    return this.encodes.time(() => super.encode(request));
  }

  override decode(request: DecodeRequest): Promise<DecodedChunk> {
    return this.decodes.time(() => super.decode(request));
  }
}

/** The store's backend pool, timed: every zdb request (SET in a PUT, GET in a GET). */
class TimedBackendPool extends BackendPool {
  readonly requests = new Activity();
  failures = 0;

  override run<T>(id: string, op: (c: ShardBackend) => Promise<T>): Promise<T> {
    return this.requests.time(() =>
      super.run(id, op).catch((e: unknown) => {
        this.failures++;
        throw e;
      }),
    );
  }
}

/** CPU ns of each thread of this process (schedstat: exact, not tick-sampled). */
function threadCpuNs(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      out.set(Number(tid), Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

interface DiskCounters {
  name: string;
  sectorsWritten: number;
  sectorsRead: number;
  ioMs: number;
  flushes: number;
}

/** The /proc/diskstats line of the device holding `dir`, if it is a block device listed there. */
function diskOf(dir: string): string | null {
  const dev = fs.statSync(dir).dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  for (const line of fs.readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (Number(f[0]) === major && Number(f[1]) === minor) return f[2]!;
  }
  return null;
}

function diskCounters(name: string | null): DiskCounters | null {
  if (!name) return null;
  for (const line of fs.readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[2] === name) {
      return {
        name,
        sectorsRead: Number(f[5]),
        sectorsWritten: Number(f[9]),
        ioMs: Number(f[12]),
        flushes: Number(f[17] ?? 0),
      };
    }
  }
  return null;
}

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false where that is not allowed. */
function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------ phases

interface Ctx {
  store: ObjectStore;
  pipeline: TimedPipelinePool;
  backends: TimedBackendPool;
  zdbs: LocalBackend[];
  workerTids: Set<number>;
  disk: string | null;
  canResetPeak: boolean;
  /** Highest RSS of the process so far, KiB (VmHWM is reset per phase, and getrusage's maxRSS with it). */
  peakSoFarKiB: number;
}

interface PhaseResult {
  name: string;
  bytes: number;
  wallS: number;
  mbps: number;
  /** Store process (all threads) + zdb, client work subtracted, per GiB. */
  cpuSPerGiB: number;
  cpu: {
    /** Seconds over the phase. */
    storeProcess: number;
    mainThread: number;
    poolThreads: number;
    otherThreads: number;
    zdb: number;
    zdbPerBackend: (number | null)[];
    /** Client work measured alone (calibration), subtracted from the store process. */
    clientSubtracted: number;
    /** Whole machine (all processes, other users included). */
    machineBusy: number;
    machineIowait: number;
  };
  rss: {
    startMiB: number;
    peakMiB: number;
    peakSampledMiB: number;
    peakExact: boolean;
    maxRssLifetimeMiB: number;
    endMiB: number;
  };
  pool: { ops: number; busyPct: number; meanMs: number; meanInFlight: number; maxInFlight: number };
  zdb: { ops: number; busyPct: number; meanMs: number; meanInFlight: number; maxInFlight: number; failures: number };
  disk: { name: string; writtenMB: number; readMB: number; utilPct: number; flushes: number } | null;
  clientGeneratorS: number;
}

async function phase(
  ctx: Ctx,
  name: string,
  bytes: number,
  clientCpuS: number,
  kind: 'encode' | 'decode',
  work: () => Promise<{ clientMs: number }>,
): Promise<PhaseResult> {
  const poolAct = kind === 'encode' ? ctx.pipeline.encodes : ctx.pipeline.decodes;
  poolAct.reset();
  ctx.backends.requests.reset();
  ctx.backends.failures = 0;
  ctx.peakSoFarKiB = Math.max(ctx.peakSoFarKiB, statusKiB('VmHWM'));
  const exact = ctx.canResetPeak && resetPeakRss();
  const startKiB = statusKiB('VmRSS');
  let sampled = startKiB;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, statusKiB('VmRSS'));
  }, 100);
  const zdbBefore = ctx.zdbs.map((z) => processCpuSeconds(z.process.pid!));
  const threadsBefore = threadCpuNs();
  const machineBefore = machineCpu();
  const diskBefore = diskCounters(ctx.disk);
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  let clientMs = 0;
  try {
    ({ clientMs } = await work());
  } finally {
    clearInterval(sampler);
  }
  const t1 = performance.now();
  const storeCpu = cpuSeconds(process.cpuUsage(cpuBefore));
  const machineAfter = machineCpu();
  const diskAfter = diskCounters(ctx.disk);
  const threadsAfter = threadCpuNs();
  const zdbAfter = ctx.zdbs.map((z) => processCpuSeconds(z.process.pid!));
  sampled = Math.max(sampled, statusKiB('VmRSS'));
  const hwm = statusKiB('VmHWM');
  ctx.peakSoFarKiB = Math.max(ctx.peakSoFarKiB, hwm, sampled);
  const wallS = (t1 - t0) / 1000;

  let main = 0;
  let pool = 0;
  for (const [tid, ns] of threadsAfter) {
    const d = (ns - (threadsBefore.get(tid) ?? 0)) / 1e9;
    if (tid === process.pid) main += d;
    else if (ctx.workerTids.has(tid)) pool += d;
  }
  // A backend killed during the phase counts up to its last reading (none here: kills are between phases).
  const zdbPer = zdbAfter.map((a, i) => (a !== null && zdbBefore[i] !== null ? a - zdbBefore[i]! : null));
  const zdb = zdbPer.reduce<number>((s, v) => s + (v ?? 0), 0);
  const zdbAct = ctx.backends.requests;
  const wallMs = t1 - t0;
  return {
    name,
    bytes,
    wallS,
    mbps: bytes / 1e6 / wallS,
    cpuSPerGiB: (Math.max(0, storeCpu - clientCpuS) + zdb) / (bytes / GiB),
    cpu: {
      storeProcess: storeCpu,
      mainThread: main,
      poolThreads: pool,
      otherThreads: Math.max(0, storeCpu - main - pool),
      zdb,
      zdbPerBackend: zdbPer,
      clientSubtracted: clientCpuS,
      machineBusy: machineAfter.busy - machineBefore.busy,
      machineIowait: machineAfter.iowait - machineBefore.iowait,
    },
    rss: {
      startMiB: startKiB / 1024,
      peakMiB: (exact ? hwm : sampled) / 1024,
      peakSampledMiB: sampled / 1024,
      peakExact: exact,
      maxRssLifetimeMiB: ctx.peakSoFarKiB / 1024,
      endMiB: statusKiB('VmRSS') / 1024,
    },
    pool: poolAct.figures(t1, wallMs),
    zdb: { ...zdbAct.figures(t1, wallMs), failures: ctx.backends.failures },
    disk:
      diskBefore && diskAfter
        ? {
            name: diskAfter.name,
            writtenMB: ((diskAfter.sectorsWritten - diskBefore.sectorsWritten) * 512) / 1e6,
            readMB: ((diskAfter.sectorsRead - diskBefore.sectorsRead) * 512) / 1e6,
            utilPct: (100 * (diskAfter.ioMs - diskBefore.ioMs)) / wallMs,
            flushes: diskAfter.flushes - diskBefore.flushes,
          }
        : null,
    clientGeneratorS: clientMs / 1000,
  };
}

async function putPhase(
  ctx: Ctx,
  name: string,
  key: string,
  size: number,
  seed: number,
  cal: Calibration,
): Promise<{ result: PhaseResult; manifest: ObjectManifest }> {
  let manifest: ObjectManifest | undefined;
  const result = await phase(ctx, name, size, cal.generateCpuS, 'encode', async () => {
    const b = body(size, seed);
    const put = await ctx.store.put(BUCKET, key, b.pieces);
    if (put.size !== size) throw new Error(`${name}: stored ${put.size} bytes, sent ${size}`);
    manifest = put.manifest;
    return { clientMs: b.ms() };
  });
  return { result, manifest: manifest! };
}

async function getPhase(ctx: Ctx, name: string, key: string, size: number, cal: Calibration): Promise<PhaseResult> {
  return phase(ctx, name, size, cal.hashCpuS, 'decode', async () => {
    const hash = createHash('sha256');
    let got = 0;
    let clientMs = 0;
    for await (const piece of (await ctx.store.get(BUCKET, key)).body as AsyncIterable<Buffer>) {
      const t = performance.now();
      hash.update(piece);
      got += piece.length;
      clientMs += performance.now() - t;
    }
    const digest = hash.digest('hex');
    if (got !== size || digest !== cal.sha256)
      throw new Error(`${name}: read ${got} bytes, sha256 ${digest}; expected ${size} bytes, sha256 ${cal.sha256}`);
    return { clientMs };
  });
}

// ------------------------------------------------------------------------ stage references

interface Reference {
  stage: string;
  /** Object (plaintext) bytes per second, MB/s. */
  mbps: number;
  /** CPU seconds per GiB of object: the store process, and zdb. */
  storeCpuSPerGiB: number;
  zdbCpuSPerGiB: number;
  note: string;
}

/** Runs `task(i)` for i < count with `parallel` under way; returns wall seconds. */
async function lanes(count: number, parallel: number, task: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return (performance.now() - start) / 1000;
}

/** Wall and CPU (store process, zdb) summed over the timed sections of a stage. */
class Meter {
  private wallMs = 0;
  private store = 0;
  private zdb = 0;

  constructor(private readonly ctx: Ctx) {}

  async time(fn: () => Promise<void>): Promise<void> {
    const zdbBefore = this.ctx.zdbs.map((z) => processCpuSeconds(z.process.pid!) ?? 0);
    const c = process.cpuUsage();
    const t = performance.now();
    await fn();
    this.wallMs += performance.now() - t;
    this.store += cpuSeconds(process.cpuUsage(c));
    this.zdb += this.ctx.zdbs.reduce((s, z, i) => s + ((processCpuSeconds(z.process.pid!) ?? 0) - zdbBefore[i]!), 0);
  }

  result(plainBytes: number): { mbps: number; store: number; zdb: number } {
    return {
      mbps: plainBytes / 1e3 / this.wallMs,
      store: this.store / (plainBytes / GiB),
      zdb: this.zdb / (plainBytes / GiB),
    };
  }
}

/**
 * Each stage alone on the same pool and backends: the worker pool encoding/decoding chunks of
 * the same data as fast as it can (nothing else running), and zdb storing/serving the shards
 * of such chunks as fast as it can (no pool), with the store's depth (4 chunks, 6 shards each).
 * Inputs are made outside the clock in batches of 8 chunks, so memory stays small.
 */
async function references(ctx: Ctx, chunkCount: number): Promise<Reference[]> {
  const chunkSize = ctx.store.chunkSize;
  const BATCH = 8;
  const KEEP = 4; // encoded chunks kept for the decode and zdb stages
  const dataKey = newDataKey();
  const parallel = ctx.pipeline.threads * 2;
  const plainBytes = chunkCount * chunkSize;
  const source = body(plainBytes, 7).pieces;
  const nextChunk = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for (let n = 0; n < chunkSize / PIECE; n++) parts.push((await source.next()).value as Buffer);
    return Buffer.concat(parts);
  };
  const encoded: EncodedChunk[] = [];
  const encMeter = new Meter(ctx);
  for (let first = 0; first < chunkCount; first += BATCH) {
    const count = Math.min(BATCH, chunkCount - first);
    const chunks: Buffer[] = [];
    for (let n = 0; n < count; n++) chunks.push(await nextChunk());
    await encMeter.time(() =>
      lanes(count, parallel, async (n) => {
        // encode() takes the chunk away (transfer)
        const e = await ctx.pipeline.encode({
          plain: chunks[n]!,
          dataKey,
          aadObject: 'ref',
          aadIndex: first + n,
          k: K,
          m: M,
        });
        if (first + n < KEEP) encoded[first + n] = e;
      }).then(() => undefined),
    );
  }
  const shardBytes = encoded.reduce((s, e) => s + e.shards.length * e.shardSize, 0);
  const ratio = shardBytes / (encoded.length * chunkSize);
  // decode() takes the shards away too: it gets copies, made outside the clock, as they would
  // come from zdb: the k data shards, or with `lost` of them replaced by parity (RS rebuild).
  const decodeStage = async (lost: number): Promise<{ mbps: number; store: number; zdb: number }> => {
    const meter = new Meter(ctx);
    for (let first = 0; first < chunkCount; first += BATCH) {
      const count = Math.min(BATCH, chunkCount - first);
      const copies = Array.from({ length: count }, (_, n) =>
        encoded[(first + n) % KEEP]!.shards.map((s, j) =>
          (j >= lost && j < K) || (j >= K && j < K + lost) ? Buffer.from(s) : null,
        ),
      );
      await meter.time(() =>
        lanes(count, parallel, async (n) => {
          const i = (first + n) % KEEP;
          const e = encoded[i]!;
          await ctx.pipeline.decode({
            shards: copies[n]!,
            crcs: e.crcs,
            dataKey,
            nonce: e.nonce,
            aadObject: 'ref',
            aadIndex: i,
            k: K,
            m: M,
            storedSize: e.storedSize,
            shardSize: e.shardSize,
            compressed: e.compressed,
            plainSize: chunkSize,
          });
        }).then(() => undefined),
      );
    }
    return meter.result(plainBytes);
  };
  const dec = await decodeStage(0);
  const decLost = await decodeStage(M);
  const enc = encMeter.result(plainBytes);
  // zdb: the same shards written under fresh keys, chunk after chunk, 4 chunks under way, all 6 shards of a chunk at once.
  const ids = ctx.backends.list().map((b) => b.id);
  // The kept shard sets are reused under fresh keys: zdb stores what it is given, it does not deduplicate.
  const tag = randomBytes(4).toString('hex');
  const total = chunkCount;
  const setMeter = new Meter(ctx);
  await setMeter.time(async () => {
    await lanes(total, 4, async (n) => {
      const e = encoded[n % encoded.length]!;
      await Promise.all(
        e.shards.map((s, j) => ctx.backends.run(ids[(n + j) % ids.length]!, (c) => c.set(`ref-${tag}/${n}/${j}`, s))),
      );
    });
  });
  const getMeter = new Meter(ctx);
  await getMeter.time(async () => {
    await lanes(total, 4, async (n) => {
      await Promise.all(
        Array.from({ length: K }, (_, j) =>
          ctx.backends.run(ids[(n + j) % ids.length]!, async (c) => {
            if (!(await c.get(`ref-${tag}/${n}/${j}`))) throw new Error(`reference shard ref-${tag}/${n}/${j} missing`);
          }),
        ),
      );
    });
  });
  const set = setMeter.result(total * chunkSize);
  const get = getMeter.result(total * chunkSize);
  const r = `stored/plain ${ratio.toFixed(2)}x`;
  return [
    {
      stage: `pool encode alone (${ctx.pipeline.threads} threads, ${parallel} in flight)`,
      mbps: enc.mbps,
      storeCpuSPerGiB: enc.store,
      zdbCpuSPerGiB: enc.zdb,
      note: r,
    },
    {
      stage: `pool decode alone, ${K} data shards`,
      mbps: dec.mbps,
      storeCpuSPerGiB: dec.store,
      zdbCpuSPerGiB: dec.zdb,
      note: 'no RS rebuild',
    },
    {
      stage: `pool decode alone, ${M} data shards lost`,
      mbps: decLost.mbps,
      storeCpuSPerGiB: decLost.store,
      zdbCpuSPerGiB: decLost.zdb,
      note: 'RS rebuild of 2',
    },
    {
      stage: `zdb SET of the shards alone (durable, 4 chunks x ${K + M})`,
      mbps: set.mbps,
      storeCpuSPerGiB: set.store,
      zdbCpuSPerGiB: set.zdb,
      note: `object MB/s; shards ${(set.mbps * ratio).toFixed(0)} MB/s`,
    },
    {
      stage: `zdb GET of ${K} data shards alone (4 chunks)`,
      mbps: get.mbps,
      storeCpuSPerGiB: get.store,
      zdbCpuSPerGiB: get.zdb,
      note: `object MB/s; shards ${(get.mbps * ratio * (K / (K + M))).toFixed(0)} MB/s`,
    },
  ];
}

// ------------------------------------------------------------------------ setup

function alive(z: LocalBackend): boolean {
  return z.process.exitCode === null && z.process.signalCode === null;
}

async function killBackend(z: LocalBackend): Promise<void> {
  if (!alive(z)) return;
  const gone = new Promise<void>((resolve) => z.process.once('exit', () => resolve()));
  z.process.kill('SIGKILL');
  await gone;
}

// ------------------------------------------------------------------------ output

function sizeLabel(bytes: number): string {
  return bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${fmt(bytes / MiB)} MiB`;
}

/** What limits a phase, from its own figures (a reading aid; the note gives the judgement). */
function limitedBy(r: PhaseResult, cores: number, threads: number): string {
  const c = r.cpu;
  const w = r.wallS;
  const machine = c.machineBusy / w;
  const parts: Array<[string, number]> = [
    ['pool workers', c.poolThreads],
    ['event loop', Math.max(0, c.mainThread - c.clientSubtracted)],
    ['zdb', c.zdb],
    ['other threads', c.otherThreads],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  const ours = Math.max(1e-9, c.storeProcess - c.clientSubtracted + c.zdb);
  const top =
    parts
      .slice(0, 2)
      .map(([n, v]) => `${n} ${fmt((100 * v) / ours)}%`)
      .join(', ') + " of the store's CPU";
  if (machine >= cores * 0.8) return `CPU: ${fmt(machine, 2)} of ${cores} cores busy; ${top}`;
  if (c.poolThreads / w >= threads * 0.85) return `pool workers saturated (${fmt(c.poolThreads / w, 2)} of ${threads})`;
  if (c.mainThread / w >= 0.85) return `event loop saturated (${fmt(c.mainThread / w, 2)} core)`;
  if (r.disk && r.disk.utilPct >= 80) return `disk ${r.disk.name} ${fmt(r.disk.utilPct)}% busy (fsync)`;
  if (r.zdb.busyPct >= 90 && r.pool.busyPct < 70) return `zdb round trips (busy ${fmt(r.zdb.busyPct)}% of the time)`;
  return `latency/depth: machine ${fmt(machine, 2)} cores, pool busy ${fmt(r.pool.busyPct)}%, zdb busy ${fmt(r.zdb.busyPct)}%`;
}

// ------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      'degraded-size': { type: 'string' },
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '3' },
      writes: { type: 'boolean', default: false },
      count: { type: 'string' },
      'heal-gib': { type: 'string' },
    },
  });
  if (values.writes) return degradedWritesBench(values);
  const repeat = Math.max(1, Math.floor(Number(values.repeat)));
  const size = Number(values.size ?? (values.quick ? 64 : 1024)) * MiB;
  const degradedSize = Number(values['degraded-size'] ?? (values.quick ? 16 : 100)) * MiB;
  if (!Number.isSafeInteger(size) || size <= 0 || !Number.isSafeInteger(degradedSize) || degradedSize <= 0)
    throw new Error('--size and --degraded-size take a positive number of MiB');
  const cores = os.availableParallelism();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-store-'));
  let zdbs: LocalBackend[] = [];
  let refZdbs: LocalBackend[] = [];
  let backends: TimedBackendPool | undefined;
  let refBackends: TimedBackendPool | undefined;
  let pipeline: TimedPipelinePool | undefined;
  let meta: SqliteMetaStore | undefined;
  const emergency = (): void => {
    for (const z of [...zdbs, ...refZdbs]) if (alive(z)) z.process.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  // Last resort (an uncaught error, a closed stdout): no zdb child or temp dir outlives the bench.
  const atExit = (): void => {
    for (const z of [...zdbs, ...refZdbs]) if (alive(z)) z.process.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', emergency);
  process.once('SIGTERM', emergency);
  process.once('exit', atExit);
  try {
    const load = os.loadavg()[0]!;
    console.log(
      `store, ${K}+${M} on ${BACKENDS} local zdb (--sync), ${cores} cores, node ${process.version}, load ${fmt(load, 1)}, ` +
        `PUT/GET ${sizeLabel(size)}, degraded ${sizeLabel(degradedSize)}\n`,
    );
    // Client calibration first (untimed): the expected digests and the client's own CPU cost.
    const calBig = await calibrate(size, 1);
    const calSmall = await calibrate(degradedSize, 2);

    const firstPort = await freePorts(BACKENDS);
    zdbs = await startLocalBackends(dir, BACKENDS, firstPort);
    const list: Backend[] = zdbs.map((z, i) => ({
      id: `b${i}`,
      farm: `farm${i % 3}`,
      node: `node${i}`,
      host: '127.0.0.1',
      port: z.port,
      namespace: 'default',
      password: z.password,
      freeBytes: 0,
      state: 'up',
    }));
    backends = new TimedBackendPool(list);
    await backends.refresh();
    meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
    const tidsBefore = new Set(threadCpuNs().keys());
    pipeline = new TimedPipelinePool();
    // Start every worker (and warm its codec) before the threads are told apart.
    const warmKey = newDataKey();
    await Promise.all(
      Array.from({ length: pipeline.threads * 2 }, (_, i) =>
        pipeline!.encode({ plain: randomBytes(4 * MiB), dataKey: warmKey, aadObject: 'warm', aadIndex: i, k: K, m: M }),
      ),
    );
    const workerTids = new Set([...threadCpuNs().keys()].filter((t) => !tidsBefore.has(t)));
    const masterKey = randomBytes(32);
    const store = new ObjectStore({ meta, backends, pipeline, masterKey });
    await store.createBucket(BUCKET);
    const disk = diskOf(dir);
    const peakSoFarKiB = Math.max(statusKiB('VmHWM'), process.resourceUsage().maxRSS);
    const canResetPeak = resetPeakRss();
    const startRssMiB = statusKiB('VmRSS') / 1024;
    console.log(
      `  store assembled: RSS ${fmt(startRssMiB)} MiB (${pipeline.threads} pool threads, ${BACKENDS} zdb on ${disk ?? 'unknown disk'})`,
    );
    const ctx: Ctx = { store, pipeline, backends, zdbs, workerTids, disk, canResetPeak, peakSoFarKiB };

    const rows: PhaseResult[] = [];
    const report = (r: PhaseResult): void => {
      rows.push(r);
      console.log(
        `  ${r.name}: ${fmt(r.wallS, 1)} s, ${fmt(r.mbps)} MB/s, ${fmt(r.cpuSPerGiB, 2)} CPU-s/GiB, peak RSS ${fmt(r.rss.peakMiB)} MiB (process peak so far ${fmt(r.rss.maxRssLifetimeMiB)} MiB)`,
      );
    };
    const big = await putPhase(ctx, `PUT ${sizeLabel(size)}`, 'big', size, 1, calBig);
    report(big.result);
    report(await getPhase(ctx, `GET ${sizeLabel(size)}`, 'big', size, calBig));
    const storedBig = big.manifest.chunks.reduce((s, c) => s + c.shardSize * (c.dataShards + c.parityShards), 0);

    const small = await putPhase(ctx, `PUT ${sizeLabel(degradedSize)}`, 'degraded', degradedSize, 2, calSmall);
    report(small.result);
    // Short phases on a shared machine: each 100 MiB GET is run `repeat` times, the median (by MB/s) is reported.
    const median = (runs: PhaseResult[]): PhaseResult => [...runs].sort((a, b) => a.mbps - b.mbps)[runs.length >> 1]!;
    const healthyRuns: PhaseResult[] = [];
    for (let n = 0; n < repeat; n++)
      healthyRuns.push(
        await getPhase(ctx, `GET ${sizeLabel(degradedSize)} healthy`, 'degraded', degradedSize, calSmall),
      );
    const healthy = median(healthyRuns);
    report(healthy);
    const victims = zdbs.slice(0, KILLED);
    const victimIds = new Set(list.slice(0, KILLED).map((b) => b.id));
    const lostData = [0, 0, 0]; // chunks missing 0, 1, 2 data shards
    for (const c of small.manifest.chunks)
      lostData[c.shards.slice(0, c.dataShards).filter((s) => victimIds.has(s.backend)).length]++;
    for (const z of victims) await killBackend(z);
    ctx.zdbs = zdbs.filter(alive);
    const degradedRuns: PhaseResult[] = [];
    for (let n = 0; n < repeat; n++) {
      degradedRuns.push(
        await getPhase(
          ctx,
          `GET ${sizeLabel(degradedSize)}, ${KILLED} of ${BACKENDS} zdb killed`,
          'degraded',
          degradedSize,
          calSmall,
        ),
      );
    }
    const degraded = median(degradedRuns);
    report(degraded);
    const ratio = degraded.mbps / healthy.mbps;
    if (repeat > 1) {
      console.log(
        `  (MB/s of the ${repeat} runs: healthy ${healthyRuns.map((r) => fmt(r.mbps)).join(', ')}; degraded ${degradedRuns.map((r) => fmt(r.mbps)).join(', ')})`,
      );
    }

    // Each stage alone, last (its buffers would weigh on the store's RSS figures), on 6 fresh
    // backends (2 of the store's are dead), with the store's worker pool.
    console.log('  stage references ...');
    refZdbs = await startLocalBackends(path.join(dir, 'ref'), BACKENDS, await freePorts(BACKENDS));
    refBackends = new TimedBackendPool(
      refZdbs.map((z, i) => ({ ...list[i]!, id: `r${i}`, port: z.port, password: z.password, state: 'up' as const })),
    );
    const refs = await references({ ...ctx, backends: refBackends, zdbs: refZdbs }, values.quick ? 8 : 32);

    // ---------------------------------------------------------------- tables
    const [putR, getR] = rows;
    const rss = (r: PhaseResult): string => fmt(r.rss.peakMiB);
    const verdict = (cpuOk: boolean, r: PhaseResult, what = 'CPU'): string => {
      const failed = [cpuOk ? '' : what, r.rss.peakMiB <= TARGET.rssMiB ? '' : 'RSS'].filter(Boolean);
      return failed.length ? `FAIL (${failed.join(', ')})` : 'pass';
    };
    console.log('');
    printTable(
      ['workload', 'MB/s', 'CPU-s/GiB', 'peak RSS MiB', 'target', 'result'],
      [
        [
          putR!.name,
          fmt(putR!.mbps),
          fmt(putR!.cpuSPerGiB, 2),
          rss(putR!),
          `<= ${TARGET.putCpu} CPU-s/GiB, <= ${TARGET.rssMiB} MiB RSS`,
          verdict(putR!.cpuSPerGiB <= TARGET.putCpu, putR!),
        ],
        [
          getR!.name,
          fmt(getR!.mbps),
          fmt(getR!.cpuSPerGiB, 2),
          rss(getR!),
          `<= ${TARGET.getCpu} CPU-s/GiB, <= ${TARGET.rssMiB} MiB RSS`,
          verdict(getR!.cpuSPerGiB <= TARGET.getCpu, getR!),
        ],
        [
          small.result.name,
          fmt(small.result.mbps),
          fmt(small.result.cpuSPerGiB, 2),
          rss(small.result),
          `<= ${TARGET.putCpu} CPU-s/GiB, <= ${TARGET.rssMiB} MiB RSS`,
          verdict(small.result.cpuSPerGiB <= TARGET.putCpu, small.result),
        ],
        [
          healthy.name,
          fmt(healthy.mbps),
          fmt(healthy.cpuSPerGiB, 2),
          rss(healthy),
          `<= ${TARGET.getCpu} CPU-s/GiB, <= ${TARGET.rssMiB} MiB RSS`,
          verdict(healthy.cpuSPerGiB <= TARGET.getCpu, healthy),
        ],
        [
          degraded.name,
          fmt(degraded.mbps),
          fmt(degraded.cpuSPerGiB, 2),
          rss(degraded),
          `>= ${TARGET.degradedRatio}x healthy (${fmt(ratio, 2)}x), <= ${TARGET.rssMiB} MiB RSS`,
          verdict(ratio >= TARGET.degradedRatio, degraded, 'ratio'),
        ],
      ],
    );
    console.log(
      `\n  MB = 10^6 bytes. CPU-s/GiB = store process (all threads) + ${BACKENDS} zdb, minus the in-process client (generation for PUT, SHA-256 for GET, measured alone).` +
        `\n  Peak RSS: ${canResetPeak ? 'VmHWM reset before each phase (exact)' : 'VmRSS sampled every 100 ms'}. ${big.manifest.chunks.length} chunks of ${sizeLabel(store.chunkSize)}, stored/plain ${fmt(storedBig / size, 2)}x.` +
        `\n  Degraded object: chunks missing 0/1/2 data shards: ${lostData.join('/')}. Every GET verified by SHA-256.\n`,
    );

    const cores2 = (s: number, w: number): string => fmt(s / w, 2);
    printTable(
      ['where the time goes', ...rows.map((r) => r.name.replace(/ zdb killed$/, ' killed'))],
      [
        ['wall s', ...rows.map((r) => fmt(r.wallS, 1))],
        [
          'CPU-s/GiB: event loop (client excluded)',
          ...rows.map((r) => fmt(Math.max(0, r.cpu.mainThread - r.cpu.clientSubtracted) / (r.bytes / GiB), 2)),
        ],
        ['CPU-s/GiB: pool workers', ...rows.map((r) => fmt(r.cpu.poolThreads / (r.bytes / GiB), 2))],
        ['CPU-s/GiB: other threads (GC, libuv)', ...rows.map((r) => fmt(r.cpu.otherThreads / (r.bytes / GiB), 2))],
        ['CPU-s/GiB: zdb (sum)', ...rows.map((r) => fmt(r.cpu.zdb / (r.bytes / GiB), 2))],
        [
          'CPU-s/GiB: client (event loop), subtracted',
          ...rows.map((r) => fmt(r.cpu.clientSubtracted / (r.bytes / GiB), 2)),
        ],
        ['cores: event loop, client included', ...rows.map((r) => cores2(r.cpu.mainThread, r.wallS))],
        [`cores: pool workers (of ${pipeline.threads})`, ...rows.map((r) => cores2(r.cpu.poolThreads, r.wallS))],
        ['cores: zdb', ...rows.map((r) => cores2(r.cpu.zdb, r.wallS))],
        [`cores: whole machine busy (of ${cores})`, ...rows.map((r) => cores2(r.cpu.machineBusy, r.wallS))],
        [
          'cores: other processes',
          ...rows.map((r) => cores2(Math.max(0, r.cpu.machineBusy - r.cpu.storeProcess - r.cpu.zdb), r.wallS)),
        ],
        ['cores: iowait', ...rows.map((r) => cores2(r.cpu.machineIowait, r.wallS))],
        ['pool: busy % of wall', ...rows.map((r) => fmt(r.pool.busyPct))],
        ['pool: mean ms per chunk (queue incl.)', ...rows.map((r) => fmt(r.pool.meanMs, 1))],
        ['pool: mean chunks in flight', ...rows.map((r) => fmt(r.pool.meanInFlight, 2))],
        ['zdb: busy % of wall', ...rows.map((r) => fmt(r.zdb.busyPct))],
        ['zdb: mean ms per shard request', ...rows.map((r) => fmt(r.zdb.meanMs, 1))],
        ['zdb: mean requests in flight', ...rows.map((r) => fmt(r.zdb.meanInFlight, 1))],
        ['zdb: failed requests', ...rows.map((r) => String(r.zdb.failures))],
        ['disk: MB written', ...rows.map((r) => (r.disk ? fmt(r.disk.writtenMB) : '-'))],
        ['disk: busy %', ...rows.map((r) => (r.disk ? fmt(r.disk.utilPct) : '-'))],
        ['disk: flushes', ...rows.map((r) => (r.disk ? String(r.disk.flushes) : '-'))],
        [
          'RSS MiB: at start / peak sampled / at end',
          ...rows.map((r) => `${fmt(r.rss.startMiB)} / ${fmt(r.rss.peakSampledMiB)} / ${fmt(r.rss.endMiB)}`),
        ],
        ['RSS MiB: peak of the process so far', ...rows.map((r) => fmt(r.rss.maxRssLifetimeMiB))],
        ['client generator / hash wall s', ...rows.map((r) => fmt(r.clientGeneratorS, 2))],
      ],
    );
    console.log('');
    for (const r of rows) console.log(`  ${r.name}: limited by ${limitedBy(r, cores, pipeline.threads)}`);
    console.log('');
    printTable(
      ['stage alone (same pool, same backends)', 'MB/s', 'store CPU-s/GiB', 'zdb CPU-s/GiB', ''],
      refs.map((r) => [r.stage, fmt(r.mbps), fmt(r.storeCpuSPerGiB, 2), fmt(r.zdbCpuSPerGiB, 2), r.note]),
    );
    console.log(
      `\n  client alone: generate ${fmt(calBig.generateCpuS / (size / GiB), 2)} CPU-s/GiB, SHA-256 ${fmt(calBig.hashCpuS / (size / GiB), 2)} CPU-s/GiB`,
    );

    if (values.json) {
      fs.writeFileSync(
        values.json,
        JSON.stringify(
          {
            unit: { throughput: 'MB/s (10^6 bytes)', cpu: 'CPU seconds per GiB of object', rss: 'MiB' },
            node: process.version,
            cores,
            load,
            clkTck: CLK_TCK,
            backends: BACKENDS,
            k: K,
            m: M,
            durable: true,
            chunkSize: store.chunkSize,
            poolThreads: pipeline.threads,
            size,
            degradedSize,
            storedRatio: storedBig / size,
            targets: TARGET,
            peakRssExact: canResetPeak,
            startRssMiB,
            client: { big: calBig, degraded: calSmall },
            phases: rows.map((r) => ({ ...r, limitedBy: limitedBy(r, cores, pipeline!.threads) })),
            repeat,
            healthyRuns,
            degradedRuns,
            degradedRatio: ratio,
            degradedChunksMissingDataShards: lostData,
            references: refs,
            pass: {
              put: putR!.cpuSPerGiB <= TARGET.putCpu && putR!.rss.peakMiB <= TARGET.rssMiB,
              get: getR!.cpuSPerGiB <= TARGET.getCpu && getR!.rss.peakMiB <= TARGET.rssMiB,
              degraded: ratio >= TARGET.degradedRatio,
            },
          },
          null,
          2,
        ) + '\n',
      );
    }
  } finally {
    process.removeListener('SIGINT', emergency);
    process.removeListener('SIGTERM', emergency);
    process.removeListener('exit', atExit);
    await backends?.close().catch(() => {});
    await refBackends?.close().catch(() => {});
    await pipeline?.close().catch(() => {});
    await meta?.close();
    // stopLocalBackends waits for 'exit' of children not yet exited by code: hand it only live ones.
    await stopLocalBackends([...zdbs, ...refZdbs].filter(alive));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The store runs with two malloc arenas (qstor start sets MALLOC_ARENA_MAX for its processes;
// glibc reads it at startup), so the benchmark measures it the same way.
if (process.env['MALLOC_ARENA_MAX'] === undefined) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: lowMemoryEnv(),
  });
  process.exit(child.status ?? 1);
} else {
  await main();
}
