/**
 * Writes with a backend down: the object store (4+2 on 6 local durable zdb, defaults of
 * `qstor start`) healthy, with one zdb killed (SIGKILL) and with one frozen (SIGSTOP: accepts
 * connections, never answers). Each scenario starts right after the fault, so the time the
 * store takes to notice it (connection refused; the shard timeout) is in its figures.
 *
 *   node dist/bench/store.js --writes [--size MiB] [--count N] [--heal-gib G] [--json FILE] [--quick]
 *
 * Figures per scenario: a single-stream PUT of --size MiB (MB/s, 10^6 bytes/s), and PUT ops/s
 * of 4 KiB objects (kept inline: metadata copies only) and 64 KiB objects (one chunk, six
 * shards), --count each at concurrency 16; ratios to healthy (target >= 0.8x). Then, the
 * backend still dead, --heal-gib GiB more (default 0.5, in objects of 64 MiB), and it comes
 * back (same data): the time to redundancy, until every chunk written while it was down is at
 * k+m again and the repair queue is empty (the queue's Completer, unthrottled).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from '../src/cli/backends.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '../src/pipeline/pool.js';
import type { Backend } from '../src/placement/backend.js';
import { Completer } from '../src/repair/completion.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { ObjectStore } from '../src/store/object-store.js';
import { fmt, freePorts, printTable, textLike } from './common.js';

const MiB = 1 << 20;
const BACKENDS = 6;
const CONCURRENCY = 16;
const TARGET_RATIO = 0.8;

interface Scenario {
  name: string;
  putMBps: number;
  small4kOps: number;
  small64kOps: number;
  /** Chunks written with a shard recorded missing, and their plain bytes. */
  degradedChunks: number;
  degradedBytes: number;
}

/** `size` bytes in 1 MiB pieces, half random (incompressible) and half text-like. */
async function* body(size: number, seed: number): AsyncGenerator<Buffer> {
  const text = textLike(MiB, seed);
  for (let offset = 0, i = 0; offset < size; offset += MiB, i++) {
    const n = Math.min(MiB, size - offset);
    yield i % 2 ? Buffer.from(text.subarray(0, n)) : randomBytes(n);
  }
}

/** Writes `bytes` in objects of 64 MiB; resolves to the seconds taken. */
async function fill(store: ObjectStore, tag: string, bytes: number): Promise<number> {
  const t0 = performance.now();
  for (let offset = 0, i = 0; offset < bytes; offset += 64 * MiB, i++)
    await store.put('bench', `${tag}/${i}`, body(Math.min(64 * MiB, bytes - offset), i));
  return (performance.now() - t0) / 1000;
}

/** Time to redundancy: Completer passes until the repair queue is empty. */
async function heal(completer: Completer, meta: SqliteMetaStore): Promise<{ chunks: number; seconds: number }> {
  const t0 = performance.now();
  let chunks = 0;
  while ((await meta.countRepairs()) > 0) {
    if (performance.now() - t0 > 30 * 60_000) throw new Error('the repair queue did not drain in 30 minutes');
    const r = await completer.pass();
    chunks += r.completed;
    if (r.taken === 0) await new Promise((resolve) => setTimeout(resolve, 100)); // leased ones come back
  }
  return { chunks, seconds: (performance.now() - t0) / 1000 };
}

async function* once(piece: Buffer): AsyncGenerator<Buffer> {
  yield piece;
}

async function opsPerSecond(store: ObjectStore, tag: string, size: number, count: number): Promise<number> {
  const payload = randomBytes(size);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // A fresh copy each time: the store hands chunk buffers over to its workers.
      for (let i = next++; i < count; i = next++)
        await store.put('bench', `${tag}/${size}/${i}`, once(Buffer.from(payload)));
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

async function scenario(store: ObjectStore, name: string, tag: string, size: number, count: number): Promise<Scenario> {
  const before = { ...store.writes };
  const t0 = performance.now();
  await store.put('bench', `${tag}/big`, body(size, tag.length));
  const putMBps = size / ((performance.now() - t0) * 1000);
  const small4kOps = await opsPerSecond(store, tag, 4096, count);
  const small64kOps = await opsPerSecond(store, tag, 65536, count);
  const r = {
    name,
    putMBps,
    small4kOps,
    small64kOps,
    degradedChunks: store.writes.degradedChunks - before.degradedChunks,
    degradedBytes: store.writes.degradedBytes - before.degradedBytes,
  };
  console.log(
    `  ${name}: PUT ${fmt(putMBps)} MB/s, 4 KiB ${fmt(small4kOps)} ops/s, 64 KiB ${fmt(small64kOps)} ops/s, ${r.degradedChunks} chunks degraded`,
  );
  return r;
}

export async function degradedWritesBench(values: {
  size?: string;
  count?: string;
  'heal-gib'?: string;
  json?: string;
  quick?: boolean;
}): Promise<void> {
  const size = Number(values.size ?? (values.quick ? 32 : 256)) * MiB;
  const count = Number(values.count ?? (values.quick ? 200 : 1000));
  const healBytes = Math.round(Number(values['heal-gib'] ?? (values.quick ? 0.125 : 0.5)) * 1024 * MiB);
  if (!Number.isSafeInteger(size) || size <= 0 || !Number.isSafeInteger(count) || count <= 0)
    throw new Error('--size (MiB) and --count take positive numbers');
  if (!Number.isSafeInteger(healBytes) || healBytes < 0) throw new Error('--heal-gib takes a number of GiB');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-degraded-'));
  const firstPort = await freePorts(BACKENDS);
  // One data root per backend, so that one can be started again alone on its data.
  const start = async (i: number): Promise<LocalBackend> =>
    (await startLocalBackends(path.join(dir, `z${i}`), 1, firstPort + i))[0]!;
  const zdbs: LocalBackend[] = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => start(i)));
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
  const backends = new BackendPool(list);
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  const pipeline = new PipelinePool();
  const store = new ObjectStore({
    meta,
    backends,
    pipeline,
    masterKey: randomBytes(32),
  });
  let frozen: LocalBackend | null = null;
  try {
    await backends.refresh();
    await store.createBucket('bench');
    console.log(
      `degraded writes: ${store.k}+${store.m} on ${BACKENDS} local zdb (--sync), write quorum ${store.writeQuorum}, ${os.availableParallelism()} cores, load ${fmt(os.loadavg()[0]!, 1)}\n`,
    );
    // Untimed warm-up: workers and their codecs, connections, sqlite pages.
    await store.put('bench', 'warm/big', body(16 * MiB, 0));
    await opsPerSecond(store, 'warm', 65536, 2 * CONCURRENCY);
    const healthy = await scenario(store, 'healthy', 'healthy', size, count);

    zdbs[5]!.process.kill('SIGKILL');
    await new Promise((r) => zdbs[5]!.process.once('exit', r));
    const dead = await scenario(store, 'one zdb killed', 'dead', size, count);
    const degradedBefore = store.writes.degradedBytes;
    const fillS = await fill(store, 'heal', healBytes);
    console.log(`  still killed: ${sizeGiB(healBytes)} GiB more in ${fmt(fillS, 1)} s`);
    const degradedBytes = store.writes.degradedBytes - degradedBefore + dead.degradedBytes;

    // Back, with its data: time to bring the chunks written meanwhile to k+m.
    zdbs[5] = await start(5);
    const back = performance.now();
    while (backends.get('b5')!.state !== 'up') await backends.refresh();
    const completer = new Completer(
      { meta, backends, pipeline },
      { batch: 1000, leaseMs: 10_000, graceMs: 15 * 60_000, chunksPerSecond: 0 },
    );
    const healed = await heal(completer, meta);
    const completion = {
      chunks: healed.chunks,
      bytesWrittenDown: degradedBytes,
      seconds: (performance.now() - back) / 1000,
      completerSeconds: healed.seconds,
    };
    console.log(`  b5 back: ${completion.chunks} chunks to k+m in ${fmt(completion.seconds, 1)} s`);

    frozen = zdbs[4]!;
    frozen.process.kill('SIGSTOP');
    const hung = await scenario(store, 'one zdb frozen (SIGSTOP)', 'hung', size, count);
    frozen.process.kill('SIGCONT');
    frozen = null;

    const ratio = (a: number, b: number): string => `${fmt(a / b, 2)}x`;
    console.log('');
    printTable(
      ['scenario', 'PUT MB/s', 'ratio', '4 KiB PUT ops/s', 'ratio', '64 KiB PUT ops/s', 'ratio', 'chunks degraded'],
      [healthy, dead, hung].map((s) => [
        s.name,
        fmt(s.putMBps),
        ratio(s.putMBps, healthy.putMBps),
        fmt(s.small4kOps),
        ratio(s.small4kOps, healthy.small4kOps),
        fmt(s.small64kOps),
        ratio(s.small64kOps, healthy.small64kOps),
        String(s.degradedChunks),
      ]),
    );
    console.log(
      `\n  PUT of ${size / MiB} MiB single stream; ${count} small PUTs per size at concurrency ${CONCURRENCY}; target >= ${TARGET_RATIO}x healthy.`,
    );
    console.log('');
    printTable(
      ['time to redundancy', 'written degraded', 'chunks completed', 'seconds', 'MB/s completed'],
      [
        [
          'killed zdb back (same data)',
          `${sizeGiB(completion.bytesWrittenDown)} GiB`,
          String(completion.chunks),
          fmt(completion.seconds, 1),
          fmt(completion.bytesWrittenDown / completion.seconds / 1e6),
        ],
      ],
    );
    console.log(
      `\n  From the zdb's start to an empty repair queue: every chunk written while it was dead (the killed scenario and --heal-gib ${sizeGiB(healBytes)} GiB) back at k+m.\n`,
    );
    if (values.json) {
      const pass = [dead, hung].every(
        (s) => s.putMBps >= TARGET_RATIO * healthy.putMBps && s.small4kOps >= TARGET_RATIO * healthy.small4kOps,
      );
      fs.writeFileSync(
        values.json,
        JSON.stringify(
          {
            unit: { put: 'MB/s (10^6 bytes)', small: 'PUT ops/s' },
            k: store.k,
            m: store.m,
            writeQuorum: store.writeQuorum,
            backends: BACKENDS,
            size,
            count,
            concurrency: CONCURRENCY,
            scenarios: { healthy, dead, hung },
            healBytes,
            completion,
            targetRatio: TARGET_RATIO,
            pass,
          },
          null,
          2,
        ) + '\n',
      );
    }
  } finally {
    if (frozen) frozen.process.kill('SIGCONT'); // a stopped process never exits on SIGTERM
    await backends.close().catch(() => {});
    await pipeline.close().catch(() => {});
    await meta.close();
    await stopLocalBackends(zdbs.filter((z) => z.process.exitCode === null && z.process.signalCode === null));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function sizeGiB(bytes: number): string {
  return fmt(bytes / (1024 * MiB), 2);
}
