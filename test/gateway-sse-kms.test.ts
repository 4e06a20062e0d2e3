// SSE-KMS with the KMS keys the store holds itself (src/kms): PUT, GET, HEAD, ranges, multipart,
// copies, bucket default encryption, the encryption context, and what a deleted key does. A real
// gateway over a real store (zdb processes, sqlite), the AWS SDK v3 as the client.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSE_C_OVER_HTTP_ENV } from '../gateway/ops/sse-c.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { Keyring } from '../src/kms/keyring.js';
import { kmsWrapKey, unwrapKey } from '../src/pipeline/keys.js';
import {
  errorCode,
  errorMessage,
  failure,
  gatewayForSuite,
  rawRequest,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

const ARN = 'arn:aws:kms:us-east-1:000000000000:key/key-b';
const kms = (keyId: string) => ({ ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: keyId });
/** Bytes that do not compress, so that a chunk holds as many as it says. */
const bytes = (n: number): Buffer => crypto.randomBytes(n);

async function body(s3: S3Client, input: ConstructorParameters<typeof GetObjectCommand>[0]): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand(input));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('gateway: SSE-KMS (KMS keys held by the store)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const small = bytes(5000); // inline in its manifest
  const large = bytes(2.5 * 1024 * 1024 + 17); // three 1 MiB chunks
  beforeAll(() => {
    // The suite speaks plain HTTP: the trusted-network opt-in (one test turns it off).
    process.env[SSE_C_OVER_HTTP_ENV] = 'allow';
  });
  afterAll(() => {
    delete process.env[SSE_C_OVER_HTTP_ENV];
  });
  gatewayForSuite(
    {
      buckets: ['kms', 'copies', 'default'],
      setup: async ({ g, s3 }) => {
        for (const id of ['key-a', 'key-b', 'doomed']) {
          await g.h.store.kms.create(id);
          await g.h.store.replica.putKmsKey(g.h.meta, id);
        }
        await s3.send(new PutObjectCommand({ Bucket: 'kms', Key: 'small', Body: small, ...kms('key-a') }));
        await s3.send(new PutObjectCommand({ Bucket: 'kms', Key: 'large', Body: large, ...kms('key-a') }));
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('stores and reads back with aws:kms, naming the key on PUT, GET and HEAD, ranges included', async () => {
    for (const [key, expected] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'kms', Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(expected)).toBe(true);
      expect([got.ServerSideEncryption, got.SSEKMSKeyId]).toEqual(['aws:kms', 'key-a']);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'kms', Key: key }));
      expect([head.ContentLength, head.ServerSideEncryption, head.SSEKMSKeyId]).toEqual([
        expected.length,
        'aws:kms',
        'key-a',
      ]);
    }
    const start = 1024 * 1024 - 5;
    const ranged = await body(s3, { Bucket: 'kms', Key: 'large', Range: `bytes=${start}-${start + 10}` });
    expect(ranged.equals(large.subarray(start, start + 11))).toBe(true);
    // A key named by its ARN is echoed as named; the bucket key flag is accepted and returned.
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'kms', Key: 'by-arn', Body: 'arn', ...kms(ARN), BucketKeyEnabled: true }),
    );
    expect([put.ServerSideEncryption, put.SSEKMSKeyId, put.BucketKeyEnabled]).toEqual(['aws:kms', ARN, true]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'kms', Key: 'by-arn' }));
    expect([got.SSEKMSKeyId, got.BucketKeyEnabled, await got.Body!.transformToString()]).toEqual([ARN, true, 'arn']);
  });

  it('refuses an unknown key (400 KMS.NotFoundException), aws:kms with no key, and a key id without aws:kms', async () => {
    const unknown = await rawRequest(g.port, {
      method: 'PUT',
      path: '/kms/unknown',
      body: 'x',
      headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'nope' },
    });
    expect([unknown.status, errorCode(unknown)]).toEqual([400, 'KMS.NotFoundException']);
    const noKey = await rawRequest(g.port, {
      method: 'PUT',
      path: '/kms/unknown',
      body: 'x',
      headers: { 'x-amz-server-side-encryption': 'aws:kms' },
    });
    expect([noKey.status, errorCode(noKey)]).toEqual([400, 'InvalidArgument']);
    const undeclared = await rawRequest(g.port, {
      method: 'PUT',
      path: '/kms/unknown',
      body: 'x',
      headers: { 'x-amz-server-side-encryption-aws-kms-key-id': 'key-a' },
    });
    expect([undeclared.status, errorCode(undeclared)]).toEqual([400, 'InvalidArgument']);
    const onRead = await rawRequest(g.port, {
      method: 'GET',
      path: '/kms/small',
      headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'key-a' },
    });
    expect([onRead.status, errorCode(onRead)]).toEqual([400, 'InvalidArgument']);
    expect(await g.h.meta.getObject('kms', 'unknown')).toBeNull();
  });

  it('binds the encryption context into the wrapping; a malformed context is 400', async () => {
    const context = Buffer.from(JSON.stringify({ project: 'x', dept: 'y' })).toString('base64');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'kms',
        Key: 'ctx',
        Body: 'in context',
        ...kms('key-a'),
        SSEKMSEncryptionContext: context,
      }),
    );
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'kms', Key: 'ctx' }))).Body!.transformToString()).toBe(
      'in context',
    );
    const manifest = (await g.h.meta.getObject('kms', 'ctx'))!;
    expect(manifest.sseKms).toEqual({ keyId: 'key-a', context: '{"dept":"y","project":"x"}' });
    // The KMS key with another context (or none) does not unwrap the data key.
    const kmsKey = await new Keyring(g.h.meta, g.h.masterKey).key('key-a');
    const wrapped = Buffer.from(manifest.inline!.wrappedKey, 'base64');
    expect(() => unwrapKey(kmsWrapKey(g.h.masterKey, kmsKey, '{"dept":"y","project":"x"}'), wrapped)).not.toThrow();
    expect(() => unwrapKey(kmsWrapKey(g.h.masterKey, kmsKey, '{"dept":"z","project":"x"}'), wrapped)).toThrow();
    expect(() => unwrapKey(kmsWrapKey(g.h.masterKey, kmsKey), wrapped)).toThrow();
    for (const bad of [
      'not base64 json!',
      Buffer.from('[1,2]').toString('base64'),
      Buffer.from('{"a":1}').toString('base64'),
    ]) {
      const res = await rawRequest(g.port, {
        method: 'PUT',
        path: '/kms/bad-ctx',
        body: 'x',
        headers: {
          'x-amz-server-side-encryption': 'aws:kms',
          'x-amz-server-side-encryption-aws-kms-key-id': 'key-a',
          'x-amz-server-side-encryption-context': bad,
        },
      });
      expect([bad, res.status, errorCode(res)]).toEqual([bad, 400, 'InvalidArgument']);
    }
  });

  it('wraps every part of an upload with its KMS key; part headers are accepted and ignored', async () => {
    const parts = [bytes(5 * 1024 * 1024), bytes(5 * 1024 * 1024)];
    const { UploadId, ServerSideEncryption, SSEKMSKeyId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'kms', Key: 'mpu', ...kms('key-b') }),
    );
    expect([ServerSideEncryption, SSEKMSKeyId]).toEqual(['aws:kms', 'key-b']);
    const first = await s3.send(
      new UploadPartCommand({ Bucket: 'kms', Key: 'mpu', UploadId, PartNumber: 1, Body: parts[0] }),
    );
    expect([first.ServerSideEncryption, first.SSEKMSKeyId]).toEqual(['aws:kms', 'key-b']);
    // As Ceph RGW, and as s3-tests sends them: encryption headers on a part are ignored (even
    // naming another key): the upload's key wraps it.
    const second = await rawRequest(g.port, {
      method: 'PUT',
      path: `/kms/mpu?partNumber=2&uploadId=${UploadId}`,
      body: parts[1],
      headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'key-a' },
    });
    expect([second.status, second.headers['x-amz-server-side-encryption-aws-kms-key-id']]).toEqual([200, 'key-b']);
    const etags = [first.ETag!, String(second.headers['etag'])];
    const copied = await s3.send(
      new UploadPartCopyCommand({ Bucket: 'kms', Key: 'mpu', UploadId, PartNumber: 3, CopySource: 'kms/large' }),
    );
    expect(copied.SSEKMSKeyId).toBe('key-b');
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'kms',
        Key: 'mpu',
        UploadId,
        MultipartUpload: {
          Parts: [...etags, copied.CopyPartResult!.ETag!].map((ETag, i) => ({ ETag, PartNumber: i + 1 })),
        },
      }),
    );
    expect([done.ServerSideEncryption, done.SSEKMSKeyId]).toEqual(['aws:kms', 'key-b']);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'kms', Key: 'mpu' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([...parts, large]))).toBe(true);
    expect(got.SSEKMSKeyId).toBe('key-b');
    // The part copied from a key-a object was rewrapped for key-b: no chunk unwraps with the master key.
    const manifest = (await g.h.meta.getObject('kms', 'mpu'))!;
    for (const chunk of manifest.chunks)
      expect(() => unwrapKey(g.h.masterKey, Buffer.from(chunk.wrappedKey, 'base64'))).toThrow(/wrong master key/);
  });

  it('copies between SSE-S3, SSE-KMS and another KMS key, re-encrypting when the wrapping changes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'plain', Body: large }));
    const cases = [
      ['plain', 'to-kms', kms('key-a'), ['aws:kms', 'key-a']],
      ['to-kms', 'to-other', kms('key-b'), ['aws:kms', 'key-b']],
      ['to-other', 'back', {}, ['AES256', undefined]],
      ['to-other', 'same', kms('key-b'), ['aws:kms', 'key-b']],
    ] as const;
    for (const [from, to, sse, expected] of cases) {
      const res = await s3.send(
        new CopyObjectCommand({ Bucket: 'copies', Key: to, CopySource: `copies/${from}`, ...sse }),
      );
      expect([to, res.ServerSideEncryption, res.SSEKMSKeyId]).toEqual([to, ...expected]);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'copies', Key: to }));
      expect([got.ServerSideEncryption, got.SSEKMSKeyId]).toEqual([...expected]);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(large)).toBe(true);
    }
    const wrapping = async (key: string) => (await g.h.meta.getObject('copies', key))!.chunks[0]!.wrappedKey;
    // The same key and context share the chunks (no data moves); another key re-encrypts.
    expect(await wrapping('same')).toBe(await wrapping('to-other'));
    expect(await wrapping('to-other')).not.toBe(await wrapping('to-kms'));
  });

  it('applies a bucket default of aws:kms with a KMSMasterKeyID to writes that name no encryption', async () => {
    const rule = {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: 'key-b' } }],
    };
    await s3.send(new PutBucketEncryptionCommand({ Bucket: 'default', ServerSideEncryptionConfiguration: rule }));
    const conf = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'default' }));
    expect(conf.ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault).toEqual(
      rule.Rules[0]!.ApplyServerSideEncryptionByDefault,
    );
    const put = await s3.send(new PutObjectCommand({ Bucket: 'default', Key: 'auto', Body: small }));
    expect([put.ServerSideEncryption, put.SSEKMSKeyId]).toEqual(['aws:kms', 'key-b']);
    // aws:kms without a key id takes the bucket default's; AES256 named is SSE-S3.
    const named = await s3.send(
      new PutObjectCommand({ Bucket: 'default', Key: 'named', Body: 'n', ServerSideEncryption: 'aws:kms' }),
    );
    expect(named.SSEKMSKeyId).toBe('key-b');
    const s3Named = await s3.send(
      new PutObjectCommand({ Bucket: 'default', Key: 'aes', Body: 'a', ServerSideEncryption: 'AES256' }),
    );
    expect([s3Named.ServerSideEncryption, s3Named.SSEKMSKeyId]).toEqual(['AES256', undefined]);
    expect((await body(s3, { Bucket: 'default', Key: 'auto' })).equals(small)).toBe(true);
    const { UploadId, SSEKMSKeyId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'default', Key: 'mpu' }),
    );
    expect(SSEKMSKeyId).toBe('key-b');
    expect((await g.h.meta.getUpload(UploadId!))?.headers.sseKms?.keyId).toBe('key-b');
    const unknown = await failure(
      s3.send(
        new PutBucketEncryptionCommand({
          Bucket: 'default',
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'nope' } }],
          },
        }),
      ),
    );
    expect(unknown).toBe('KMS.NotFoundException');
  });

  it('refuses aws:kms over plain HTTP without the opt-in (400 InvalidArgument, as AWS without TLS)', async () => {
    delete process.env[SSE_C_OVER_HTTP_ENV];
    try {
      const res = await rawRequest(g.port, {
        method: 'PUT',
        path: '/kms/insecure',
        body: 'x',
        headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'key-a' },
      });
      expect([res.status, errorCode(res)]).toEqual([400, 'InvalidArgument']);
      // Reading an SSE-KMS object needs no TLS (AWS: TLS or SigV4).
      expect((await body(s3, { Bucket: 'kms', Key: 'small' })).equals(small)).toBe(true);
    } finally {
      process.env[SSE_C_OVER_HTTP_ENV] = 'allow';
    }
  });

  it('restores the KMS keys with `meta rebuild`, so their objects stay readable', async () => {
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-sse-kms.db'));
    try {
      const report = await g.h.store.replica.rebuild(fresh);
      expect(report.kmsKeys).toBeGreaterThanOrEqual(2);
      expect((await fresh.getKmsKey('key-a'))?.sealedKey).toEqual((await g.h.meta.getKmsKey('key-a'))?.sealedKey);
      const rebuilt = (await fresh.getObject('kms', 'large'))!;
      expect(rebuilt.sseKms).toEqual({ keyId: 'key-a' });
      const kmsKey = await new Keyring(fresh, g.h.masterKey).key('key-a');
      const dataKey = unwrapKey(
        kmsWrapKey(g.h.masterKey, kmsKey),
        Buffer.from(rebuilt.chunks[0]!.wrappedKey, 'base64'),
      );
      expect(dataKey.length).toBe(32);
    } finally {
      await fresh.close();
    }
  });

  it('cannot be read with the master key alone: deleting the KMS key makes its objects unreadable', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'kms', Key: 'doomed', Body: large, ...kms('doomed') }));
    const manifest = (await g.h.meta.getObject('kms', 'doomed'))!;
    const wrapped = Buffer.from(manifest.chunks[0]!.wrappedKey, 'base64');
    expect(() => unwrapKey(g.h.masterKey, wrapped)).toThrow(/wrong master key/);
    // The KMS key's row is sealed under the master key; its key never appears in the metadata.
    const kmsKey = await g.h.store.kms.key('doomed');
    const row = (await g.h.meta.getKmsKey('doomed'))!;
    expect(row.sealedKey.includes(kmsKey)).toBe(false);
    expect(JSON.stringify(manifest)).not.toContain(kmsKey.toString('base64'));
    // Nor does a key of the same name made again read the object: the material is new.
    await g.h.store.kms.delete('doomed');
    const get = await rawRequest(g.port, { method: 'GET', path: '/kms/doomed' });
    expect([get.status, errorCode(get)]).toEqual([400, 'KMS.NotFoundException']);
    const head = await rawRequest(g.port, { method: 'HEAD', path: '/kms/doomed' });
    expect(head.status).toBe(400);
    const copy = await failure(
      s3.send(new CopyObjectCommand({ Bucket: 'kms', Key: 'rescued', CopySource: 'kms/doomed' })),
    );
    expect(copy).toBe('KMS.NotFoundException');
    await g.h.store.kms.create('doomed');
    const again = await g.h.store.kms.key('doomed');
    expect(again.equals(kmsKey)).toBe(false);
    expect(() => unwrapKey(kmsWrapKey(g.h.masterKey, again), wrapped)).toThrow();
    // The gateway says so before a 200 goes out, not with a body cut short.
    const recreated = await rawRequest(g.port, { method: 'GET', path: '/kms/doomed' });
    expect([recreated.status, errorCode(recreated)]).toEqual([400, 'KMS.NotFoundException']);
    expect(errorMessage(recreated)).toMatch(/created since under the same id/);
    // While the real one unwraps it: the KMS key is what was missing.
    expect(unwrapKey(kmsWrapKey(g.h.masterKey, kmsKey), wrapped).length).toBe(32);
  });
});
