// The README's flist example as a new user types it, through the real CLI against a real
// gateway: a generated secret (it holds / and +) pasted raw into the s3:// URL, and the reading
// commands without --store again, which take the credentials from the environment as the aws
// cli does. Every refusal is one line that says what to pass, never a secret or a stack trace.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSecret } from '../src/pipeline/keys.js';
import { startGateway, type Creds, type GatewayHarness } from './helpers/gateway-harness.js';
import { QSTOR } from './helpers/qstor-process.js';

const execFileAsync = promisify(execFile);

/** A secret as `qstor start` generates them: base64, with / and +. */
const KEY: Creds = { accessKeyId: 'QSFLISTUSER', secretAccessKey: 'gndHe5FRmx+J84/apHhOYghJ/NjM9LEDGZJB87RK' };

describe('qstor flist with an s3 store', () => {
  let g: GatewayHarness;
  let dir: string;
  let store: string;
  const withKey = { AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey };

  /** A qstor command in `env` (and PATH), with its exit code and both outputs. */
  const qstor = async (
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [QSTOR, ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        cwd: dir,
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const failed = e as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const oneLine = (stderr: string): void => {
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain(KEY.secretAccessKey);
    expect(stderr).not.toContain(encodeURIComponent(KEY.secretAccessKey));
  };

  beforeAll(async () => {
    g = await startGateway();
    await g.h.meta.createAccessKey(
      KEY.accessKeyId,
      sealSecret(g.h.masterKey, KEY.accessKeyId, KEY.secretAccessKey),
      'flists',
    );
    await g.client().send(new CreateBucketCommand({ Bucket: 'flists' }));
    await g.h.meta.allow(KEY.accessKeyId, 'flists', { read: true, write: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-flist-creds-'));
    fs.mkdirSync(path.join(dir, 'rootfs/etc'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'rootfs/etc/motd'), 'hello from the flist\n');
    store = `127.0.0.1:${g.port}/flists`;
  }, 120_000);
  afterAll(async () => {
    await g?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes a raw secret with / and + in --store s3://KEY:SECRET@host/bucket', async () => {
    const raw = `s3://${KEY.accessKeyId}:${KEY.secretAccessKey}@${store}`;
    const made = await qstor(['flist', 'create', '--from', 'rootfs', '--store', raw, '-o', 'app.fl']);
    expect(made.stderr).not.toContain(KEY.secretAccessKey);
    expect(made.code).toBe(0);
    const blocks = await g.client(KEY).send(new ListObjectsV2Command({ Bucket: 'flists' }));
    expect(blocks.KeyCount).toBeGreaterThan(0);
    const cat = await qstor(['flist', 'cat', '--store', raw, 'app.fl', 'etc/motd']);
    expect(cat).toMatchObject({ code: 0, stdout: 'hello from the flist\n' });
  }, 120_000);

  it('reads with the credentials of the environment when the flist keeps no secret', async () => {
    const cat = await qstor(['flist', 'cat', 'app.fl', 'etc/motd'], withKey);
    expect(cat).toMatchObject({ code: 0, stdout: 'hello from the flist\n' });
    // A store named without credentials takes them from the environment too.
    const made = await qstor(
      ['flist', 'create', '--from', 'rootfs', '--store', `s3://${store}`, '-o', 'env.fl'],
      withKey,
    );
    expect(made.code).toBe(0);
    expect(await qstor(['flist', 'cat', 'env.fl', 'etc/motd'], withKey)).toMatchObject({
      code: 0,
      stdout: 'hello from the flist\n',
    });
  }, 120_000);

  it('says in one line what to pass when no secret is at hand', async () => {
    const bare = await qstor(['flist', 'cat', 'app.fl', 'etc/motd']);
    expect(bare.code).toBe(1);
    oneLine(bare.stderr);
    expect(bare.stderr).toBe(
      `qstor: app.fl's store s3://${KEY.accessKeyId}@${store} has no secret (flist create keeps none in the flist): export AWS_ACCESS_KEY_ID=${KEY.accessKeyId} AWS_SECRET_ACCESS_KEY=... (the line qstor start printed), or pass --store s3://${KEY.accessKeyId}:SECRET@${store}\n`,
    );
    // Another key's credentials are not this store's.
    const other = await qstor(['flist', 'cat', 'app.fl', 'etc/motd'], { ...withKey, AWS_ACCESS_KEY_ID: 'SOMEONEELSE' });
    expect(other.code).toBe(1);
    oneLine(other.stderr);
    expect(other.stderr).toContain(`export AWS_ACCESS_KEY_ID=${KEY.accessKeyId} `);
  }, 120_000);

  it('refuses a URL it cannot read in one line that says how to write it, without the secret', async () => {
    // Half percent-encoded: which part is raw cannot be told.
    const half = KEY.secretAccessKey.replace('+', '%2B');
    const res = await qstor([
      'flist',
      'cat',
      '--store',
      `s3://${KEY.accessKeyId}:${half}@${store}`,
      'app.fl',
      'etc/motd',
    ]);
    expect(res.code).toBe(1);
    oneLine(res.stderr);
    expect(res.stderr).not.toContain(half);
    expect(res.stderr).toContain('write the secret percent-encoded');
    expect(res.stderr).toContain('export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }, 120_000);
});
