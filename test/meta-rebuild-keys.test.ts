// Access keys and their grants survive the loss of the database: `qstor meta rebuild` restores
// them from the encrypted metadata copies on the backends. The restored key signs requests that
// a real gateway serves with the rights it had, no more (a bucket deleted and made again is not
// granted again); a deleted key stays deleted. A key's right to create buckets, and the buckets
// it created and owns, come back too; a right taken back stays taken.
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { QSTOR, startQstor, stopAll, stopQstor } from './helpers/qstor-process.js';
import { portBlock } from './helpers/port-block.js';

const run = promisify(execFile);

// Fixed ports: the store is restarted on the same ones.
const port = await portBlock();

describe('meta rebuild restores access keys and grants', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-rebuild-keys-'));
  const clients: S3Client[] = [];
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<ChildProcess> =>
    (
      await startQstor([
        'start',
        '--data',
        dir,
        '--backend-port',
        String(port),
        '--port',
        String(port + 10),
        '--admin-port',
        '0',
      ])
    ).child;
  const s3 = (accessKeyId: string, secretAccessKey: string): S3Client => {
    const c = new S3Client({
      endpoint: `http://127.0.0.1:${port + 10}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const qstor = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [QSTOR, ...args, '--data', dir])).stdout;
  const createKey = async (name: string, ...more: string[]) => {
    const out = await qstor('admin', 'key', 'create', '--name', name, ...more);
    return { id: /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)![1]!, secret: /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)![1]! };
  };
  /** The S3 error code of a request, or 'ok'. */
  const outcome = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: { name?: string }) => e.name ?? 'error',
    );
  /** What a key may do: list and read in each bucket, write in each bucket. */
  const rights = async (c: S3Client, buckets: string[]) => {
    const out: Record<string, string[]> = {};
    for (const b of buckets)
      out[b] = [
        await outcome(c.send(new ListObjectsV2Command({ Bucket: b }))),
        await outcome(c.send(new GetObjectCommand({ Bucket: b, Key: 'seed' }))),
        await outcome(c.send(new PutObjectCommand({ Bucket: b, Key: `by-key-${Date.now()}`, Body: 'x' }))),
      ];
    return out;
  };

  it('restores keys with their sealed secrets and grants; deleted keys and grants of a remade bucket stay gone', async () => {
    let q = await start();
    const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    const root = s3(accessKey, secretKey);
    for (const b of ['shared', 'readonly', 'private', 'remade']) {
      await root.send(new CreateBucketCommand({ Bucket: b }));
      await root.send(new PutObjectCommand({ Bucket: b, Key: 'seed', Body: `seed of ${b}` }));
    }
    const writer = await createKey('writer');
    const gone = await createKey('gone');
    await qstor('admin', 'bucket', 'allow', 'shared', '--key', writer.id, '--read', '--write');
    await qstor('admin', 'bucket', 'allow', 'readonly', '--key', writer.id, '--read', '--write');
    await qstor('admin', 'bucket', 'deny', 'readonly', '--key', writer.id, '--write');
    await qstor('admin', 'bucket', 'allow', 'remade', '--key', writer.id, '--read', '--write');
    await qstor('admin', 'bucket', 'allow', 'shared', '--key', gone.id, '--read');
    const maker = await createKey('maker', '--create-buckets');
    const revoked = await createKey('revoked');
    await qstor('admin', 'key', 'allow', revoked.id, '--create-buckets');
    await qstor('admin', 'key', 'deny', revoked.id, '--create-buckets');
    await s3(maker.id, maker.secret).send(new CreateBucketCommand({ Bucket: 'makers' }));
    await s3(maker.id, maker.secret).send(new PutObjectCommand({ Bucket: 'makers', Key: 'seed', Body: 'by maker' }));
    /** What the bucket-making keys may do: maker in its bucket and creating another, revoked creating one. */
    const makers = async (bucket: string) => ({
      maker: await rights(s3(maker.id, maker.secret), ['makers']),
      makesMore: await outcome(s3(maker.id, maker.secret).send(new CreateBucketCommand({ Bucket: bucket }))),
      revokedMakes: await outcome(
        s3(revoked.id, revoked.secret).send(new CreateBucketCommand({ Bucket: `r-${bucket}` })),
      ),
    });
    const makersBefore = { maker: { makers: ['ok', 'ok', 'ok'] }, makesMore: 'ok', revokedMakes: 'AccessDenied' };
    expect(await makers('makers-1')).toEqual(makersBefore);
    // A bucket deleted drops its grants; the one made again under its name is not the key's.
    await root.send(new DeleteObjectCommand({ Bucket: 'remade', Key: 'seed' }));
    await root.send(new DeleteBucketCommand({ Bucket: 'remade' }));
    await root.send(new CreateBucketCommand({ Bucket: 'remade' }));
    await root.send(new PutObjectCommand({ Bucket: 'remade', Key: 'seed', Body: 'seed of the new remade' }));
    const buckets = ['shared', 'readonly', 'private', 'remade'];
    const before = await rights(s3(writer.id, writer.secret), buckets);
    expect(before).toEqual({
      shared: ['ok', 'ok', 'ok'],
      readonly: ['ok', 'ok', 'AccessDenied'],
      private: ['AccessDenied', 'AccessDenied', 'AccessDenied'],
      remade: ['AccessDenied', 'AccessDenied', 'AccessDenied'],
    });
    expect(await outcome(s3(gone.id, gone.secret).send(new ListObjectsV2Command({ Bucket: 'shared' })))).toBe('ok');
    await qstor('admin', 'key', 'delete', gone.id);
    expect(await stopQstor(q)).toBe(0);

    // The machine holding the database is lost: rebuild it from the backends and the master key.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    const rebuilt = await qstor('meta', 'rebuild');
    expect(rebuilt).toContain('rebuilt 6 buckets and');
    q = await start();
    // The same secret signs (it was restored sealed, as stored), with the same rights.
    expect(await rights(s3(writer.id, writer.secret), buckets)).toEqual(before);
    expect(rebuilt).toContain(' 3 access keys,');
    expect(await makers('makers-2')).toEqual(makersBefore);
    expect(await outcome(s3(gone.id, gone.secret).send(new ListObjectsV2Command({ Bucket: 'shared' })))).toBe(
      'InvalidAccessKeyId',
    );
    const listed = (await qstor('admin', 'key', 'list')).split('\n');
    expect(listed).toContainEqual(
      expect.stringMatching(new RegExp(`^${writer.id}  writer  \\S+  readonly:read shared:read,write$`)),
    );
    expect(listed).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${maker.id}  maker  \\S+  create-buckets  makers:read,write,owner makers-1:read,write,owner makers-2:read,write,owner$`,
        ),
      ),
    );
    expect(listed).toContainEqual(
      expect.stringMatching(new RegExp(`^${revoked.id}  revoked  \\S+  \\(no buckets\\)$`)),
    );
    expect(await stopQstor(q)).toBe(0);

    // A second loss after the rebuild: the copies the rebuild wrote back still restore the same.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    expect(await qstor('meta', 'rebuild')).toContain(' 3 access keys,');
    q = await start();
    expect(await rights(s3(writer.id, writer.secret), buckets)).toEqual(before);
    expect(await makers('makers-3')).toEqual(makersBefore);
    expect(await stopQstor(q)).toBe(0);
    // Three starts of the whole store, two rebuilds: minutes on 2 busy cores.
  }, 300_000);
});
