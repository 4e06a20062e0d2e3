// KMS keys through the `qstor` command, and their loss: `admin kms create` prints the id and ARN,
// never the key; `admin kms delete` wants --force; `meta rebuild` restores the keys from the
// encrypted metadata copies on the backends, so SSE-KMS objects read again after the database is
// lost, and a deleted key stays deleted (its objects stay unreadable).
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
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

describe('qstor admin kms and meta rebuild', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-rebuild-kms-'));
  let client: S3Client | undefined;
  afterAll(async () => {
    client?.destroy();
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The test speaks plain HTTP: the trusted-network opt-in for SSE-C and SSE-KMS.
  const env = { ...process.env, QSTOR_SSE_C_OVER_HTTP: 'allow' };
  const start = async (): Promise<ChildProcess> =>
    (
      await startQstor(
        ['start', '--data', dir, '--backend-port', String(port), '--port', String(port + 10), '--admin-port', '0'],
        undefined,
        env,
      )
    ).child;
  const qstor = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [QSTOR, ...args, '--data', dir])).stdout;

  it('creates keys without printing them, deletes only with --force, and restores them with meta rebuild', async () => {
    let q = await start();
    const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    client = new S3Client({
      endpoint: `http://127.0.0.1:${port + 10}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      maxAttempts: 1,
    });
    const created = await qstor('admin', 'kms', 'create', 'kept');
    expect(created).toBe('KMS_KEY_ID=kept\nKMS_KEY_ARN=arn:aws:kms:us-east-1:000000000000:key/kept\n');
    await qstor('admin', 'kms', 'create', 'gone');
    await expect(qstor('admin', 'kms', 'create', 'bad id!')).rejects.toThrow(/KMS key id/);
    const data = crypto.randomBytes(3 * 1024 * 1024 + 5);
    await client.send(new CreateBucketCommand({ Bucket: 'kms-bucket' }));
    for (const key of ['kept', 'gone'])
      await client.send(
        new PutObjectCommand({
          Bucket: 'kms-bucket',
          Key: key,
          Body: data,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: key,
        }),
      );
    await expect(qstor('admin', 'kms', 'delete', 'gone')).rejects.toThrow(/--force/);
    expect(await qstor('admin', 'kms', 'list')).toMatch(/^gone {2}\S+\nkept {2}\S+\n$/);
    expect(await qstor('admin', 'kms', 'delete', 'gone', '--force')).toBe('deleted KMS key gone\n');
    expect(await stopQstor(q)).toBe(0);

    // The machine holding the database is lost: rebuild it from the backends and the master key.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    expect(await qstor('meta', 'rebuild')).toContain(' 1 KMS keys,');
    expect(await qstor('admin', 'kms', 'list')).toMatch(/^kept {2}\S+\n$/);
    q = await start();
    const got = await client.send(new GetObjectCommand({ Bucket: 'kms-bucket', Key: 'kept' }));
    expect([got.ServerSideEncryption, got.SSEKMSKeyId]).toEqual(['aws:kms', 'kept']);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    const lost = await client.send(new GetObjectCommand({ Bucket: 'kms-bucket', Key: 'gone' })).then(
      () => 'ok',
      (e: { name?: string }) => e.name,
    );
    expect(lost).toBe('KMS.NotFoundException');
    expect(await stopQstor(q)).toBe(0);
    // Two starts of the whole store and a rebuild: minutes on 2 busy cores.
  }, 300_000);
});
