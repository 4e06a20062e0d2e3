import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const QSTOR = path.resolve('bin/qstor.js');
const ZDB = path.resolve('bin/zdb.js');
const ROOT = { accessKeyId: 'ROOTKEYFORTESTS00001', secretAccessKey: 'root-secret-for-tests-0123456789abcdefghij' };

interface Gateway {
  child: ChildProcess;
  port: number;
  /** Everything it wrote on stdout and stderr. */
  output: () => string;
}

function startGateway(config: string, env: NodeJS.ProcessEnv): Promise<Gateway> {
  const child = spawn(process.execPath, [QSTOR, 'gateway', '--config', config], {
    env: {
      ...process.env,
      QSTOR_ROOT_ACCESS_KEY: ROOT.accessKeyId,
      QSTOR_ROOT_SECRET_KEY: ROOT.secretAccessKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const s3 = /S3 on port (\d+)/.exec(out);
      if (s3) resolve({ child, port: Number(s3[1]), output: () => out });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
}

async function stop(gateway: Gateway | undefined): Promise<void> {
  if (!gateway || gateway.child.exitCode !== null) return;
  const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway.child.kill('SIGTERM');
  await exited;
}

function client(port: number, maxAttempts = 3): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: ROOT,
    maxAttempts,
  });
}

describe('qstor gateway with metadata on PostgreSQL', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-gw-pg-'));
  let server: PostgresServer;
  let zdbs: ZdbProcess[] = [];
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    [server, zdbs] = await Promise.all([
      startPostgres(),
      Promise.all(Array.from({ length: 5 }, () => startZdb({ bin: ZDB, args: ['--sync'] }))),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(gateways.map(stop));
    await Promise.all(zdbs.map((z) => z.stop()));
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(name: string, extra: Record<string, unknown>): string {
    const file = path.join(dir, `${name}.json`);
    const config = {
      data: path.join(dir, name),
      port: 0,
      dataShards: 3,
      parityShards: 2,
      backends: zdbs.map((z, i) => ({
        id: `z${i}`,
        farm: `farm${i % 3}`,
        node: `node${i}`,
        address: `127.0.0.1:${z.port}`,
        namespace: 'default',
      })),
      ...extra,
    };
    fs.writeFileSync(file, JSON.stringify(config), { mode: 0o644 });
    return file;
  }

  it('serves PUT, GET and LIST from the database, and a second gateway over it sees the same store', async () => {
    const base = await server.createDatabase('gateway');
    // A password (trust authentication ignores it) in a file others may read: warned, never logged.
    const url = base.replace('postgres@', 'postgres:pg-s3cret@');
    const first = await startGateway(writeConfig('first', { metadata: url, metadataPool: { max: 4 } }), {});
    gateways.push(first);
    expect(first.output()).toMatch(/holds the metadata database password and others may read it/);
    const s3 = client(first.port);
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    const bodies = new Map<string, Buffer>();
    for (const key of ['a.txt', 'dir/b.bin', 'dir/c.bin', 'é.txt']) {
      const body = Buffer.from(`${key} `.repeat(1000 + key.length * 333));
      bodies.set(key, body);
      await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: key, Body: body }));
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'dir/b.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bodies.get('dir/b.bin')!)).toBe(true);
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Delimiter: '/' }));
    expect(listing.Contents?.map((o) => o.Key)).toEqual(['a.txt', 'é.txt']);
    expect(listing.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/']);

    // Nothing went to sqlite: the metadata is in PostgreSQL.
    expect(fs.existsSync(path.join(dir, 'first', 'meta.db'))).toBe(false);

    // A second gateway: the URL from the environment, the same master key, its own data directory.
    fs.mkdirSync(path.join(dir, 'second'), { mode: 0o700 });
    // Only the key: its check value lives in the database, where every gateway is held to it.
    fs.copyFileSync(path.join(dir, 'first', 'master.key'), path.join(dir, 'second', 'master.key'));
    fs.chmodSync(path.join(dir, 'second', 'master.key'), 0o600);
    expect(fs.existsSync(path.join(dir, 'first', 'master.check'))).toBe(false);
    const second = await startGateway(writeConfig('second', {}), { QSTOR_METADATA_URL: url });
    gateways.push(second);
    expect(second.output()).not.toMatch(/password/);
    const other = client(second.port);
    const all = await other.send(new ListObjectsV2Command({ Bucket: 'photos' }));
    expect(all.Contents?.map((o) => o.Key)).toEqual(['a.txt', 'dir/b.bin', 'dir/c.bin', 'é.txt']);
    const read = await other.send(new GetObjectCommand({ Bucket: 'photos', Key: 'é.txt' }));
    expect(Buffer.from(await read.Body!.transformToByteArray()).equals(bodies.get('é.txt')!)).toBe(true);
    // A write through the second is read through the first.
    await other.send(new PutObjectCommand({ Bucket: 'photos', Key: 'from-second', Body: 'hello' }));
    const back = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'from-second' }));
    expect(await back.Body!.transformToString()).toBe('hello');

    await Promise.all(gateways.map(stop));
    for (const name of ['first', 'second']) {
      const log = path.join(dir, name, 'gateway.log');
      if (fs.existsSync(log)) expect(fs.readFileSync(log, 'utf8')).not.toContain('pg-s3cret');
    }
    expect(first.output() + second.output()).not.toContain('pg-s3cret');
  }, 180_000);

  it('answers 503 ServiceUnavailable with Retry-After while PostgreSQL is down, and serves again once it is back', async () => {
    const url = await server.createDatabase('restart');
    const gateway = await startGateway(writeConfig('restart', { metadata: url }), {});
    gateways.push(gateway);
    const s3 = client(gateway.port);
    await s3.send(new CreateBucketCommand({ Bucket: 'books' }));
    await s3.send(new PutObjectCommand({ Bucket: 'books', Key: 'k', Body: 'kept' }));
    await server.stop();
    try {
      const failed = await client(gateway.port, 1)
        .send(new GetObjectCommand({ Bucket: 'books', Key: 'k' }))
        .catch((e: unknown) => e);
      const error = failed as {
        name: string;
        $metadata: { httpStatusCode: number };
        $response?: { headers: Record<string, string> };
      };
      expect(error.$metadata.httpStatusCode).toBe(503);
      expect(error.name).toBe('ServiceUnavailable');
      expect(error.$response?.headers['retry-after']).toBe('1');
    } finally {
      await server.start();
    }
    // The SDK retries 503s: a read right after the restart succeeds, with the data as it was.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'books', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('kept');
  }, 180_000);
});
