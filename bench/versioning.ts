/**
 * The cost of versioning (issue 13): 4 KiB PUT ops/s through `@aws-sdk/client-s3` into a bucket
 * with versioning Enabled against one never versioned, on one `qstor start` (durable zdb, 4+2).
 * Target: versioned >= 0.9x unversioned.
 *
 *   npm run build && node dist/bench/versioning.js [--seconds 15] [--rounds 3] [--warmup 5]
 *                                                  [--concurrency 32] [--keys 1000] [--json FILE]
 *
 * Each PUT overwrites one of `--keys` keys, so the versioned bucket grows a history (every PUT a
 * new version) while the other replaces its objects (and frees the old ones): the two things a
 * backup target does. The buckets alternate within a round and the one going first alternates
 * between rounds, so a machine whose load drifts biases neither; figures are medians of the rounds,
 * after `--warmup` unmeasured seconds on each bucket (a fresh gateway's first seconds are slower).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fmt, freePorts, median, printTable, startReady } from './common.js';

const QSTOR_BIN = fileURLToPath(new URL('../../bin/qstor.js', import.meta.url));
const TARGET_RATIO = 0.9;
const BUCKETS = { unversioned: 'plain', versioned: 'versioned' } as const;
type Kind = keyof typeof BUCKETS;

interface Options {
  seconds: number;
  warmup: number;
  rounds: number;
  concurrency: number;
  keys: number;
}

/** `qstor start` on `dir`, once it says it is ready; the root key comes through its environment. */
async function startQstor(dir: string, port: number, keys: { id: string; secret: string }): Promise<ChildProcess> {
  const args = [
    QSTOR_BIN,
    'start',
    '--data',
    dir,
    '--port',
    String(port),
    '--backend-port',
    String(await freePorts(6)),
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, QSTOR_ROOT_ACCESS_KEY: keys.id, QSTOR_ROOT_SECRET_KEY: keys.secret },
  });
  await startReady(proc);
  return proc;
}

/** Stops `qstor start` as Ctrl-C does (it stops its gateway and zdb children). */
async function stopQstor(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGINT');
  await gone;
}

/** PUT ops/s into `bucket` for `seconds`: `concurrency` lanes, each PUT overwriting one of `keys` keys. */
async function putRate(s3: S3Client, bucket: string, o: Options, seconds: number, bodies: Buffer[]): Promise<number> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  const run = async (lane: number): Promise<void> => {
    for (let i = lane; performance.now() < deadline; i += o.concurrency) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `k-${i % o.keys}`, Body: bodies[lane] }));
      done++;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, lane) => run(lane)));
  return done / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '32' },
      keys: { type: 'string', default: '1000' },
      json: { type: 'string' },
    },
  });
  const o: Options = {
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    rounds: Number(values.rounds),
    concurrency: Number(values.concurrency),
    keys: Number(values.keys),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-versioning-'));
  const keys = { id: 'QSTORBENCHACCESS0001', secret: randomBytes(20).toString('hex') };
  const port = await freePorts(1);
  const proc = await startQstor(path.join(dir, 'qstor'), port, keys);
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: keys.id, secretAccessKey: keys.secret },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) },
  });
  const samples: Record<Kind, number[]> = { unversioned: [], versioned: [] };
  try {
    for (const bucket of Object.values(BUCKETS)) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKETS.versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const bodies = Array.from({ length: o.concurrency }, () => randomBytes(4096));
    for (const bucket of Object.values(BUCKETS)) await putRate(s3, bucket, o, o.warmup, bodies);
    for (let round = 0; round < o.rounds; round++) {
      const order: Kind[] = round % 2 === 0 ? ['unversioned', 'versioned'] : ['versioned', 'unversioned'];
      for (const kind of order) {
        const rate = await putRate(s3, BUCKETS[kind], o, o.seconds, bodies);
        samples[kind].push(rate);
        console.log(`  round ${round + 1}, ${kind}: ${fmt(rate)} PUT/s (load ${os.loadavg()[0]!.toFixed(1)})`);
      }
    }
  } finally {
    s3.destroy();
    await stopQstor(proc);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const unversioned = median(samples.unversioned);
  const versioned = median(samples.versioned);
  const ratio = versioned / unversioned;
  console.log(
    `\n4 KiB PUT (overwriting ${fmt(o.keys)} keys), concurrency ${o.concurrency}, ${o.rounds} alternating rounds of ${o.seconds} s, ` +
      `qstor start (durable zdb 4+2), node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
  );
  printTable(
    ['bucket', 'samples, PUT/s', 'median PUT/s', 'vs unversioned'],
    [
      ['never versioned', samples.unversioned.map((r) => fmt(r)).join(' / '), fmt(unversioned), '1.00x'],
      [
        'versioning Enabled',
        samples.versioned.map((r) => fmt(r)).join(' / '),
        fmt(versioned),
        `${fmt(ratio, 2)}x (target >= ${TARGET_RATIO}x)`,
      ],
    ],
  );
  if (values.json)
    fs.writeFileSync(
      values.json,
      JSON.stringify({ options: o, samples, median: { unversioned, versioned }, ratio, target: TARGET_RATIO }, null, 2),
    );
}

await main();
