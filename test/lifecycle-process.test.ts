// The lifecycle worker inside the gateway `qstor start` runs, on a one-second lifecycle day
// (QSTOR_LIFECYCLE_DAY_SECONDS), and its progress in `qstor admin status`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { QSTOR, startQstor, stopAll } from './helpers/qstor-process.js';
import { portBlock } from './helpers/port-block.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Fixed ports: the store is restarted on the same ones.
const port = await portBlock();

describe('qstor start: the lifecycle worker', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-lifecycle-'));
  afterAll(async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('expires objects on its own and reports its runs in admin status', async () => {
    const previous = process.env['QSTOR_LIFECYCLE_DAY_SECONDS'];
    process.env['QSTOR_LIFECYCLE_DAY_SECONDS'] = '1';
    try {
      await startQstor(['start', '--data', dir, '--backend-port', String(port), '--port', String(port + 10)]);
    } finally {
      if (previous === undefined) delete process.env['QSTOR_LIFECYCLE_DAY_SECONDS'];
      else process.env['QSTOR_LIFECYCLE_DAY_SECONDS'] = previous;
    }
    const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port + 10}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'expiring' }));
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: 'expiring',
          LifecycleConfiguration: {
            Rules: [{ ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } }],
          },
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: 'expiring', Key: 'tmp/x', Body: 'x' }));
      await s3.send(new PutObjectCommand({ Bucket: 'expiring', Key: 'keep', Body: 'k' }));
      const gone = async (Key: string): Promise<boolean> =>
        s3.send(new HeadObjectCommand({ Bucket: 'expiring', Key })).then(
          () => false,
          (e: { name?: string }) => e.name === 'NotFound',
        );
      const deadline = Date.now() + 60_000;
      while (!(await gone('tmp/x')) && Date.now() < deadline) await sleep(250);
      expect(await gone('tmp/x')).toBe(true);
      expect(await gone('keep')).toBe(false);
    } finally {
      s3.destroy();
    }
    const log = fs.readFileSync(path.join(dir, 'gateway.log'), 'utf8');
    expect(log).toContain('lifecycle expiring: 1 expired');
    const status = (await run(process.execPath, [QSTOR, 'admin', 'status', '--data', dir])).stdout;
    expect(status).toMatch(/^lifecycle expiring: 1 of 1 rules enabled; last run finished \S+ \(\d+ expired, /m);
  });
});
