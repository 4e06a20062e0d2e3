import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  failure,
  gatewayForSuite,
  grantKey,
  rawRequest,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

const ALL = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
const MiB = 1024 * 1024;

describe('gateway: GetObjectAttributes', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['attrs', 'versioned'] }, (t) => ({ g, s3 } = t));

  it('answers the ETag (unquoted), size, storage class and checksum of a single PUT, and Last-Modified', async () => {
    const body = Buffer.from('attributes of a small object');
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'attrs', Key: 'small', Body: body, ChecksumAlgorithm: 'SHA256' }),
    );
    const got = await s3.send(
      new GetObjectAttributesCommand({ Bucket: 'attrs', Key: 'small', ObjectAttributes: [...ALL] }),
    );
    const md5 = crypto.createHash('md5').update(body).digest('hex');
    expect(put.ETag).toBe(`"${md5}"`);
    expect(got.ETag).toBe(md5);
    expect(got.ObjectSize).toBe(body.length);
    expect(got.StorageClass).toBe('STANDARD');
    expect(got.Checksum?.ChecksumSHA256).toBe(crypto.createHash('sha256').update(body).digest('base64'));
    expect(got.Checksum?.ChecksumType).toBe('FULL_OBJECT');
    // A single PUT has no parts.
    expect(got.ObjectParts).toBeUndefined();
    expect(got.LastModified).toBeInstanceOf(Date);
    expect(got.VersionId).toBeUndefined();
    // Only what was asked for.
    const some = await s3.send(
      new GetObjectAttributesCommand({ Bucket: 'attrs', Key: 'small', ObjectAttributes: ['ObjectSize'] }),
    );
    expect([some.ObjectSize, some.ETag, some.StorageClass, some.Checksum]).toEqual([
      body.length,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('counts the parts of a multipart object and pages them with max-parts and part-number-marker', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'attrs', Key: 'multi' }));
    const sizes = [5 * MiB, 5 * MiB, 10];
    const Parts = [];
    for (const [i, size] of sizes.entries()) {
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: 'attrs',
          Key: 'multi',
          UploadId,
          PartNumber: i + 1,
          Body: Buffer.alloc(size, i + 1),
        }),
      );
      Parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: 'attrs', Key: 'multi', UploadId, MultipartUpload: { Parts } }),
    );
    const all = await s3.send(
      new GetObjectAttributesCommand({ Bucket: 'attrs', Key: 'multi', ObjectAttributes: [...ALL] }),
    );
    expect(all.ETag).toBe(done.ETag!.replace(/"/g, ''));
    expect(all.ETag).toMatch(/-3$/);
    expect(all.ObjectSize).toBe(10 * MiB + 10);
    expect(all.ObjectParts).toMatchObject({ TotalPartsCount: 3, IsTruncated: false, MaxParts: 1000 });
    const first = await s3.send(
      new GetObjectAttributesCommand({ Bucket: 'attrs', Key: 'multi', ObjectAttributes: ['ObjectParts'], MaxParts: 2 }),
    );
    expect(first.ObjectParts).toMatchObject({
      TotalPartsCount: 3,
      MaxParts: 2,
      IsTruncated: true,
      PartNumberMarker: '0',
      NextPartNumberMarker: '2',
    });
    const rest = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: 'attrs',
        Key: 'multi',
        ObjectAttributes: ['ObjectParts'],
        MaxParts: 2,
        PartNumberMarker: first.ObjectParts!.NextPartNumberMarker,
      }),
    );
    expect(rest.ObjectParts).toMatchObject({ IsTruncated: false, PartNumberMarker: '2', NextPartNumberMarker: '3' });
  }, 120_000);

  it('refuses a missing or unknown attribute name, a bad max-parts, and methods other than GET', async () => {
    const none = await rawRequest(g.port, { method: 'GET', path: '/attrs/small?attributes' });
    expect([none.status, errorCode(none)]).toEqual([400, 'InvalidRequest']);
    const unknown = await rawRequest(g.port, {
      method: 'GET',
      path: '/attrs/small?attributes',
      headers: { 'x-amz-object-attributes': 'ETag,Colour' },
    });
    expect([unknown.status, errorCode(unknown)]).toEqual([400, 'InvalidArgument']);
    const negative = await rawRequest(g.port, {
      method: 'GET',
      path: '/attrs/small?attributes',
      headers: { 'x-amz-object-attributes': 'ObjectParts', 'x-amz-max-parts': '-1' },
    });
    expect([negative.status, errorCode(negative)]).toEqual([400, 'InvalidArgument']);
    const put = await rawRequest(g.port, { method: 'PUT', path: '/attrs/small?attributes', body: 'overwrite?' });
    expect([put.status, errorCode(put)]).toEqual([405, 'MethodNotAllowed']);
    expect((await g.h.meta.getObject('attrs', 'small'))?.size).not.toBe(10);
    const missing = await failure(
      s3.send(new GetObjectAttributesCommand({ Bucket: 'attrs', Key: 'nope', ObjectAttributes: ['ETag'] })),
    );
    expect(missing).toBe('NoSuchKey');
  });

  it('reads a named version, and answers delete markers as GET does (404 current, 405 named)', async () => {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'second!' }));
    const old = await s3.send(
      new GetObjectAttributesCommand({
        Bucket: 'versioned',
        Key: 'k',
        VersionId: v1.VersionId,
        ObjectAttributes: ['ObjectSize', 'ETag'],
      }),
    );
    expect([old.ObjectSize, old.VersionId]).toEqual([5, v1.VersionId]);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k' }));
    const current = await rawRequest(g.port, {
      method: 'GET',
      path: '/versioned/k?attributes',
      headers: { 'x-amz-object-attributes': 'ETag' },
    });
    expect([current.status, errorCode(current), current.headers['x-amz-delete-marker']]).toEqual([
      404,
      'NoSuchKey',
      'true',
    ]);
    const named = await rawRequest(g.port, {
      method: 'GET',
      path: `/versioned/k?attributes&versionId=${encodeURIComponent(marker.VersionId!)}`,
      headers: { 'x-amz-object-attributes': 'ETag' },
    });
    expect([named.status, errorCode(named), named.headers['x-amz-delete-marker']]).toEqual([
      405,
      'MethodNotAllowed',
      'true',
    ]);
  });

  it('authorises as s3:GetObjectAttributes, and s3:GetObjectVersionAttributes with a versionId', async () => {
    const reader = await grantKey(g, 'ATTRREADER', { versioned: { read: true } });
    const client = g.client(reader);
    const v = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'guarded', Body: 'guarded' }));
    const ask = (VersionId?: string): Promise<unknown> =>
      client.send(
        new GetObjectAttributesCommand({ Bucket: 'versioned', Key: 'guarded', VersionId, ObjectAttributes: ['ETag'] }),
      );
    await ask();
    await ask(v.VersionId);
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'versioned',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:GetObjectVersionAttributes',
              Resource: 'arn:aws:s3:::versioned/*',
            },
          ],
        }),
      }),
    );
    await ask();
    expect(await failure(ask(v.VersionId))).toBe('AccessDenied');
  });
});
