/**
 * zdb server throughput and memory: ours (bin/zdb.js) beside 0-db when ZDB_REFERENCE_BIN names its
 * binary, in one run, servers alternating so that load from elsewhere hits both alike.
 *
 *   node dist/bench/zdb.js [--json FILE] [--quick] [--iterations N]
 *
 * Load comes from redis-benchmark (Debian package redis-tools), a separate C process, with 50
 * connections; it counts zdb's SET reply (the key as a bulk string) like +OK. SET keys are new,
 * GET keys (key:000000000000 ...) are filled beforehand, so every SET writes and every GET hits. Durable SET runs both servers with --sync. RSS per key is the VmRSS growth over 1M SETs
 * of 32-byte keys and 8-byte values. Each figure is the median of the iterations, each on a server
 * started with fresh directories; MB/s counts value bytes, 10^6 per MB. CPU-s/GiB is the server's
 * utime+stime (/proc, every thread) over one redis-benchmark run per GiB of values it moved: the
 * figure that survives a loaded shared machine, unlike ops/s. Ours runs with the malloc settings
 * `qstor start` gives it (src/util/data-path-env.ts).
 *
 *   --large-only   only the 1 MiB and 4 MiB loads (the size of shards)
 *   --ours PATH    another build's bin/zdb.js as ours (before/after runs: alternate, medians of 3)
 */
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dataPathEnv } from '../src/util/data-path-env.js';
import { ZdbClient } from '../src/zdb-client/index.js';
import { processCpuSeconds } from './common.js';

const HOST = '127.0.0.1';
const CONNECTIONS = 50;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SET_KEYSPACE = 2_000_000_000; // redis-benchmark's -r is a C int
const THIS_BUILD = fileURLToPath(new URL('../../bin/zdb.js', import.meta.url));

interface Plan {
  iterations: number;
  smallSet: number; // requests per 4 KiB SET run
  smallGet: number;
  smallKeys: number; // keyspace the 4 KiB GETs read
  largeSet: number;
  largeGet: number;
  largeKeys: number;
  hugeSet: number; // 4 MiB SETs per run
  hugeGet: number;
  hugeKeys: number;
  durableSet: number;
  rssKeys: number;
}

const FULL: Plan = {
  iterations: 3,
  smallSet: 50_000,
  smallGet: 100_000,
  smallKeys: 20_000,
  largeSet: 512,
  largeGet: 1_024,
  largeKeys: 200,
  hugeSet: 128,
  hugeGet: 256,
  hugeKeys: 50,
  durableSet: 5_000,
  rssKeys: 1_000_000,
};
const QUICK: Plan = {
  iterations: 1,
  smallSet: 2_000,
  smallGet: 2_000,
  smallKeys: 500,
  largeSet: 50,
  largeGet: 50,
  largeKeys: 10,
  hugeSet: 20,
  hugeGet: 20,
  hugeKeys: 5,
  durableSet: 200,
  rssKeys: 20_000,
};

type Target = ['>=' | '<=', number] | null;
/** A workload's figure (ops/s, or bytes per key for RSS) and the server's CPU-s per GiB moved. */
interface Figure {
  value: number;
  cpuPerGiB: number | null;
}
/** Runs workloads on one fresh server; their figures by name. */
type Measure = (server: Server) => Promise<Record<string, Figure>>;

interface Workload {
  name: string;
  /** Value size for MB/s; 0 when the figure is not a rate. */
  bytes: number;
  unit: 'ops/s' | 'bytes/key';
  target: Target;
}

interface Side {
  samples: number[];
  median: number;
  mbPerSec: number | null;
  cpuPerGiB: number | null;
}

interface Row extends Workload {
  ours: Side;
  reference: Side | null;
  ratio: number | null;
  pass: boolean | null;
}

interface Server {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * A port nothing listens on, below the kernel's ephemeral range (32768+) so that another process
 * asking the kernel for a free port is not handed it before our server binds it.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, HOST, () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `bin` is 0-db's executable or our bin/zdb.js; ready once its port accepts connections. */
async function startServer(bin: string, flags: string[]): Promise<Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zdb-bench-'));
  const port = await freePort();
  const args = [
    '--listen',
    HOST,
    '--port',
    String(port),
    '--data',
    path.join(dir, 'data'),
    '--index',
    path.join(dir, 'index'),
    ...flags,
  ];
  const stdio: StdioOptions = ['ignore', 'ignore', 'pipe'];
  const child = bin.endsWith('.js')
    ? spawn(process.execPath, [bin, ...args], { stdio, env: dataPathEnv() })
    : spawn(bin, args, { stdio });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${bin} ${args.join(' ')} did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, port, stop };
}

function requireRedisBenchmark(): void {
  if (spawnSync('redis-benchmark', ['--version']).error) {
    console.error('bench/zdb needs redis-benchmark, which is not installed: apt-get install -y redis-tools');
    process.exit(2);
  }
}

/** One redis-benchmark run; its ops/s. `load` says what to send; `-x` reads its last argument from `input`. */
function redisBenchmark(port: number, pipeline: number, requests: number, load: string[], input?: Buffer): number {
  const args = [
    '-h',
    HOST,
    '-p',
    String(port),
    '-c',
    String(CONNECTIONS),
    '-P',
    String(pipeline),
    '-n',
    String(requests),
    '-q',
    '--csv',
    ...load,
  ];
  const run = spawnSync('redis-benchmark', args, { input, encoding: 'utf8', maxBuffer: MiB });
  const line = run.stdout.split('\n').find((l) => /^"(SET|GET)/.test(l));
  if (run.status !== 0 || !line)
    throw new Error(`redis-benchmark ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
  return Number(JSON.parse(`[${line}]`)[1]);
}

async function withClient<T>(port: number, use: (client: ZdbClient) => Promise<T>): Promise<T> {
  const client = new ZdbClient({ host: HOST, port, connections: 8 });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** SETs keys 0 .. count-1 (named by `key`), 512 requests in flight over 8 connections. */
function fill(port: number, count: number, key: (i: number) => string, value: Buffer): Promise<void> {
  return withClient(port, async (client) => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) await client.set(key(next++), value);
    };
    await Promise.all(Array.from({ length: 512 }, lane));
  });
}

/** Runs one load and takes the server's CPU-seconds over it, per GiB of the `bytes` it moved. */
function withCpu(pid: number, bytes: number, load: () => number): Figure {
  const before = processCpuSeconds(pid) ?? 0;
  const value = load();
  return { value, cpuPerGiB: ((processCpuSeconds(pid) ?? 0) - before) / (bytes / GiB) };
}

let setRuns = 0;

/**
 * SETs of new keys: random ones under a prefix of this run's own, since two redis-benchmark runs
 * can draw the same random keys, and a SET of an unchanged value writes nothing. redis-benchmark
 * does not look at replies, so check that the server stored them.
 */
async function setRun(server: Server, pipeline: number, requests: number, bytes: number): Promise<Figure> {
  const { pid, port } = server;
  const before = await withClient(port, (c) => c.dbsize());
  const load = ['-r', String(SET_KEYSPACE), '-x', 'SET', `run${++setRuns}:__rand_int__`];
  const value = Buffer.alloc(bytes, 'x');
  const figure = withCpu(pid, requests * bytes, () => redisBenchmark(port, pipeline, requests, load, value));
  const stored = (await withClient(port, (c) => c.dbsize())) - before;
  if (stored < requests * 0.99) throw new Error(`only ${stored} of ${requests} SETs stored on port ${port}`);
  return figure;
}

async function vmRss(pid: number): Promise<number> {
  const kb = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** SET at pipeline 1 and 16, then fill `keys` keys and GET them at pipeline 1 and 16. */
function throughput(bytes: number, setRequests: number, getRequests: number, keys: number): Measure {
  const label = bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`;
  return async (server) => {
    const out: Record<string, Figure> = {};
    for (const p of [1, 16]) out[`SET ${label} P${p}`] = await setRun(server, p, setRequests, bytes);
    await fill(server.port, keys, (i) => `key:${String(i).padStart(12, '0')}`, Buffer.alloc(bytes, 'x'));
    const get = ['-d', String(bytes), '-r', String(keys), '-t', 'get'];
    for (const p of [1, 16])
      out[`GET ${label} P${p}`] = withCpu(server.pid, getRequests * bytes, () =>
        redisBenchmark(server.port, p, getRequests, get),
      );
    return out;
  };
}

interface Group {
  flags: string[];
  measure: Measure;
  info: Workload[];
  /** Values of 1 MiB and more (what --large-only keeps). */
  large?: boolean;
}

/** Groups of workloads; each group gets a fresh server (started with `flags`) per iteration. */
function workloads(plan: Plan): Group[] {
  const rate = (name: string, bytes: number, target: Target): Workload => ({ name, bytes, unit: 'ops/s', target });
  const rssName = `RSS per key, ${plan.rssKeys.toLocaleString('en-US')} 32-byte keys`;
  return [
    {
      flags: [],
      measure: throughput(4 * KiB, plan.smallSet, plan.smallGet, plan.smallKeys),
      info: [
        rate('SET 4 KiB P1', 4 * KiB, ['>=', 0.8]),
        rate('SET 4 KiB P16', 4 * KiB, ['>=', 0.5]),
        rate('GET 4 KiB P1', 4 * KiB, ['>=', 0.8]),
        rate('GET 4 KiB P16', 4 * KiB, ['>=', 0.5]),
      ],
    },
    {
      flags: [],
      measure: throughput(MiB, plan.largeSet, plan.largeGet, plan.largeKeys),
      info: ['SET', 'GET'].flatMap((op) => [1, 16].map((p) => rate(`${op} 1 MiB P${p}`, MiB, ['>=', 0.9]))),
      large: true,
    },
    {
      // Shards as a store writes them: durable.
      flags: ['--sync'],
      measure: throughput(4 * MiB, plan.hugeSet, plan.hugeGet, plan.hugeKeys),
      info: ['SET', 'GET'].flatMap((op) => [1, 16].map((p) => rate(`${op} 4 MiB P${p}`, 4 * MiB, ['>=', 0.9]))),
      large: true,
    },
    {
      flags: ['--sync'],
      measure: async (s) => ({ 'SET 4 KiB P1 --sync': await setRun(s, 1, plan.durableSet, 4 * KiB) }),
      info: [rate('SET 4 KiB P1 --sync', 4 * KiB, null)],
    },
    {
      flags: [],
      measure: async (s) => {
        const before = await vmRss(s.pid);
        await fill(s.port, plan.rssKeys, (i) => `rss:${String(i).padStart(28, '0')}`, Buffer.from('12345678'));
        await new Promise((r) => setTimeout(r, 1_000));
        return { [rssName]: { value: ((await vmRss(s.pid)) - before) / plan.rssKeys, cpuPerGiB: null } };
      },
      info: [{ name: rssName, bytes: 0, unit: 'bytes/key', target: ['<=', 1.5] }],
    },
  ];
}

function side(figures: Figure[], bytes: number): Side {
  const samples = figures.map((f) => f.value);
  const m = median(samples);
  const cpu = figures.flatMap((f) => (f.cpuPerGiB === null ? [] : [f.cpuPerGiB]));
  return {
    samples,
    median: m,
    mbPerSec: bytes ? (m * bytes) / 1e6 : null,
    cpuPerGiB: cpu.length ? median(cpu) : null,
  };
}

async function measureAll(plan: Plan, groups: Group[], ours: string, reference: string | undefined): Promise<Row[]> {
  const bins = reference ? { ours, reference } : { ours };
  const rows: Row[] = [];
  for (const { flags, measure, info } of groups) {
    const samples: Record<string, Record<string, Figure[]>> = { ours: {}, reference: {} };
    for (let it = 0; it < plan.iterations; it++) {
      const order = Object.entries(bins);
      if (it % 2) order.reverse();
      for (const [who, bin] of order) {
        const server = await startServer(bin, flags);
        try {
          for (const [name, figure] of Object.entries(await measure(server))) (samples[who][name] ??= []).push(figure);
        } finally {
          await server.stop();
        }
      }
    }
    for (const w of info) {
      const ours = side(samples.ours[w.name], w.bytes);
      const ref = reference ? side(samples.reference[w.name], w.bytes) : null;
      const ratio = ref ? ours.median / ref.median : null;
      const pass =
        ratio === null || !w.target ? null : w.target[0] === '>=' ? ratio >= w.target[1] : ratio <= w.target[1];
      rows.push({ ...w, ours, reference: ref, ratio, pass });
      const cpu = (s: Side): string => (s.cpuPerGiB === null ? '' : ` (${fmt(s.cpuPerGiB, 2)} CPU-s/GiB)`);
      console.error(
        `  ${w.name}: ours ${fmt(ours.median)}${cpu(ours)}${ref ? `, reference ${fmt(ref.median)}${cpu(ref)}` : ''}`,
      );
    }
  }
  return rows;
}

function fmt(n: number | null, digits = 0): string {
  return n === null
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows: Row[]): void {
  const header = [
    'workload',
    'ours ops/s',
    'ours MB/s',
    'ours CPU-s/GiB',
    'reference ops/s',
    'reference MB/s',
    'reference CPU-s/GiB',
    'ratio',
    'target',
    'pass/fail',
  ];
  const cpuCell = (s: Side): string => (s.cpuPerGiB === null ? '-' : fmt(s.cpuPerGiB, 2));
  const value = (s: Side | null, unit: Row['unit']): string =>
    s === null ? 'n/a' : unit === 'ops/s' ? fmt(s.median) : `${fmt(s.median, 1)} B/key`;
  const lines = rows.map((r) => [
    r.name,
    value(r.ours, r.unit),
    r.unit === 'ops/s' ? fmt(r.ours.mbPerSec, 1) : '-',
    cpuCell(r.ours),
    value(r.reference, r.unit),
    r.unit === 'ops/s' && r.reference ? fmt(r.reference.mbPerSec, 1) : r.reference ? '-' : 'n/a',
    r.reference ? cpuCell(r.reference) : 'n/a',
    fmt(r.ratio, 2),
    r.target ? `${r.target[0]} ${r.target[1]}x` : '-',
    r.pass === null ? (r.ratio === null ? 'n/a' : '-') : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const line of [header, ...lines])
    console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      iterations: { type: 'string' },
      'large-only': { type: 'boolean', default: false },
      ours: { type: 'string' },
    },
  });
  const plan = { ...(values.quick ? QUICK : FULL) };
  if (values.iterations) plan.iterations = Number(values.iterations);
  if (!Number.isInteger(plan.iterations) || plan.iterations < 1)
    throw new RangeError(`--iterations must be a positive integer, got ${values.iterations}`);
  requireRedisBenchmark();
  const reference = process.env.ZDB_REFERENCE_BIN || undefined;
  console.error(
    `zdb bench: ${CONNECTIONS} connections, median of ${plan.iterations}, reference ${reference ?? 'none (set ZDB_REFERENCE_BIN)'}`,
  );
  const started = Date.now();
  const ours = values.ours ? path.resolve(values.ours) : THIS_BUILD;
  const groups = workloads(plan).filter((g) => !values['large-only'] || g.large);
  const rows = await measureAll(plan, groups, ours, reference);
  printTable(rows);
  if (values.json) {
    const meta = {
      node: process.version,
      connections: CONNECTIONS,
      plan,
      ours,
      reference: reference ?? null,
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(values.json, JSON.stringify({ ...meta, rows }, null, 2));
  }
}

await main();
