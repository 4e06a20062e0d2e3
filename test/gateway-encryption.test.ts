import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import {
  errorCode,
  failure,
  gatewayForSuite,
  grantKey,
  rawRequest,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

const AES256_RULE = {
  Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const }, BucketKeyEnabled: false }],
};

const encryptionXml = (rule: string): string =>
  `<ServerSideEncryptionConfiguration><Rule>${rule}</Rule></ServerSideEncryptionConfiguration>`;

describe('gateway: bucket default encryption and SSE-S3 headers', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['enc', 'fresh'] }, (t) => ({ g, s3 } = t));

  it("answers AWS's default rule (SSE-S3, no bucket key) on a bucket never given one", async () => {
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'fresh' }));
    expect(got.ServerSideEncryptionConfiguration).toEqual(AES256_RULE);
    expect(await failure(s3.send(new GetBucketEncryptionCommand({ Bucket: 'missing' })))).toBe('NoSuchBucket');
  });

  it('keeps a rule as put (in the metadata copies too) and resets to the default on delete', async () => {
    const Rules = [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const }, BucketKeyEnabled: true }];
    await s3.send(new PutBucketEncryptionCommand({ Bucket: 'enc', ServerSideEncryptionConfiguration: { Rules } }));
    expect(
      (await s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' }))).ServerSideEncryptionConfiguration,
    ).toEqual({ Rules });
    // In the bucket's encrypted metadata copies: `meta rebuild` restores it.
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-encryption.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      expect((await fresh.getBucket('enc'))?.settings.encryption).toEqual({ bucketKeyEnabled: true });
    } finally {
      await fresh.close();
    }
    const deleted = await rawRequest(g.port, { method: 'DELETE', path: '/enc?encryption' });
    expect(deleted.status).toBe(204);
    expect(
      (await s3.send(new GetBucketEncryptionCommand({ Bucket: 'enc' }))).ServerSideEncryptionConfiguration,
    ).toEqual(AES256_RULE);
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: 'enc' }));
  });

  it('refuses aws:kms with an unknown key (400 KMS.NotFoundException) and what is not a rule (400), keeping the rule in force', async () => {
    const kms = await rawRequest(g.port, {
      method: 'PUT',
      path: '/enc?encryption',
      body: encryptionXml(
        '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>',
      ),
    });
    expect([kms.status, errorCode(kms)]).toEqual([400, 'KMS.NotFoundException']);
    for (const rule of [
      '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES128</SSEAlgorithm></ApplyServerSideEncryptionByDefault>',
      '<ApplyServerSideEncryptionByDefault></ApplyServerSideEncryptionByDefault>',
      '<BucketKeyEnabled>true</BucketKeyEnabled>',
      '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled>',
    ]) {
      const res = await rawRequest(g.port, { method: 'PUT', path: '/enc?encryption', body: encryptionXml(rule) });
      expect([res.status, errorCode(res)], rule).toEqual([400, 'MalformedXML']);
    }
    const keyed = await rawRequest(g.port, {
      method: 'PUT',
      path: '/enc?encryption',
      body: encryptionXml(
        '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>',
      ),
    });
    expect([keyed.status, errorCode(keyed)]).toEqual([400, 'InvalidArgument']);
    expect((await g.h.meta.getBucket('enc'))?.settings.encryption).toBeUndefined();
    // A subresource of buckets only.
    const onObject = await rawRequest(g.port, { method: 'GET', path: '/enc/key?encryption' });
    expect([onObject.status, errorCode(onObject)]).toEqual([501, 'NotImplemented']);
  });

  it('answers x-amz-server-side-encryption: AES256 on PUT, GET, HEAD, copy and multipart completion', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'plain', Body: 'bytes' }));
    expect(put.ServerSideEncryption).toBe('AES256');
    const asked = await s3.send(
      new PutObjectCommand({ Bucket: 'enc', Key: 'asked', Body: 'sse-s3', ServerSideEncryption: 'AES256' }),
    );
    expect(asked.ServerSideEncryption).toBe('AES256');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'enc', Key: 'asked' }));
    expect([got.ServerSideEncryption, await got.Body!.transformToString()]).toEqual(['AES256', 'sse-s3']);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'enc', Key: 'plain' }))).ServerSideEncryption).toBe('AES256');
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: 'enc', Key: 'copy', CopySource: 'enc/plain', ServerSideEncryption: 'AES256' }),
    );
    expect(copied.ServerSideEncryption).toBe('AES256');
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'enc', Key: 'mp', ServerSideEncryption: 'AES256' }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'enc', Key: 'mp', UploadId, PartNumber: 1, Body: 'only part' }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'enc',
        Key: 'mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(done.ServerSideEncryption).toBe('AES256');
  });

  it('copies an object onto itself when the copy names its encryption, as AWS does', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'in-place', Body: 'encrypt me in place' }));
    const bare = await failure(
      s3.send(new CopyObjectCommand({ Bucket: 'enc', Key: 'in-place', CopySource: 'enc/in-place' })),
    );
    expect(bare).toBe('InvalidRequest');
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: 'enc',
        Key: 'in-place',
        CopySource: 'enc/in-place',
        ServerSideEncryption: 'AES256',
      }),
    );
    expect(copied.ServerSideEncryption).toBe('AES256');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'enc', Key: 'in-place' }));
    expect(await got.Body!.transformToString()).toBe('encrypt me in place');
  });

  it('refuses aws:kms naming no key (400), dual-layer KMS (501), an unknown algorithm (400), and the header on a read (400)', async () => {
    const kms = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'enc', Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' })),
    );
    expect(kms).toBe('InvalidArgument');
    const dsse = await rawRequest(g.port, {
      method: 'PUT',
      path: '/enc/kms',
      headers: { 'x-amz-server-side-encryption': 'aws:kms:dsse' },
      body: 'x',
    });
    expect([dsse.status, errorCode(dsse)]).toEqual([501, 'NotImplemented']);
    const unknown = await rawRequest(g.port, {
      method: 'PUT',
      path: '/enc/kms',
      headers: { 'x-amz-server-side-encryption': 'AES128' },
      body: 'x',
    });
    expect([unknown.status, errorCode(unknown)]).toEqual([400, 'InvalidArgument']);
    const kmsKeyAlone = await rawRequest(g.port, {
      method: 'PUT',
      path: '/enc/kms',
      headers: { 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' },
      body: 'x',
    });
    expect([kmsKeyAlone.status, errorCode(kmsKeyAlone)]).toEqual([400, 'InvalidArgument']);
    expect(await g.h.meta.getObject('enc', 'kms')).toBeNull();
    const read = await rawRequest(g.port, {
      method: 'GET',
      path: '/enc/plain',
      headers: { 'x-amz-server-side-encryption': 'AES256' },
    });
    expect([read.status, errorCode(read)]).toEqual([400, 'InvalidArgument']);
  });

  it('authorises Get/PutBucketEncryption as s3:Get/PutEncryptionConfiguration', async () => {
    const reader = await grantKey(g, 'ENCREADER', { fresh: { read: true } });
    const client = g.client(reader);
    expect((await client.send(new GetBucketEncryptionCommand({ Bucket: 'fresh' }))).$metadata.httpStatusCode).toBe(200);
    const put = (c: S3Client): Promise<unknown> =>
      c.send(new PutBucketEncryptionCommand({ Bucket: 'fresh', ServerSideEncryptionConfiguration: AES256_RULE }));
    expect(await failure(put(client))).toBe('AccessDenied');
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'fresh',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: ['arn:aws:iam::000000000000:user/ENCREADER'] },
              Action: 's3:PutEncryptionConfiguration',
              Resource: 'arn:aws:s3:::fresh',
            },
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetEncryptionConfiguration',
              Resource: 'arn:aws:s3:::fresh',
            },
          ],
        }),
      }),
    );
    await put(client);
    expect(await failure(client.send(new GetBucketEncryptionCommand({ Bucket: 'fresh' })))).toBe('AccessDenied');
  });
});
