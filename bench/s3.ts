/**
 * S3 end to end: `qstor start` on this machine against Ceph RGW (EC 4+2) on this machine, the
 * same loads from the same client (@aws-sdk/client-s3) in the same run, one system at a time.
 *
 *   node dist/bench/s3.js [--quick] [--ceph | --no-ceph] [--size MiB] [--part-size MiB]
 *                         [--small-count N] [--small-seconds S] [--concurrency N]
 *                         [--list-keys N] [--cpu-prof DIR] [--json FILE]
 *
 * Loads, each alone, with the machine quiet before it (see "load" below):
 * - 1 GiB PUT and GET, one stream (one PutObject / one GetObject), and 4-way multipart
 *   (@aws-sdk/lib-storage Upload, queueSize 4, --part-size parts; the GET as ranged GetObjects
 *   of the part size, 4 in flight): MB/s (10^6 bytes) over the wall time of the transfer.
 * - The same object through the store API in this process (ObjectStore as the gateway opens it,
 *   `openStore` over 6 local durable zdb), the reference the S3 ratios (>= 0.85x) are taken to.
 *   Measured here rather than by running bench/store.ts: same generator, same seed, same run,
 *   same treatment of the client's work, and the store opened by the very code the gateway uses.
 * - 4 KiB objects at concurrency 32: PUT, GET, HEAD, LIST (of those keys), DELETE, ops/s. Each
 *   runs for --small-count operations or --small-seconds, whichever comes first (Ceph at ~100
 *   PUT/s would take minutes for the count); GET and HEAD cycle over the keys PUT.
 * - The client alone: the 4 KiB loads and the 1M-key listing against bench/null-s3.ts, a server
 *   that answers at once and stores nothing: the ceiling of this client on these 2 cores, beside
 *   which the qstor figures are read (`q / alone`).
 * - ListObjectsV2 over a bucket of 1,000,000 keys (qstor only): the bucket is filled while qstor
 *   is stopped, straight through SqliteMetaStore.putObjects (tiny manifests: empty objects, no
 *   chunks), then qstor is started again on the same directory and the bucket listed through
 *   the gateway with the SDK, pages of 1000. Filling Ceph with 1M keys through S3 (~100 PUT/s)
 *   would take hours: Ceph has no figure there.
 *
 * The body is generated on the fly in 1 MiB pieces, alternately AES-CTR keystream (random) and
 * text-like lines (bench/common.ts textLike), never held whole; its SHA-256 is computed before,
 * untimed. The generation is inside the timed PUT (it is the client's work, as in bench/store).
 * Timed GETs only count bytes; each GET workload is followed by an untimed GET of the whole
 * object that is hashed and checked against the expected SHA-256 (so no hashing cost is in a
 * GET figure, for any of the three systems).
 *
 * Load: before each system the 1-minute load average must drop below 1.0 (waiting up to 60 s);
 * before each workload the machine must have been idle (< 0.5 core busy over 1 s, up to --idle-wait, 180 s)
 * and the 1-minute load is printed beside each figure. Before the first large load, one untimed
 * PUT and GET warm each system's fresh processes up (see warmUp). The machine has 2 cores: client and
 * servers share them, and the CPU each took is printed per workload.
 *
 * Peak RSS of the gateway (the `dist/gateway/main.js` child of `qstor start`): VmHWM at the end
 * of each gateway process (max over the two started), and VmRSS sampled every 100 ms per
 * workload. For both systems the sum of VmRSS over all server processes is sampled as well.
 *
 * Clean-up: qstor (SIGINT, then SIGKILL), the store-API zdb, `down.sh --purge` for Ceph and every
 * temp dir, on success, failure, Ctrl-C.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from '../src/cli/backends.js';
import { openStore, writeStoreConfig, type OpenStore } from '../src/data-dir/local-store.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import type { ObjectManifest } from '../src/meta/manifest.js';
import { fmt, freePorts, machineCpu, printTable, processCpuSeconds, startReady } from './common.js';
import { awsCli, awsCliAvailable, type AwsCli } from './s3-aws-cli.js';
import { client, drain, expectedSha256, lanes, pieces, quietSdkNodeNotice } from './s3-load.js';

const MiB = 1 << 20;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** `qstor` as started (--qstor-bin: another build's bin/qstor.js, for before/after runs). */
let qstorBin = path.join(REPO, 'bin', 'qstor.js');
const CEPH_DIR = process.env['CEPH_PEER_DIR'] ?? '/work/shared/peers/ceph';
const TARGET = {
  storeRatio: 0.85,
  putOps: 3000,
  getOps: 6000,
  listKeys: 150_000,
  putVsCeph: 2,
  getVsCeph: 1.5,
  smallPutVsCeph: 10,
};

// ------------------------------------------------------------------------ data

/** The body as a file, for the aws cli (untimed). */
async function writeBody(file: string, size: number): Promise<void> {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    for await (const p of pieces(size, 1)) fs.writeSync(fd, p);
  } finally {
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------------ /proc

function ppidOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Every descendant of `root` (not itself). */
function descendants(root: number): number[] {
  const all = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const children = new Map<number, number[]>();
  for (const pid of all) {
    const pp = ppidOf(pid);
    if (!children.has(pp)) children.set(pp, []);
    children.get(pp)!.push(pid);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

function statusKiB(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function load1(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** How long a workload waits for the machine to be idle (--idle-wait). */
let IDLE_WAIT_S = 180;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Before a system: the 1-minute load below 1.0, waiting up to `maxS` (60 s, at most --idle-wait). */
async function waitLoad(maxS = Math.min(60, IDLE_WAIT_S)): Promise<number> {
  const deadline = Date.now() + maxS * 1000;
  const first = load1();
  let l = first;
  while (l >= 1 && Date.now() < deadline) {
    await sleep(2000);
    l = load1();
  }
  if (first >= 1)
    console.log(
      `  1-minute load ${first.toFixed(2)} -> ${l.toFixed(2)}${l >= 1 ? ` (still >= 1.0 after ${maxS} s, going on)` : ''}`,
    );
  return l;
}

/** Before a workload: the machine idle (< 0.5 core busy over 1 s), waiting up to `maxS`. */
async function waitIdle(maxS = IDLE_WAIT_S): Promise<number> {
  const deadline = Date.now() + maxS * 1000;
  for (;;) {
    const b = machineCpu().busy;
    await sleep(1000);
    const cores = machineCpu().busy - b;
    if (cores < 0.5 || Date.now() > deadline) return cores;
  }
}

// ------------------------------------------------------------------------ measuring

interface Sys {
  name: 'qstor' | 'store API' | 'Ceph' | 'SDK alone';
  /** The store runs in this process (store API): its CPU is the client's, counted as server CPU. */
  inProcess?: boolean;
  /** Server processes now (their CPU and RSS are summed). */
  serverPids(): number[];
  /** The gateway process (qstor), or radosgw (Ceph), for the RSS figure. */
  gatewayPid(): number | null;
}

interface Measure {
  workload: string;
  system: string;
  /** Units done: bytes or operations or keys. */
  count: number;
  wallS: number;
  rate: number;
  unit: string;
  load1: number;
  idleCoresBefore: number;
  errors: number;
  latencyMs?: { p50: number; p99: number };
  /** `others`: the machine minus client and server (other processes, kernel threads). */
  cores: { client: number; server: number; gateway: number; machine: number; others: number };
  /**
   * Server CPU-seconds (utime+stime from /proc, every thread) per GiB moved, for the byte
   * workloads: all server processes (qstor: the gateway with its worker threads, its zdb children
   * and the launcher), and the gateway alone. Store API: the bench process plus its zdb.
   */
  cpuSPerGiB?: { server: number; gateway: number };
  rssMiB: { gatewayPeakSampled: number; serverPeakSampled: number };
  note?: string;
}

async function measure(
  sys: Sys,
  workload: string,
  unit: string,
  perUnit: number,
  work: () => Promise<{ count: number; errors?: number; lat?: number[]; note?: string }>,
): Promise<Measure> {
  const idle = await waitIdle();
  const l = load1();
  const pids = sys.serverPids();
  const gw = sys.gatewayPid();
  const serverBefore = pids.map((p) => processCpuSeconds(p) ?? 0);
  const gwBefore = gw ? (processCpuSeconds(gw) ?? 0) : 0;
  let gwRss = gw ? statusKiB(gw, 'VmRSS') : 0;
  let serverRss = 0;
  const sample = (): void => {
    if (gw) gwRss = Math.max(gwRss, statusKiB(gw, 'VmRSS'));
    serverRss = Math.max(
      serverRss,
      pids.reduce((s, p) => s + statusKiB(p, 'VmRSS'), 0),
    );
  };
  sample();
  const sampler = setInterval(sample, 100);
  const m0 = machineCpu().busy;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let r: Awaited<ReturnType<typeof work>>;
  try {
    r = await work();
  } finally {
    clearInterval(sampler);
  }
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  sample();
  const server = pids.reduce((s, p, i) => s + Math.max(0, (processCpuSeconds(p) ?? 0) - serverBefore[i]!), 0);
  const lat = r.lat?.sort((a, b) => a - b);
  const out: Measure = {
    workload,
    system: sys.name,
    count: r.count,
    wallS,
    rate: (r.count * perUnit) / wallS,
    unit,
    load1: l,
    idleCoresBefore: idle,
    errors: r.errors ?? 0,
    latencyMs: lat?.length ? { p50: lat[lat.length >> 1]!, p99: lat[Math.floor(lat.length * 0.99)]! } : undefined,
    cores: {
      client: (c.user + c.system) / 1e6 / wallS,
      server: server / wallS,
      gateway: gw ? ((processCpuSeconds(gw) ?? 0) - gwBefore) / wallS : 0,
      machine: (machineCpu().busy - m0) / wallS,
      others: 0,
    },
    rssMiB: { gatewayPeakSampled: gwRss / 1024, serverPeakSampled: serverRss / 1024 },
    note: r.note,
  };
  out.cores.others = Math.max(0, out.cores.machine - out.cores.client - out.cores.server);
  if (unit === 'MB/s' && r.count > 0) {
    const gib = r.count / 2 ** 30;
    const clientS = sys.inProcess ? (c.user + c.system) / 1e6 : 0;
    out.cpuSPerGiB = { server: (server + clientS) / gib, gateway: (out.cores.gateway * wallS + clientS) / gib };
  }
  const perGiB = out.cpuSPerGiB
    ? `; ${fmt(out.cpuSPerGiB.server, 2)} server CPU-s/GiB${gw ? ` (gateway ${fmt(out.cpuSPerGiB.gateway, 2)})` : ''}`
    : '';
  const lt = out.latencyMs ? `, p50 ${fmt(out.latencyMs.p50, 1)} ms, p99 ${fmt(out.latencyMs.p99, 1)} ms` : '';
  console.log(
    `  ${sys.name.padEnd(9)} ${workload}: ${fmt(out.rate)} ${unit} (${fmt(r.count)} in ${fmt(wallS, 2)} s${lt}${out.errors ? `, ${out.errors} ERRORS` : ''}); ` +
      `cores: client ${fmt(out.cores.client, 2)}, server ${fmt(out.cores.server, 2)}${gw ? ` (gateway ${fmt(out.cores.gateway, 2)})` : ''}, machine ${fmt(out.cores.machine, 2)}, others ${fmt(out.cores.others, 2)}; ` +
      `load ${l.toFixed(2)}${perGiB}${gw ? `; RSS gateway ${fmt(out.rssMiB.gatewayPeakSampled)} MiB` : ''}, server ${fmt(out.rssMiB.serverPeakSampled)} MiB${r.note ? `; ${r.note}` : ''}`,
  );
  return out;
}

// ------------------------------------------------------------------------ S3 loads

interface Opts {
  size: number;
  partSize: number;
  smallCount: number;
  smallSeconds: number;
  concurrency: number;
  /** The large-object loads from the SDK, from the aws cli, or both. */
  clients: { sdk: boolean; aws: boolean };
  /** Only the large-object loads (no store API, 4 KiB, LIST, SDK alone). */
  largeOnly: boolean;
  /** The body on disk for the aws cli (the same bytes as `pieces(size, 1)`). */
  bodyFile: string;
  /** Where the aws cli's config files go. */
  workDir: string;
}

/** The large-object loads (SDK, aws cli) and the 4 KiB loads against one S3 endpoint. */
async function s3Loads(
  sys: Sys,
  s3: S3Client,
  endpoint: { url: string; id: string; secret: string },
  o: Opts,
  sha: string,
  out: Measure[],
): Promise<void> {
  const B = 'bench';
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const verify = async (key: string): Promise<string> => {
    const h = createHash('sha256');
    const res = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    const n = await drain(res.Body, h);
    const d = h.digest('hex');
    if (n !== o.size || d !== sha)
      throw new Error(`${sys.name} ${key}: read back ${n} bytes, sha256 ${d}; expected ${o.size}, ${sha}`);
    return 'verified by SHA-256 (untimed GET)';
  };
  await warmUp(s3, B, o.size);
  if (o.clients.sdk) await sdkLargeLoads(sys, s3, B, o, out, verify);
  if (o.clients.aws) {
    const cli = awsCli(endpoint.url, endpoint, path.join(o.workDir, `aws-${sys.name}`), track);
    await awsLargeLoads(sys, cli, B, o, out, verify);
  }
  if (o.largeOnly) return;
  await s3.send(new CreateBucketCommand({ Bucket: 'small' }));
  await smallLoads(sys, s3, o, out, true);
}

/**
 * One untimed PUT and GET of up to 256 MiB before the first measured load: a fresh server process
 * pays its heap's first touch once (each of qstor's zdbs grows by ~60 MiB in its first large PUT:
 * one page fault per 4 KiB received, ~100,000 over six zdbs; qstor's gateway faults in ~70 MiB of
 * read buffers in its first large GET, ~18,000 faults against ~1,000 in the next), which the
 * first measured row of each kind would otherwise carry alone. Every system gets the same warm-up.
 */
async function warmUp(s3: S3Client, bucket: string, size: number): Promise<void> {
  const bytes = Math.min(size, 256 * 1024 * 1024);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'warm-up',
      Body: Readable.from(pieces(bytes, 2)),
      ContentLength: bytes,
    }),
  );
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'warm-up' }));
  if ((await drain(res.Body)) !== bytes) throw new Error('warm-up GET returned a short body');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'warm-up' }));
}

/** 1 GiB PUT and GET through the SDK: one request each, then 4-way multipart and ranged. */
async function sdkLargeLoads(
  sys: Sys,
  s3: S3Client,
  B: string,
  o: Opts,
  out: Measure[],
  verify: (key: string) => Promise<string>,
): Promise<void> {
  const label = sizeLabel(o.size);
  out.push(
    await measure(sys, `${label} PUT, single stream`, 'MB/s', 1e-6, async () => {
      await s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: 'single',
          Body: Readable.from(pieces(o.size, 1)),
          ContentLength: o.size,
        }),
      );
      return { count: o.size };
    }),
  );
  out.push(
    await measure(sys, `${label} GET, single stream`, 'MB/s', 1e-6, async () => {
      const res = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'single' }));
      const n = await drain(res.Body);
      if (n !== o.size) throw new Error(`${sys.name}: GET returned ${n} bytes of ${o.size}`);
      return { count: n };
    }),
  );
  out[out.length - 1]!.note = await verify('single');

  out.push(
    await measure(sys, `${label} PUT, 4-way multipart`, 'MB/s', 1e-6, async () => {
      const up = new Upload({
        client: s3,
        queueSize: 4,
        partSize: o.partSize,
        leavePartsOnError: false,
        params: { Bucket: B, Key: 'multi', Body: Readable.from(pieces(o.size, 1)) },
      });
      await up.done();
      return { count: o.size, note: `${Math.ceil(o.size / o.partSize)} parts of ${sizeLabel(o.partSize)}` };
    }),
  );
  out.push(
    await measure(sys, `${label} GET, 4-way ranged`, 'MB/s', 1e-6, async () => {
      const parts = Math.ceil(o.size / o.partSize);
      let total = 0;
      const r = await lanes(4, parts, 1e9, async (i) => {
        const start = i * o.partSize;
        const end = Math.min(o.size, start + o.partSize) - 1;
        const res = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'multi', Range: `bytes=${start}-${end}` }));
        const n = await drain(res.Body);
        if (n !== end - start + 1) throw new Error(`range ${start}-${end}: ${n} bytes`);
        total += n;
      });
      if (r.errors) throw new Error(`${sys.name}: ranged GET failed: ${r.firstError}`);
      return { count: total, note: `${parts} ranges of ${sizeLabel(o.partSize)}` };
    }),
  );
  out[out.length - 1]!.note += `; ${await verify('multi')}`;
}

/** The same object through the aws cli: one request each way, then 8 MiB multipart and ranged GETs, 10 in flight. */
async function awsLargeLoads(
  sys: Sys,
  cli: AwsCli,
  B: string,
  o: Opts,
  out: Measure[],
  verify: (key: string) => Promise<string>,
): Promise<void> {
  const label = sizeLabel(o.size);
  for (const [mode, key, put, get] of [
    ['one request', 'aws-single', 'PUT, aws cli one request', 'GET, aws cli one request'],
    ['multipart', 'aws-multi', 'PUT, aws cli 8 MiB multipart x10', 'GET, aws cli ranged x10'],
  ] as const) {
    out.push(
      await measure(sys, `${label} ${put}`, 'MB/s', 1e-6, async () => {
        await cli.put(o.bodyFile, B, key, mode);
        return { count: o.size };
      }),
    );
    out[out.length - 1]!.note = await verify(key);
    out.push(
      await measure(sys, `${label} ${get}`, 'MB/s', 1e-6, async () => {
        const n = await cli.get(B, key, mode);
        if (n !== o.size) throw new Error(`${sys.name}: aws cli GET returned ${n} bytes of ${o.size}`);
        return { count: n };
      }),
    );
  }
}

/** 4 KiB PUT, GET, HEAD, (LIST of them,) DELETE at the set concurrency. */
async function smallLoads(sys: Sys, s3: S3Client, o: Opts, out: Measure[], listThem: boolean): Promise<void> {
  const S = 'small';
  // 4 KiB objects: one random body per lane slot (every PUT sends the same 4 KiB: neither server deduplicates).
  const bodies = Array.from({ length: o.concurrency }, () => randomBytes(4096));
  const key = (i: number): string => `obj/${i.toString(16).padStart(8, '0')}`;
  let stored = 0;
  const small = async (what: string, max: number, op: (i: number) => Promise<void>): Promise<Measure> =>
    measure(sys, `4 KiB ${what}, concurrency ${o.concurrency}`, 'ops/s', 1, async () => {
      const r = await lanes(o.concurrency, max, o.smallSeconds, op);
      return {
        count: r.count,
        errors: r.errors,
        lat: r.lat,
        note: r.firstError ? `first error: ${r.firstError}` : undefined,
      };
    });
  const put = await small('PUT', o.smallCount, async (i) => {
    await s3.send(
      new PutObjectCommand({ Bucket: S, Key: key(i), Body: bodies[i % bodies.length]!, ContentLength: 4096 }),
    );
  });
  out.push(put);
  stored = put.count + put.errors; // keys 0 .. stored-1 were attempted; the failed ones are missing
  if (put.errors) console.log(`  (${put.errors} PUTs failed: GET/HEAD of those keys will fail too)`);
  out.push(
    await small('GET', o.smallCount, async (i) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: S, Key: key(i % stored) }));
      const n = (await res.Body!.transformToByteArray()).length;
      if (n !== 4096) throw new Error(`GET ${key(i % stored)}: ${n} bytes`);
    }),
  );
  out.push(
    await small('HEAD', o.smallCount, async (i) => {
      const res = await s3.send(new HeadObjectCommand({ Bucket: S, Key: key(i % stored) }));
      if (res.ContentLength !== 4096) throw new Error(`HEAD ${key(i % stored)}: ContentLength ${res.ContentLength}`);
    }),
  );
  if (listThem)
    out.push(await listBucket(sys, s3, S, `LIST of the ${fmt(put.count)} 4 KiB keys, pages of 1000`, put.count));
  out.push(
    await small('DELETE', stored, async (i) => {
      await s3.send(new DeleteObjectCommand({ Bucket: S, Key: key(i) }));
    }),
  );
}

async function listBucket(
  sys: Sys,
  s3: S3Client,
  bucket: string,
  workload: string,
  expected: number,
): Promise<Measure> {
  return measure(sys, workload, 'keys/s', 1, async () => {
    let token: string | undefined;
    let count = 0;
    let pages = 0;
    let last = '';
    do {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }));
      for (const c of res.Contents ?? []) {
        if (c.Key! <= last) throw new Error(`${sys.name}: listing out of order at ${c.Key}`);
        last = c.Key!;
      }
      count += res.Contents?.length ?? 0;
      pages++;
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    if (count !== expected) throw new Error(`${sys.name}: listed ${count} keys, expected ${expected}`);
    return { count, note: `${pages} pages` };
  });
}

// ------------------------------------------------------------------------ the store API (in process)

async function storeApiLoads(
  o: Opts,
  sha: string,
  dir: string,
  out: Measure[],
  track: (z: LocalBackend[]) => void,
): Promise<void> {
  const BACKENDS = 6;
  const first = await freePorts(BACKENDS);
  writeStoreConfig(dir, {
    dataShards: 4,
    parityShards: 2,
    backends: Array.from({ length: BACKENDS }, (_, i) => ({
      id: `local-${i}`,
      farm: 'local',
      node: `disk-${i}`,
      address: `127.0.0.1:${first + i}`,
      namespace: 'default',
    })),
  });
  const zdbs = await startLocalBackends(dir, BACKENDS, first);
  track(zdbs);
  let opened: OpenStore | undefined;
  try {
    opened = await openStore(dir);
    await opened.backends.refresh();
    const store = opened.store;
    await store.createBucket('bench');
    const sys: Sys = {
      name: 'store API',
      inProcess: true,
      serverPids: () => zdbs.map((z) => z.process.pid!),
      gatewayPid: () => null,
    };
    const label = sizeLabel(o.size);
    out.push(
      await measure(sys, `${label} PUT, single stream`, 'MB/s', 1e-6, async () => {
        const r = await store.put('bench', 'single', pieces(o.size, 1));
        if (r.size !== o.size) throw new Error(`store API: stored ${r.size} of ${o.size}`);
        return { count: o.size, note: 'server = 6 zdb; the store itself is in the client process' };
      }),
    );
    out.push(
      await measure(sys, `${label} GET, single stream`, 'MB/s', 1e-6, async () => {
        const n = await drain((await store.get('bench', 'single')).body);
        if (n !== o.size) throw new Error(`store API: GET returned ${n} of ${o.size}`);
        return { count: n };
      }),
    );
    const h = createHash('sha256');
    const n = await drain((await store.get('bench', 'single')).body, h);
    if (n !== o.size || h.digest('hex') !== sha)
      throw new Error('store API: the object read back differs from what was stored');
    out[out.length - 1]!.note = 'verified by SHA-256 (untimed GET)';
  } finally {
    await opened?.close().catch(() => {});
    await stopLocalBackends(zdbs.filter((z) => z.process.exitCode === null && z.process.signalCode === null));
  }
}

// ------------------------------------------------------------------------ qstor start

interface Qstor {
  proc: ChildProcess;
  port: number;
  gatewayPid: number;
  /** VmHWM of the gateway, read while it lives (the last reading before it exits). */
  hwmKiB: () => number;
  stop(): Promise<void>;
}

async function startQstor(
  dir: string,
  port: number,
  backendPort: number,
  keys: { id: string; secret: string },
  cpuProfDir?: string,
): Promise<Qstor> {
  const args = [
    ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : []),
    qstorBin,
    'start',
    '--data',
    dir,
    '--port',
    String(port),
    '--backend-port',
    String(backendPort),
    // No console/metrics server: its fixed default port may be taken by another qstor here.
    '--admin-port',
    '0',
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, QSTOR_ROOT_ACCESS_KEY: keys.id, QSTOR_ROOT_SECRET_KEY: keys.secret },
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  await startReady(proc);
  const gw = descendants(proc.pid!).find((p) => cmdlineOf(p).includes('gateway/main.js'));
  if (!gw) throw new Error('qstor start is ready but its gateway child (dist/gateway/main.js) was not found');
  let hwm = 0;
  const watch = setInterval(() => {
    hwm = Math.max(hwm, statusKiB(gw, 'VmHWM'));
  }, 100);
  return {
    proc,
    port,
    gatewayPid: gw,
    hwmKiB: () => Math.max(hwm, statusKiB(gw, 'VmHWM')),
    async stop() {
      hwm = Math.max(hwm, statusKiB(gw, 'VmHWM'));
      clearInterval(watch);
      await stopChild(proc, 'SIGINT', 30_000);
    },
  };
}

async function stopChild(proc: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const t = setTimeout(() => {
    console.log(`  pid ${proc.pid} still running after ${graceMs / 1000} s: SIGKILL (and its children)`);
    for (const p of descendants(proc.pid!)) killQuiet(p);
    proc.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(t);
}

function killQuiet(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Empty objects straight into the metadata store (qstor stopped): keys in a scattered order. */
async function fillBucket(dir: string, bucket: string, count: number): Promise<{ seconds: number; keys: string[] }> {
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'), { cacheMiB: 256 });
  const t0 = performance.now();
  const keys: string[] = [];
  try {
    const BATCH = 10_000;
    for (let first = 0; first < count; first += BATCH) {
      const batch: Array<{ key: string; manifest: ObjectManifest }> = [];
      for (let i = first; i < Math.min(count, first + BATCH); i++) {
        const id = mixHex(i) + mixHex(i ^ 0x5bd1e995) + i.toString(16).padStart(16, '0');
        const key = `obj-${mixHex(i)}-${i.toString(36)}`;
        batch.push({
          key,
          manifest: {
            id,
            size: 0,
            etag: 'd41d8cd98f00b204e9800998ecf8427e',
            lastModified: 1_700_000_000_000 + i,
            contentType: 'application/octet-stream',
            metadata: {},
            checksums: {},
            chunks: [],
          },
        });
      }
      await meta.putObjects(bucket, batch);
      if (keys.length < 3) keys.push(...batch.slice(0, 3).map((b) => b.key));
    }
  } finally {
    await meta.close();
  }
  return { seconds: (performance.now() - t0) / 1000, keys };
}

function mixHex(x: number): string {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, '0');
}

// ------------------------------------------------------------------------ the client alone

const NULL_S3 = fileURLToPath(new URL('./null-s3.js', import.meta.url));

async function nullLoads(o: Opts, listKeys: number, out: Measure[]): Promise<void> {
  const port = await freePorts(1);
  const proc = spawn(process.execPath, [NULL_S3, String(port), String(listKeys)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  try {
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.once('data', () => resolve());
      proc.once('exit', (code) => reject(new Error(`null-s3 exited (${code}) before it was ready`)));
    });
    const sys: Sys = { name: 'SDK alone', serverPids: () => [proc.pid!], gatewayPid: () => proc.pid! };
    const s3 = client(`http://127.0.0.1:${port}`, 'NULLACCESSKEY', 'nullsecret');
    try {
      await smallLoads(sys, s3, o, out, false);
      out.push(await listBucket(sys, s3, 'list', `LIST of ${fmt(listKeys)} keys, pages of 1000`, listKeys));
    } finally {
      s3.destroy();
    }
  } finally {
    await stopChild(proc, 'SIGTERM', 5000);
  }
}

// ------------------------------------------------------------------------ Ceph

function cephEnv(base: string): NodeJS.ProcessEnv {
  return { ...process.env, BASE: base };
}

function cephKeys(): { id: string; secret: string } {
  const env = fs.readFileSync(path.join(CEPH_DIR, 'env.sh'), 'utf8');
  const id = /AWS_ACCESS_KEY_ID=(\S+)/.exec(env)?.[1];
  const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(env)?.[1];
  if (!id || !secret) throw new Error(`no keys in ${CEPH_DIR}/env.sh`);
  return { id, secret };
}

function cephPids(base: string): number[] {
  const run = path.join(base, 'run');
  if (!fs.existsSync(run)) return [];
  return fs
    .readdirSync(run)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => Number(fs.readFileSync(path.join(run, f), 'utf8').trim()))
    .filter((p) => p > 0 && fs.existsSync(`/proc/${p}`));
}

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, log: string): Promise<number> {
  return new Promise((resolve) => {
    const fd = fs.openSync(log, 'a');
    const p = spawn(path.join(CEPH_DIR, script), args, { cwd: CEPH_DIR, env, stdio: ['ignore', fd, fd] });
    live.add(p);
    p.once('exit', (code) => {
      live.delete(p);
      fs.closeSync(fd);
      resolve(code ?? 1);
    });
    p.once('error', () => resolve(127));
  });
}

// ------------------------------------------------------------------------ helpers

const live = new Set<ChildProcess>();

function track(p: ChildProcess): void {
  live.add(p);
  p.once('exit', () => live.delete(p));
}

function sizeLabel(bytes: number): string {
  return bytes >= 1 << 30 && bytes % (1 << 30) === 0 ? `${bytes / (1 << 30)} GiB` : `${fmt(bytes / MiB)} MiB`;
}

// ------------------------------------------------------------------------ main

async function main(): Promise<void> {
  quietSdkNodeNotice();
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      ceph: { type: 'boolean', default: false },
      'no-ceph': { type: 'boolean', default: false },
      size: { type: 'string' },
      'part-size': { type: 'string', default: '8' },
      'small-count': { type: 'string' },
      'small-seconds': { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      'list-keys': { type: 'string' },
      'cpu-prof': { type: 'string' },
      json: { type: 'string' },
      'idle-wait': { type: 'string', default: '180' },
      clients: { type: 'string', default: 'sdk,aws' },
      'large-only': { type: 'boolean', default: false },
      'qstor-bin': { type: 'string' },
    },
  });
  const quick = values.quick;
  IDLE_WAIT_S = Number(values['idle-wait']);
  const withCeph = values['no-ceph'] ? false : quick ? values.ceph : true;
  const clients = new Set(values.clients.split(','));
  if ([...clients].some((c) => c !== 'sdk' && c !== 'aws')) throw new Error('--clients is a list of sdk, aws');
  if (clients.has('aws') && !awsCliAvailable())
    throw new Error('the aws cli is not on PATH (pip install awscli), or leave it out: --clients sdk');
  if (values['qstor-bin']) qstorBin = path.resolve(values['qstor-bin']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-s3-'));
  const o: Opts = {
    clients: { sdk: clients.has('sdk'), aws: clients.has('aws') },
    largeOnly: values['large-only'],
    bodyFile: path.join(tmp, 'body.bin'),
    workDir: tmp,
    size: Number(values.size ?? (quick ? 64 : 1024)) * MiB,
    partSize: Number(values['part-size']) * MiB,
    smallCount: Number(values['small-count'] ?? (quick ? 2000 : 30_000)),
    smallSeconds: Number(values['small-seconds'] ?? (quick ? 5 : 15)),
    concurrency: Number(values.concurrency),
  };
  const listKeys = Number(values['list-keys'] ?? (quick ? 20_000 : 1_000_000));
  if (!(
    o.size > 0 &&
    o.partSize >= 5 * MiB &&
    o.smallCount > 0 &&
    o.smallSeconds > 0 &&
    o.concurrency > 0 &&
    listKeys > 0
  ))
    throw new Error('bad sizes (--part-size is at least 5 MiB)');
  const cpuProf = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;
  if (cpuProf) fs.mkdirSync(cpuProf, { recursive: true });

  const cephBase = path.join(tmp, 'ceph-cluster');
  const cephLog = path.join(os.tmpdir(), `qstor-bench-s3-ceph-${process.pid}.log`);
  let cephStarted = false;
  let storeZdbs: LocalBackend[] = [];
  const cleanupSync = (): void => {
    for (const p of live) if (p.pid) for (const d of [...descendants(p.pid), p.pid]) killQuiet(d);
    for (const z of storeZdbs) if (z.process.exitCode === null) killQuiet(z.process.pid!);
    if (cephStarted) {
      try {
        execFileSync(path.join(CEPH_DIR, 'down.sh'), ['--purge'], { env: cephEnv(cephBase), stdio: 'ignore' });
      } catch {
        /* reported by the normal path */
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const emergency = (): void => {
    console.log('\n  interrupted: cleaning up');
    cleanupSync();
    process.exit(130);
  };
  process.once('SIGINT', emergency);
  process.once('SIGTERM', emergency);

  const cores = os.availableParallelism();
  console.log(
    `S3 benchmark: ${sizeLabel(o.size)} objects (parts ${sizeLabel(o.partSize)}), 4 KiB x ${fmt(o.smallCount)} or ${o.smallSeconds} s at concurrency ${o.concurrency}, ` +
      `LIST of ${fmt(listKeys)} keys; ${cores} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; Ceph: ${withCeph ? 'yes' : 'no'}`,
  );
  const results: Measure[] = [];
  const extra: Record<string, unknown> = {};
  let gatewayHwmKiB = 0;
  let cephError: string | undefined;
  let failure: unknown;
  try {
    const sha = await expectedSha256(o.size, 1);
    if (o.clients.aws) await writeBody(o.bodyFile, o.size);

    // ---- 1. the store API in this process
    if (!o.largeOnly) {
      console.log('\n[store API] ObjectStore (openStore, as the gateway) in this process over 6 local durable zdb');
      await waitLoad();
      await storeApiLoads(o, sha, path.join(tmp, 'store-api'), results, (z) => (storeZdbs = z));
      storeZdbs = [];
      fs.rmSync(path.join(tmp, 'store-api'), { recursive: true, force: true });
    }

    // ---- 2. qstor start
    console.log(`\n[qstor] node ${qstorBin} start (durable zdb, 4+2 over 6 backends)`);
    await waitLoad();
    const qdir = path.join(tmp, 'qstor');
    const keys = { id: 'QSTORBENCHACCESS0001', secret: randomBytes(20).toString('hex') };
    const port = await freePorts(1);
    const backendPort = await freePorts(6);
    let q = await startQstor(qdir, port, backendPort, keys, cpuProf);
    const qSys = (): Sys => ({
      name: 'qstor',
      serverPids: () => [q.proc.pid!, ...descendants(q.proc.pid!)],
      gatewayPid: () => q.gatewayPid,
    });
    const s3q = client(`http://127.0.0.1:${port}`, keys.id, keys.secret);
    try {
      await s3Loads(qSys(), s3q, { url: `http://127.0.0.1:${port}`, ...keys }, o, sha, results);
      if (!o.largeOnly) await s3q.send(new CreateBucketCommand({ Bucket: 'list' }));
    } finally {
      gatewayHwmKiB = Math.max(gatewayHwmKiB, q.hwmKiB());
      await q.stop();
    }
    if (o.largeOnly) s3q.destroy();
    else {
      console.log(
        `  qstor stopped; filling bucket "list" with ${fmt(listKeys)} keys straight through SqliteMetaStore.putObjects (empty objects) ...`,
      );
      const fill = await fillBucket(qdir, 'list', listKeys);
      console.log(
        `  filled in ${fmt(fill.seconds, 1)} s (${fmt(listKeys / fill.seconds)} keys/s, not an S3 figure); starting qstor again on the same directory`,
      );
      extra['listFillSeconds'] = fill.seconds;
      q = await startQstor(qdir, port, backendPort, keys, cpuProf);
      try {
        results.push(await listBucket(qSys(), s3q, 'list', `LIST of ${fmt(listKeys)} keys, pages of 1000`, listKeys));
      } finally {
        gatewayHwmKiB = Math.max(gatewayHwmKiB, q.hwmKiB());
        await q.stop();
        s3q.destroy();
      }
      console.log(`  gateway peak RSS (VmHWM, both gateway processes): ${fmt(gatewayHwmKiB / 1024)} MiB`);
      fs.rmSync(qdir, { recursive: true, force: true });

      // ---- 2b. the client alone, against a server that does nothing
      console.log(
        '\n[SDK alone] the same client against dist/bench/null-s3.js (answers at once, stores nothing): the ceiling this client reaches here',
      );
      await waitLoad();
      await nullLoads(o, listKeys, results);
    }

    // ---- 3. Ceph RGW
    if (withCeph) {
      console.log(`\n[Ceph] ${CEPH_DIR}/up.sh (RGW, EC 4+2 data pool over 6 BlueStore OSDs), log ${cephLog}`);
      try {
        if (!fs.existsSync('/usr/bin/radosgw'))
          throw new Error(
            'radosgw is not installed (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-mgr ceph-common)',
          );
        await waitLoad();
        cephStarted = true;
        const t = performance.now();
        const rc = await runScript('up.sh', [], cephEnv(cephBase), cephLog);
        if (rc !== 0) throw new Error(`up.sh exited with ${rc}; see ${cephLog}`);
        console.log(`  up in ${fmt((performance.now() - t) / 1000, 1)} s; waiting 20 s as the README says`);
        await sleep(20_000);
        await waitLoad();
        const ck = cephKeys();
        const s3c = client('http://127.0.0.1:7480', ck.id, ck.secret);
        const rgw = (): number | null => cephPids(cephBase).find((p) => cmdlineOf(p).includes('radosgw')) ?? null;
        try {
          await s3Loads(
            { name: 'Ceph', serverPids: () => cephPids(cephBase), gatewayPid: rgw },
            s3c,
            { url: 'http://127.0.0.1:7480', ...ck },
            o,
            sha,
            results,
          );
          const r = rgw();
          if (r) extra['radosgwHwmMiB'] = statusKiB(r, 'VmHWM') / 1024;
        } finally {
          s3c.destroy();
        }
      } catch (e) {
        cephError = (e as Error).message;
        console.log(`  Ceph failed: ${cephError}`);
      } finally {
        if (cephStarted) {
          const rc = await runScript('down.sh', ['--purge'], cephEnv(cephBase), cephLog);
          cephStarted = false;
          console.log(`  down.sh --purge: exit ${rc}`);
        }
      }
    }
  } catch (e) {
    failure = e;
  } finally {
    process.removeListener('SIGINT', emergency);
    process.removeListener('SIGTERM', emergency);
    cleanupSync();
  }
  if (failure) throw failure;

  // ---------------------------------------------------------------- table
  const find = (system: string, prefix: string): Measure | undefined =>
    results.find((r) => r.system === system && r.workload.startsWith(prefix));
  const label = sizeLabel(o.size);
  const rows: string[][] = [];
  const pass: Record<string, boolean | null> = {};
  const busy = (m: Measure): string => (m.cores.others > 0.3 || m.idleCoresBefore >= 0.5 ? '*' : '');
  const cell = (m: Measure | undefined): string =>
    m ? `${busy(m)}${fmt(m.rate)}${m.errors ? ` (${m.errors} err)` : ''}` : '-';
  const perGiB = (m: Measure | undefined): string => (m?.cpuSPerGiB ? fmt(m.cpuSPerGiB.server, 2) : '-');
  const loads = (q: Measure | undefined, c: Measure | undefined): string =>
    `${q ? q.load1.toFixed(2) : '-'} / ${c ? c.load1.toFixed(2) : '-'}`;
  const row = (
    name: string,
    prefix: string,
    target: string,
    check: ((q: Measure, c: Measure | undefined) => boolean) | null,
    id: string,
  ): void => {
    const q = find('qstor', prefix);
    const c = find('Ceph', prefix);
    const n = find('SDK alone', prefix);
    const ok = q && check ? check(q, c) && q.errors === 0 : null;
    pass[id] = ok;
    rows.push([
      name,
      cell(q),
      cell(c),
      q && c ? `${fmt(q.rate / c.rate, 2)}x` : '-',
      perGiB(q),
      perGiB(c),
      cell(n),
      q && n ? `${fmt(q.rate / n.rate, 2)}x` : '-',
      target,
      ok === null ? '-' : ok ? 'pass' : 'FAIL',
      loads(q, c),
    ]);
  };
  const vsCeph =
    (x: number) =>
    (q: Measure, c: Measure | undefined): boolean =>
      c ? q.rate >= x * c.rate : false;
  row(
    `${label} PUT single stream, MB/s`,
    `${label} PUT, single`,
    `>= ${TARGET.putVsCeph}x Ceph`,
    vsCeph(TARGET.putVsCeph),
    'putSingleVsCeph',
  );
  row(
    `${label} GET single stream, MB/s`,
    `${label} GET, single`,
    `>= ${TARGET.getVsCeph}x Ceph`,
    vsCeph(TARGET.getVsCeph),
    'getSingleVsCeph',
  );
  row(
    `${label} PUT 4-way multipart, MB/s`,
    `${label} PUT, 4-way`,
    `>= ${TARGET.putVsCeph}x Ceph`,
    vsCeph(TARGET.putVsCeph),
    'putMultiVsCeph',
  );
  row(
    `${label} GET 4-way ranged, MB/s`,
    `${label} GET, 4-way`,
    `>= ${TARGET.getVsCeph}x Ceph`,
    vsCeph(TARGET.getVsCeph),
    'getMultiVsCeph',
  );
  for (const w of [
    'PUT, aws cli one request',
    'GET, aws cli one request',
    'PUT, aws cli 8 MiB multipart x10',
    'GET, aws cli ranged x10',
  ])
    row(`${label} ${w}, MB/s`, `${label} ${w}`, '-', null, `aws ${w}`);
  row(
    `4 KiB PUT c${o.concurrency}, ops/s`,
    '4 KiB PUT',
    `>= ${fmt(TARGET.putOps)}/s, >= ${TARGET.smallPutVsCeph}x Ceph`,
    (q, c) => q.rate >= TARGET.putOps && vsCeph(TARGET.smallPutVsCeph)(q, c),
    'smallPut',
  );
  row(
    `4 KiB GET c${o.concurrency}, ops/s`,
    '4 KiB GET',
    `>= ${fmt(TARGET.getOps)}/s`,
    (q) => q.rate >= TARGET.getOps,
    'smallGet',
  );
  row(`4 KiB HEAD c${o.concurrency}, ops/s`, '4 KiB HEAD', '-', null, 'smallHead');
  row(`4 KiB DELETE c${o.concurrency}, ops/s`, '4 KiB DELETE', '-', null, 'smallDelete');
  row('LIST of the 4 KiB keys, keys/s', 'LIST of the', '-', null, 'listSmall');
  row(
    `LIST of ${fmt(listKeys)} keys, keys/s`,
    `LIST of ${fmt(listKeys)}`,
    `>= ${fmt(TARGET.listKeys)} keys/s`,
    (q) => q.rate >= TARGET.listKeys,
    'listBig',
  );
  for (const [what, s3prefix, apiPrefix] of [
    ['PUT single / store API PUT', `${label} PUT, single`, `${label} PUT`],
    ['GET single / store API GET', `${label} GET, single`, `${label} GET`],
    ['PUT multipart / store API PUT', `${label} PUT, 4-way`, `${label} PUT`],
    ['GET ranged / store API GET', `${label} GET, 4-way`, `${label} GET`],
  ] as const) {
    const s = find('qstor', s3prefix);
    const a = find('store API', apiPrefix);
    const ratio = s && a ? s.rate / a.rate : NaN;
    const ok = Number.isFinite(ratio) ? ratio >= TARGET.storeRatio : null;
    pass[`storeRatio ${what}`] = ok;
    rows.push([
      `S3 ${what}`,
      s && a ? `${fmt(s.rate)} / ${fmt(a.rate)} MB/s` : '-',
      '-',
      Number.isFinite(ratio) ? `${fmt(ratio, 2)}x` : '-',
      perGiB(a),
      '-',
      '-',
      '-',
      `>= ${TARGET.storeRatio}x`,
      ok === null ? '-' : ok ? 'pass' : 'FAIL',
      `${a ? a.load1.toFixed(2) : '-'} (API)`,
    ]);
  }
  const peakServer = (system: string): number =>
    Math.max(0, ...results.filter((r) => r.system === system).map((r) => r.rssMiB.serverPeakSampled));
  const peakGw = (system: string): number =>
    Math.max(0, ...results.filter((r) => r.system === system).map((r) => r.rssMiB.gatewayPeakSampled));
  const hasCeph = results.some((r) => r.system === 'Ceph');
  rows.push([
    'gateway peak RSS, MiB (VmHWM | sampled)',
    `${fmt(gatewayHwmKiB / 1024)} | ${fmt(peakGw('qstor'))}`,
    hasCeph
      ? `radosgw ${extra['radosgwHwmMiB'] !== undefined ? fmt(extra['radosgwHwmMiB'] as number) : '-'} | ${fmt(peakGw('Ceph'))}`
      : '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '',
  ]);
  rows.push([
    'all server processes peak RSS, MiB (sampled)',
    fmt(peakServer('qstor')),
    hasCeph ? fmt(peakServer('Ceph')) : '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '-',
    '',
  ]);
  console.log('');
  printTable(
    [
      'workload',
      'qstor',
      'Ceph',
      'ratio',
      'qstor CPU-s/GiB',
      'Ceph CPU-s/GiB',
      'SDK alone',
      'q / alone',
      'target',
      'result',
      'load q / c',
    ],
    rows.filter((r) => r[1] !== '-' || r[2] !== '-'),
  );
  console.log(
    `\n  MB = 10^6 bytes. qstor: durable (zdb --sync, sqlite WAL synced before each answer), 4+2 over 6 zdb, objects <= 16 KiB inline in their manifest. Ceph: ${hasCeph ? 'RGW 16.2, EC 4+2 data pool, 6 BlueStore OSDs on sparse files' : cephError ? `not measured: ${cephError}` : 'not measured'}.` +
      `\n  Timed GETs count bytes; every object was then read again untimed and checked by SHA-256. PUT timings include generating the body (AES-CTR + text, ~0.3 CPU-s/GiB).` +
      `\n  SDK alone: the same client and loads against bench/null-s3 (no auth, no storage, answers at once): what the client can drive on these cores; q / alone = qstor's share of it.` +
      `\n  Store API: ObjectStore opened by openStore (the gateway's code) in the bench process, same data, same run. LIST of ${fmt(listKeys)}: qstor only (filled through SqliteMetaStore.putObjects while stopped).` +
      `\n  CPU-s/GiB: utime+stime (/proc, all threads) of every server process per GiB moved: qstor = gateway with its worker threads + its 6 zdb + the launcher; Ceph = every daemon; store API row: the bench process + its zdb.` +
      `\n  load q / c: 1-minute load average before the qstor / Ceph workload (each also waited for < 0.5 core busy over 1 s).` +
      `\n  others (below): machine CPU minus client and server during the workload: kernel threads (loopback, fsync) and any other process.` +
      `\n  * = the machine was not quiet: others > 0.3 core during the workload, or >= 0.5 core busy just before it.`,
  );
  console.log('');
  printTable(
    [
      'where the CPU went (cores)',
      'client',
      'server',
      'of which gateway',
      'machine',
      'others',
      'server CPU-s/GiB (gateway)',
      'p50 / p99 ms',
    ],
    results.map((r) => [
      `${r.system}: ${r.workload}`,
      fmt(r.cores.client, 2),
      fmt(r.cores.server, 2),
      r.system === 'store API' ? '(in client)' : fmt(r.cores.gateway, 2),
      fmt(r.cores.machine, 2),
      fmt(r.cores.others, 2),
      r.cpuSPerGiB ? `${fmt(r.cpuSPerGiB.server, 2)} (${fmt(r.cpuSPerGiB.gateway, 2)})` : '',
      r.latencyMs ? `${fmt(r.latencyMs.p50, 1)} / ${fmt(r.latencyMs.p99, 1)}` : '',
    ]),
  );

  if (values.json) {
    fs.writeFileSync(
      values.json,
      JSON.stringify(
        {
          unit: { throughput: 'MB/s (10^6 bytes)', ops: 'operations per second', list: 'keys per second', rss: 'MiB' },
          node: process.version,
          cores,
          memGiB: os.totalmem() / 2 ** 30,
          options: { ...o, listKeys, quick, ceph: withCeph },
          targets: TARGET,
          gatewayPeakRssMiB: gatewayHwmKiB / 1024,
          cephError: cephError ?? null,
          ...extra,
          results,
          pass,
        },
        null,
        2,
      ) + '\n',
    );
  }
  if (cephError && withCeph) process.exitCode = 2;
}

await main();
