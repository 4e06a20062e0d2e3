import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { content } from './helpers/store-harness.js';
import { failureWithStatus, gatewayForSuite, type GatewayHarness } from './helpers/gateway-harness.js';

const md5 = (b: Buffer): string => crypto.createHash('md5').update(b).digest('hex');

describe('gateway: buckets and objects with the AWS SDK', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['objects'] }, (t) => ({ g, s3 } = t));

  it('creates, lists, heads and deletes buckets', async () => {
    await s3.send(
      new CreateBucketCommand({ Bucket: 'tmp-bucket', CreateBucketConfiguration: { LocationConstraint: undefined } }),
    );
    // us-east-1 (this gateway's region): re-creating a bucket you own succeeds (AWS's legacy rule).
    await s3.send(new CreateBucketCommand({ Bucket: 'tmp-bucket' }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toEqual(['objects', 'tmp-bucket']);
    expect(list.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
    await s3.send(new HeadBucketCommand({ Bucket: 'tmp-bucket' }));
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'tmp-bucket' }))).LocationConstraint).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket: 'tmp-bucket', Key: 'x', Body: 'x' }));
    expect(await failureWithStatus(s3.send(new DeleteBucketCommand({ Bucket: 'tmp-bucket' })))).toEqual({
      code: 'BucketNotEmpty',
      status: 409,
    });
    await s3.send(new DeleteObjectCommand({ Bucket: 'tmp-bucket', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'tmp-bucket' }));
    expect((await failureWithStatus(s3.send(new HeadBucketCommand({ Bucket: 'tmp-bucket' })))).status).toBe(404);
  });

  it('refuses invalid bucket names', async () => {
    for (const name of [
      'ab',
      'UPPER',
      'a..b',
      '192.168.1.1',
      '-start',
      'end-',
      'x'.repeat(64),
      'under_score',
      'xn--punycode',
    ]) {
      expect(await failureWithStatus(s3.send(new CreateBucketCommand({ Bucket: name }))), name).toMatchObject({
        code: 'InvalidBucketName',
      });
    }
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['objects']);
  });

  it('round-trips objects of several sizes with MD5 ETags, metadata and headers', async () => {
    for (const size of [0, 1, 1024 * 1024 - 1, 2 * 1024 * 1024 + 17]) {
      const data = content(size, size + 1);
      const key = `sized/${size}`;
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'objects',
          Key: key,
          Body: data,
          ContentType: 'text/x-test',
          Metadata: { colour: 'blue', 'two-words': 'a b' },
          CacheControl: 'max-age=60',
          ContentDisposition: 'attachment; filename="x.bin"',
          ContentLanguage: 'nl',
        }),
      );
      expect(put.ETag).toBe(`"${md5(data)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: key }));
      const body = Buffer.from(await got.Body!.transformToByteArray());
      expect(body.equals(data)).toBe(true);
      expect(got.ETag).toBe(`"${md5(data)}"`);
      expect(got.ContentLength).toBe(size);
      expect(got.ContentType).toBe('text/x-test');
      expect(got.Metadata).toEqual({ colour: 'blue', 'two-words': 'a b' });
      expect(got.CacheControl).toBe('max-age=60');
      expect(got.ContentDisposition).toBe('attachment; filename="x.bin"');
      expect(got.ContentLanguage).toBe('nl');
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: key }));
      expect(head.ContentLength).toBe(size);
      expect(head.LastModified).toBeInstanceOf(Date);
    }
  });

  it('streams a body of unknown length (aws-chunked with a CRC32 trailer) and keeps its checksum', async () => {
    const data = content(3 * 1024 * 1024 + 5, 77);
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
      })(),
    );
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'objects', Key: 'streamed', Body: body, ContentLength: data.length }),
    );
    expect(put.ETag).toBe(`"${md5(data)}"`);
    expect(put.ChecksumCRC32).toBeDefined();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'streamed', ChecksumMode: 'ENABLED' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
  });

  it('verifies and keeps CRC64NVME checksums, as a header and as a trailer, and refuses a wrong one', async () => {
    // CRC-64/NVME of "123456789" is ae8b14860a799888 (the catalogue's check value).
    const check = Buffer.from('ae8b14860a799888', 'hex').toString('base64');
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'objects', Key: 'crc64', Body: '123456789', ChecksumCRC64NVME: check }),
    );
    expect(put.ChecksumCRC64NVME).toBe(check);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'crc64', ChecksumMode: 'ENABLED' }));
    expect(await got.Body!.transformToString()).toBe('123456789');
    expect(got.ChecksumCRC64NVME).toBe(check);
    const data = content(2 * 1024 * 1024 + 3, 64);
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
      })(),
    );
    const streamed = await s3.send(
      new PutObjectCommand({
        Bucket: 'objects',
        Key: 'crc64-stream',
        Body: body,
        ContentLength: data.length,
        ChecksumAlgorithm: 'CRC64NVME',
      }),
    );
    expect(streamed.ChecksumCRC64NVME).toMatch(/^[A-Za-z0-9+/]{11}=$/);
    const wrong = Buffer.from('0000000000000001', 'hex').toString('base64');
    expect(
      await failureWithStatus(
        s3.send(
          new PutObjectCommand({ Bucket: 'objects', Key: 'crc64-bad', Body: '123456789', ChecksumCRC64NVME: wrong }),
        ),
      ),
    ).toEqual({ code: 'BadDigest', status: 400 });
    expect(await g.h.meta.getObject('objects', 'crc64-bad')).toBeNull();
  });

  it('keeps keys with any characters as names', async () => {
    const keys = ['a b+c%d', 'üñí/çødé ✓', '../escape', 'x?y=z&w', 'quote\'"<>', 'tilde~!*()', 'k'.repeat(1024)];
    for (const key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: key, Body: key }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: key }));
      expect(await got.Body!.transformToString()).toBe(key);
    }
    expect(
      await failureWithStatus(s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'k'.repeat(1025), Body: 'x' }))),
    ).toMatchObject({ code: 'KeyTooLongError', status: 400 });
    expect(await g.h.meta.getObject('objects', 'k'.repeat(1025))).toBeNull();
  });

  it('serves ranges: a-b, a-, -n, and 416 past the end', async () => {
    const data = content(300_000, 5);
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'ranged', Body: data }));
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      ['bytes=299990-', 299_990, 299_999],
      ['bytes=-10', 299_990, 299_999],
      ['bytes=5-999999', 5, 299_999],
    ];
    for (const [range, start, end] of cases) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'ranged', Range: range }));
      expect(got.$metadata.httpStatusCode).toBe(206);
      expect(got.ContentRange).toBe(`bytes ${start}-${end}/300000`);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data.subarray(start, end + 1))).toBe(true);
    }
    expect(
      await failureWithStatus(
        s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'ranged', Range: 'bytes=300000-' })),
      ),
    ).toEqual({ code: 'InvalidRange', status: 416 });
  });

  it('answers conditional GETs with 304 and 412 by AWS precedence', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const get = (o: Record<string, unknown>) => s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'cond', ...o }));
    expect((await get({ IfMatch: etag })).$metadata.httpStatusCode).toBe(200);
    expect((await failureWithStatus(get({ IfMatch: '"0000"' }))).status).toBe(412);
    expect((await failureWithStatus(get({ IfNoneMatch: etag }))).status).toBe(304);
    expect((await failureWithStatus(get({ IfModifiedSince: future }))).status).toBe(304);
    expect((await get({ IfModifiedSince: past })).$metadata.httpStatusCode).toBe(200);
    expect((await failureWithStatus(get({ IfUnmodifiedSince: past }))).status).toBe(412);
    // A true If-Match wins over a false If-Unmodified-Since; a false If-None-Match over a true If-Modified-Since.
    expect((await get({ IfMatch: etag, IfUnmodifiedSince: past })).$metadata.httpStatusCode).toBe(200);
    expect((await failureWithStatus(get({ IfNoneMatch: etag, IfModifiedSince: past }))).status).toBe(304);
  });

  it('overrides stored headers with response-* parameters', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'override', Body: 'x', ContentType: 'text/plain' }));
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: 'objects',
        Key: 'override',
        ResponseContentType: 'application/json',
        ResponseContentDisposition: 'inline',
        ResponseCacheControl: 'no-store',
      }),
    );
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentDisposition).toBe('inline');
    expect(got.CacheControl).toBe('no-store');
  });

  it('verifies Content-MD5 and refuses a wrong one without storing anything', async () => {
    const data = Buffer.from('checked body');
    const good = crypto.createHash('md5').update(data).digest('base64');
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'md5-good', Body: data, ContentMD5: good }));
    const wrong = crypto.createHash('md5').update('other').digest('base64');
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'md5-bad', Body: data, ContentMD5: wrong })),
      ),
    ).toEqual({ code: 'BadDigest', status: 400 });
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'md5-bad', Body: data, ContentMD5: 'not-md5' })),
      ),
    ).toEqual({ code: 'InvalidDigest', status: 400 });
    expect(await g.h.meta.getObject('objects', 'md5-bad')).toBeNull();
  });

  it('creates only when absent with If-None-Match: *', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'lock', Body: 'first', IfNoneMatch: '*' }));
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'lock', Body: 'second', IfNoneMatch: '*' })),
      ),
    ).toEqual({ code: 'PreconditionFailed', status: 412 });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'lock' }));
    expect(await got.Body!.transformToString()).toBe('first');
  });

  it('lets exactly one of many concurrent If-None-Match: * PUTs of one key win, and If-Match replace only what it names', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => crypto.randomBytes(300 * 1024 + i));
    const results = await Promise.allSettled(
      bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race', Body, IfNoneMatch: '*' }))),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected')
        expect((r.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(412);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'race' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bodies[won[0]!]!)).toBe(true);
    const etag = `"${md5(bodies[won[0]!]!)}"`;
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race', Body: 'replaced', IfMatch: etag }));
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race', Body: 'again', IfMatch: etag })),
      ),
    ).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race-absent', Body: 'x', IfMatch: etag })),
      ),
    ).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(
      await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'race' }))).Body!.transformToString(),
    ).toBe('replaced');
    // If-Match: * replaces whatever exists, and nothing where nothing is.
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race', Body: 'any', IfMatch: '*' }));
    expect(
      await (await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'race' }))).Body!.transformToString(),
    ).toBe('any');
    expect(
      await failureWithStatus(
        s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'race-absent', Body: 'x', IfMatch: '*' })),
      ),
    ).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  it('deletes objects one by one (204 even when missing) and in batches', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'never-existed' }));
    for (const k of ['d/1', 'd/2', 'd/3']) await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: k, Body: k }));
    const loud = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'objects', Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/missing' }] } }),
    );
    expect(loud.Deleted?.map((d) => d.Key).sort()).toEqual(['d/1', 'd/missing']);
    const quiet = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'objects',
        Delete: { Quiet: true, Objects: [{ Key: 'd/2' }, { Key: 'd/3' }] },
      }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    for (const k of ['d/1', 'd/2', 'd/3']) expect(await g.h.meta.getObject('objects', k)).toBeNull();
  });

  it('copies objects: COPY keeps metadata, REPLACE changes it, a copy onto itself needs REPLACE', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'objects',
        Key: 'orig',
        Body: 'copy me',
        ContentType: 'text/a',
        Metadata: { m: '1' },
      }),
    );
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'objects', Key: 'copy 1', CopySource: 'objects/orig' }));
    expect(copy.CopyObjectResult?.ETag).toBe(`"${md5(Buffer.from('copy me'))}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'copy 1' }));
    expect([head.ContentType, head.Metadata]).toEqual(['text/a', { m: '1' }]);
    expect(
      await failureWithStatus(
        s3.send(new CopyObjectCommand({ Bucket: 'objects', Key: 'orig', CopySource: 'objects/orig' })),
      ),
    ).toEqual({ code: 'InvalidRequest', status: 400 });
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'objects',
        Key: 'orig',
        CopySource: 'objects/orig',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/b',
        Metadata: { m: '2' },
      }),
    );
    const replaced = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'orig' }));
    expect([replaced.ContentType, replaced.Metadata, await replaced.Body!.transformToString()]).toEqual([
      'text/b',
      { m: '2' },
      'copy me',
    ]);
    expect(
      await failureWithStatus(
        s3.send(
          new CopyObjectCommand({
            Bucket: 'objects',
            Key: 'c',
            CopySource: 'objects/orig',
            CopySourceIfMatch: '"nope"',
          }),
        ),
      ),
    ).toMatchObject({ code: 'PreconditionFailed' });
    expect(
      await failureWithStatus(
        s3.send(new CopyObjectCommand({ Bucket: 'objects', Key: 'c', CopySource: 'objects/absent' })),
      ),
    ).toMatchObject({ code: 'NoSuchKey' });
  });

  it('answers NoSuchKey and NoSuchBucket', async () => {
    expect(await failureWithStatus(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'absent' })))).toEqual({
      code: 'NoSuchKey',
      status: 404,
    });
    expect(await failureWithStatus(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))).toEqual({
      code: 'NoSuchBucket',
      status: 404,
    });
    expect(
      await failureWithStatus(s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'x', Body: 'x' }))),
    ).toEqual({
      code: 'NoSuchBucket',
      status: 404,
    });
  });
});
