/**
 * Several gateways over one PostgreSQL against one gateway (issue 15), on this machine:
 *
 *   node dist/bench/gateways.js [--large-mib N] [--small-count N] [--small-seconds S]
 *                               [--concurrency N] [--json FILE] [--quick]
 *                               [--small-only] [--setups sqlite,pg,pg-1core,pg-2gw]
 *
 * Four set-ups, each on 6 fresh local durable zdb (4+2) and a fresh data directory, one at a time:
 * - `1 gw sqlite`: `qstor gateway --config` with its metadata in sqlite (the default);
 * - `1 gw PostgreSQL`: the same with `metadata: "postgres://..."`;
 * - `1 gw PostgreSQL, 1 core`: that gateway pinned to one core (`taskset -c 0`);
 * - `2 gw PostgreSQL, 1 core each`: two gateways over one database, `taskset -c 0` and `-c 1`,
 *   the client sending every other request to each.
 * Loads (the same client, @aws-sdk/client-s3, in this process): 4 KiB PUT then GET at
 * --concurrency (ops/s, each for --small-count operations or --small-seconds), and --large-mib
 * (default 256; issue 15 says 1024) PUT then GET as two concurrent streams of half the size
 * each (MB/s = 10^6 bytes over the wall time), the two streams going to the two gateways when
 * there are two. Every large object is read back untimed and checked by SHA-256.
 * Ratios: PostgreSQL / sqlite (one gateway, unpinned; target >= 0.85) and 2 gateways / 1 gateway
 * pinned to one core (target >= 1.6). `--small-only` skips the large objects, `--setups` runs only
 * the set-ups named (ratios need both of theirs): a metadata change is measured in minutes, not
 * in the half hour of the whole table.
 * Serialization retries per 4 KiB PUT (PostgreSQL): the server's "could not serialize" and
 * "deadlock detected" errors logged during the PUTs, each one transaction run again.
 *
 * PostgreSQL: Debian's (`/usr/lib/postgresql/<major>/bin`), `initdb` in a temporary directory on
 * a free port, trust on loopback, as the `postgres` user when run as root; fsync on, as in
 * production. (The test suite's server, test/helpers/postgres.ts, is not importable here.)
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from '../src/cli/backends.js';
import { fmt, freePorts, printTable } from './common.js';
import { client, drain, expectedSha256, lanes, pieces, quietSdkNodeNotice } from './s3-load.js';

const run = promisify(execFile);
const MiB = 1 << 20;
const QSTOR_BIN = fileURLToPath(new URL('../../bin/qstor.js', import.meta.url));
const ROOT = { id: 'QSTORBENCHGATEWAYS01', secret: 'bench-gateways-secret-0123456789abcdefghij' };
const TARGET = { pgVsSqlite: 0.85, twoVsOne: 1.6 };

interface Setup {
  /** What --setups calls it. */
  id: string;
  name: string;
  /** One entry per gateway: the core it is pinned to, or null. */
  cores: Array<number | null>;
  postgres: boolean;
}

const SETUPS: Setup[] = [
  { id: 'sqlite', name: '1 gw sqlite', cores: [null], postgres: false },
  { id: 'pg', name: '1 gw PostgreSQL', cores: [null], postgres: true },
  { id: 'pg-1core', name: '1 gw PostgreSQL, 1 core', cores: [0], postgres: true },
  { id: 'pg-2gw', name: '2 gw PostgreSQL, 1 core each', cores: [0, 1], postgres: true },
];

interface Figures {
  setup: string;
  smallPutOps: number;
  smallGetOps: number;
  /** Transactions run again per 4 KiB PUT (PostgreSQL; NaN on sqlite). */
  putRetries: number;
  largePutMBs: number;
  largeGetMBs: number;
  errors: number;
  load1: number;
}

type Metric = 'smallPutOps' | 'smallGetOps' | 'largePutMBs' | 'largeGetMBs';

interface Opts {
  largeBytes: number;
  smallCount: number;
  smallSeconds: number;
  concurrency: number;
  smallOnly: boolean;
}

// ------------------------------------------------------------------------ PostgreSQL

interface Postgres {
  urlFor(db: string): string;
  createDatabase(name: string): Promise<string>;
  /** Serialization failures and deadlocks the server logged so far. */
  retriesLogged(): number;
  stop(): Promise<void>;
}

async function startPostgres(): Promise<Postgres> {
  const root = '/usr/lib/postgresql';
  const major = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((d) => fs.existsSync(path.join(root, d, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  if (!major) throw new Error('PostgreSQL is not installed: apt-get install postgresql');
  const bin = (p: string): string => path.join(root, major, 'bin', p);
  const asRoot = process.getuid?.() === 0;
  const as = (file: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  // Its own temporary directory (the bench's is 0700 root's): the postgres user must reach it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-pg-'));
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  await as(bin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8']);
  const port = await freePorts(1);
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`;
  await as(bin('pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', 'start']);
  const urlFor = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    urlFor,
    async createDatabase(name) {
      await run(bin('psql'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-c',
        `CREATE DATABASE ${name}`,
      ]);
      return urlFor(name);
    },
    retriesLogged() {
      const log = fs.readFileSync(path.join(dir, 'log'), 'utf8');
      return (log.match(/ERROR: {2}(could not serialize access|deadlock detected)/g) ?? []).length;
    },
    async stop() {
      await as(bin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------ gateways

const live = new Set<ChildProcess>();

/** `qstor gateway --config FILE`, under `taskset -c core` when pinned; resolves once it serves. */
async function startGateway(config: string, core: number | null): Promise<ChildProcess> {
  const argv = [process.execPath, QSTOR_BIN, 'gateway', '--config', config];
  const [file, ...args] = core === null ? argv : ['taskset', '-c', String(core), ...argv];
  const proc = spawn(file!, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, QSTOR_ROOT_ACCESS_KEY: ROOT.id, QSTOR_ROOT_SECRET_KEY: ROOT.secret },
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  await new Promise<void>((resolve, reject) => {
    let text = '';
    proc.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (/S3 on port \d+/.test(text)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`qstor gateway exited (${code}) before it was ready:\n${text}`)));
  });
  return proc;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGINT');
  const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  await gone;
  clearTimeout(t);
}

// ------------------------------------------------------------------------ loads

async function loads(
  clients: S3Client[],
  o: Opts,
  shas: string[],
  retriesLogged: () => number,
): Promise<Omit<Figures, 'setup' | 'load1'>> {
  const pick = (i: number): S3Client => clients[i % clients.length]!;
  await pick(0).send(new CreateBucketCommand({ Bucket: 'bench' }));
  const bodies = Array.from({ length: o.concurrency }, () => randomBytes(4096));
  const key = (i: number): string => `small/${i.toString(16).padStart(8, '0')}`;
  const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const r = await f();
    return [r, (performance.now() - t) / 1000];
  };
  const retriesBefore = retriesLogged();
  const [put, putS] = await timed(() =>
    lanes(o.concurrency, o.smallCount, o.smallSeconds, async (i) => {
      await pick(i).send(new PutObjectCommand({ Bucket: 'bench', Key: key(i), Body: bodies[i % bodies.length]! }));
    }),
  );
  const putRetries = (retriesLogged() - retriesBefore) / put.count;
  const stored = put.count + put.errors;
  const [got, getS] = await timed(() =>
    lanes(o.concurrency, o.smallCount, o.smallSeconds, async (i) => {
      const res = await pick(i).send(new GetObjectCommand({ Bucket: 'bench', Key: key(i % stored) }));
      if ((await drain(res.Body)) !== 4096) throw new Error(`GET ${key(i % stored)}: not 4096 bytes`);
    }),
  );
  const small = { smallPutOps: put.count / putS, smallGetOps: got.count / getS, putRetries };
  const errors = put.errors + got.errors;
  if (put.firstError || got.firstError) console.log(`  first error: ${put.firstError ?? got.firstError}`);
  if (o.smallOnly) return { ...small, largePutMBs: NaN, largeGetMBs: NaN, errors };
  // Two streams of half the size each, stream n through gateway n (when there are two).
  const half = o.largeBytes / 2;
  const [, largePutS] = await timed(() =>
    Promise.all(
      [0, 1].map((n) =>
        pick(n).send(
          new PutObjectCommand({
            Bucket: 'bench',
            Key: `large-${n}`,
            Body: Readable.from(pieces(half, n + 1)),
            ContentLength: half,
          }),
        ),
      ),
    ),
  );
  const [, largeGetS] = await timed(() =>
    Promise.all(
      [0, 1].map(async (n) => {
        const res = await pick(n).send(new GetObjectCommand({ Bucket: 'bench', Key: `large-${n}` }));
        if ((await drain(res.Body)) !== half) throw new Error(`large-${n}: short GET`);
      }),
    ),
  );
  for (const n of [0, 1]) {
    const h = createHash('sha256');
    await drain((await pick(n + 1).send(new GetObjectCommand({ Bucket: 'bench', Key: `large-${n}` }))).Body, h);
    if (h.digest('hex') !== shas[n]) throw new Error(`large-${n} read back differs from what was stored`);
  }
  return {
    ...small,
    largePutMBs: o.largeBytes / 1e6 / largePutS,
    largeGetMBs: o.largeBytes / 1e6 / largeGetS,
    errors,
  };
}

async function measureSetup(s: Setup, tmp: string, pg: Postgres | null, o: Opts, shas: string[]): Promise<Figures> {
  const dir = path.join(tmp, s.name.replace(/[^a-z0-9]+/gi, '-'));
  const first = await freePorts(6);
  let zdbs: LocalBackend[] = [];
  const gateways: ChildProcess[] = [];
  const clients: S3Client[] = [];
  try {
    zdbs = await startLocalBackends(path.join(dir, 'zdb'), 6, first);
    const metadata = pg ? await pg.createDatabase(`bench_${s.name.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`) : null;
    const ports = await freePorts(s.cores.length);
    const masterKey = randomBytes(32).toString('hex');
    for (const [i, core] of s.cores.entries()) {
      const data = path.join(dir, `gw${i}`);
      fs.mkdirSync(data, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(data, 'master.key'), `${masterKey}\n`, { mode: 0o600 });
      const config = path.join(dir, `gw${i}.json`);
      fs.writeFileSync(
        config,
        JSON.stringify({
          data,
          ...(metadata ? { metadata } : {}),
          port: ports + i,
          dataShards: 4,
          parityShards: 2,
          backends: zdbs.map((z, n) => ({
            id: `z${n}`,
            farm: `farm${n % 3}`,
            node: `node${n}`,
            address: `127.0.0.1:${z.port}`,
            namespace: 'default',
            password: z.password,
          })),
        }),
      );
      gateways.push(await startGateway(config, core));
      clients.push(client(`http://127.0.0.1:${ports + i}`, ROOT.id, ROOT.secret));
    }
    const load1 = Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    const f = await loads(clients, o, shas, () => pg?.retriesLogged() ?? NaN);
    const retries = pg ? ` (${fmt(f.putRetries, 2)} retries per PUT)` : '';
    const large = o.smallOnly ? '' : `; large PUT ${fmt(f.largePutMBs, 1)} MB/s, GET ${fmt(f.largeGetMBs, 1)} MB/s`;
    const line = `${s.name}: 4 KiB PUT ${fmt(f.smallPutOps)} ops/s${retries}, GET ${fmt(f.smallGetOps)} ops/s${large}`;
    console.log(`  ${line}${f.errors ? `, ${f.errors} ERRORS` : ''} (load ${load1.toFixed(2)})`);
    return { setup: s.name, ...f, load1 };
  } finally {
    for (const c of clients) c.destroy();
    await Promise.all(gateways.map(stopChild));
    await stopLocalBackends(zdbs);
  }
}

// ------------------------------------------------------------------------ main

async function main(): Promise<void> {
  quietSdkNodeNotice();
  const { values } = parseArgs({
    options: {
      'large-mib': { type: 'string' },
      'small-count': { type: 'string' },
      'small-seconds': { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'small-only': { type: 'boolean', default: false },
      setups: { type: 'string', default: SETUPS.map((s) => s.id).join(',') },
    },
  });
  const chosen = values.setups.split(',');
  const setups = SETUPS.filter((s) => chosen.includes(s.id));
  if (setups.length !== chosen.length) throw new Error(`--setups: among ${SETUPS.map((s) => s.id).join(', ')}`);
  const o: Opts = {
    largeBytes: Number(values['large-mib'] ?? (values.quick ? 32 : 256)) * MiB,
    smallCount: Number(values['small-count'] ?? (values.quick ? 1000 : 5000)),
    smallSeconds: Number(values['small-seconds'] ?? (values.quick ? 5 : 15)),
    concurrency: Number(values.concurrency),
    smallOnly: values['small-only'],
  };
  if (!(o.largeBytes >= 2 * MiB && o.smallCount > 0 && o.smallSeconds > 0 && o.concurrency > 0))
    throw new Error('bad sizes (--large-mib is at least 2)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-gws-'));
  let pg: Postgres | null = null;
  const cleanup = (): void => {
    for (const p of live) p.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const results: Figures[] = [];
  try {
    pg = await startPostgres();
    const shas = [await expectedSha256(o.largeBytes / 2, 1), await expectedSha256(o.largeBytes / 2, 2)];
    for (const s of setups) results.push(await measureSetup(s, tmp, s.postgres ? pg : null, o, shas));
  } finally {
    cleanup();
    await pg?.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // A set-up not run has no figures: its ratios are NaN, shown as '-'.
  const by = (id: string): Figures | undefined =>
    results.find((r) => r.setup === SETUPS.find((s) => s.id === id)!.name);
  const ratio = (a: Figures | undefined, b: Figures | undefined, k: Metric): number => (a && b ? a[k] / b[k] : NaN);
  const show = (n: number, digits: number): string => (Number.isNaN(n) ? '-' : fmt(n, digits));
  const times = (n: number): string => (Number.isNaN(n) ? '-' : `${fmt(n, 2)}x`);
  const [sqlite, pg1, pinned, two] = SETUPS.map((s) => by(s.id));
  const metrics: Array<readonly [string, Metric, number]> = [
    ['4 KiB PUT, ops/s', 'smallPutOps', 0],
    ['4 KiB GET, ops/s', 'smallGetOps', 0],
    ...(o.smallOnly
      ? []
      : ([
          [`${o.largeBytes / MiB} MiB PUT (2 streams), MB/s`, 'largePutMBs', 1],
          [`${o.largeBytes / MiB} MiB GET (2 streams), MB/s`, 'largeGetMBs', 1],
        ] as const)),
  ];
  const ratios: Record<string, { pgVsSqlite: number; twoVsOne: number }> = {};
  console.log('');
  printTable(
    ['workload', ...results.map((r) => r.setup), 'PG / sqlite', '2 gw / 1 gw 1 core'],
    metrics
      .map(([label, k, digits]) => {
        ratios[k] = { pgVsSqlite: ratio(pg1, sqlite, k), twoVsOne: ratio(two, pinned, k) };
        return [
          label,
          ...results.map((r) => show(r[k], digits)),
          times(ratios[k].pgVsSqlite),
          times(ratios[k].twoVsOne),
        ];
      })
      .concat([['serialization retries per 4 KiB PUT', ...results.map((r) => show(r.putRetries, 2)), '', '']]),
  );
  console.log(
    `\n  targets: PG / sqlite >= ${TARGET.pgVsSqlite}x, 2 gw / 1 gw (1 core) >= ${TARGET.twoVsOne}x. ${os.cpus().length} cores; ` +
      `1-minute load before each set-up: ${results.map((r) => r.load1.toFixed(2)).join(', ')}. MB = 10^6 bytes; durable zdb (--sync), 4+2.`,
  );
  if (values.json)
    fs.writeFileSync(
      values.json,
      JSON.stringify(
        { node: process.version, cores: os.cpus().length, options: o, targets: TARGET, results, ratios },
        null,
        2,
      ) + '\n',
    );
}

await main();
