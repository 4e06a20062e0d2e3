import crypto from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { describe, expect, it } from 'vitest';
import { content } from './helpers/store-harness.js';
import { errorCode, gatewayForSuite, rawRequest, type GatewayHarness, failure } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): Buffer => crypto.createHash('md5').update(b).digest();

describe('gateway: listings', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const keys = ['a', 'a/b', 'a/c/d', 'a/c/e', 'b c', 'b+c', 'photos/2024/x.jpg', 'photos/2025/y.jpg', 'z', 'ü'];
  gatewayForSuite(
    { buckets: ['list'], objects: keys.map((k): [string, string, string] => ['list', k, k]) },
    (t) => ({ g, s3 } = t),
  );

  /** Every key and prefix of a v2 listing, following continuation tokens page by page. */
  async function allV2(input: {
    Prefix?: string;
    Delimiter?: string;
    MaxKeys?: number;
    StartAfter?: string;
  }): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'list', ...input, ContinuationToken: token }));
      expect(page.KeyCount).toBe((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
      out.push(...(page.Contents ?? []).map((c) => c.Key!), ...(page.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  it('lists v2 in byte order, with prefixes, delimiters, pages and start-after', async () => {
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(await allV2({})).toEqual(sorted);
    for (const max of [1, 2, 3]) expect(await allV2({ MaxKeys: max })).toEqual(sorted);
    expect((await allV2({ Delimiter: '/' })).sort()).toEqual(['P:a/', 'P:photos/', 'a', 'b c', 'b+c', 'z', 'ü'].sort());
    expect(await allV2({ Prefix: 'a/', Delimiter: '/' })).toEqual(['a/b', 'P:a/c/']);
    expect(await allV2({ Prefix: 'photos/', Delimiter: '/', MaxKeys: 1 })).toEqual([
      'P:photos/2024/',
      'P:photos/2025/',
    ]);
    expect(await allV2({ StartAfter: 'b+c' })).toEqual(sorted.slice(sorted.indexOf('b+c') + 1));
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: 2, FetchOwner: true }));
    expect(page.Contents?.[0]?.Owner?.ID).toBeDefined();
    expect(page.Contents?.[0]?.ETag).toBe(`"${md5(Buffer.from('a')).toString('hex')}"`);
    expect(page.Contents?.[0]?.Size).toBe(1);
  });

  it('caps max-keys at 1000 and refuses a bad one', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: 5000 }));
    expect(page.MaxKeys).toBe(1000);
    const bad = await rawRequest(g.port, { method: 'GET', path: '/list?list-type=2&max-keys=-1' });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'InvalidArgument']);
  });

  it('lists v1 with markers, and NextMarker when a delimiter is given', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: 'list', MaxKeys: 3 }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(['a', 'a/b', 'a/c/d']);
    expect(first.IsTruncated).toBe(true);
    expect(first.NextMarker).toBeUndefined();
    const next = await s3.send(new ListObjectsCommand({ Bucket: 'list', MaxKeys: 3, Marker: 'a/c/d' }));
    expect(next.Contents?.map((c) => c.Key)).toEqual(['a/c/e', 'b c', 'b+c']);
    const rolled = await s3.send(new ListObjectsCommand({ Bucket: 'list', Delimiter: '/', MaxKeys: 2 }));
    expect([
      rolled.Contents?.map((c) => c.Key),
      rolled.CommonPrefixes?.map((p) => p.Prefix),
      rolled.NextMarker,
    ]).toEqual([['a'], ['a/'], 'a/']);
  });

  it('url-encodes keys and prefixes with encoding-type=url', async () => {
    const res = await rawRequest(g.port, { method: 'GET', path: '/list?list-type=2&encoding-type=url&prefix=b' });
    const body = res.body.toString();
    expect(body).toContain('<Key>b%20c</Key>');
    expect(body).toContain('<Key>b%2Bc</Key>');
    expect(body).toContain('<EncodingType>url</EncodingType>');
    const v1 = await rawRequest(g.port, { method: 'GET', path: '/list?encoding-type=url&prefix=%C3%BC' });
    expect(v1.body.toString()).toContain('<Key>%C3%BC</Key>');
    // V1's own Prefix is not encoded (a v2 listing's is).
    expect(v1.body.toString()).toContain('<Prefix>\u00fc</Prefix>');
    const v2 = await rawRequest(g.port, { method: 'GET', path: '/list?list-type=2&encoding-type=url&prefix=%C3%BC' });
    expect(v2.body.toString()).toContain('<Prefix>%C3%BC</Prefix>');
  });
});

describe('gateway: multipart uploads', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ chunkSize: 4 * MiB, buckets: ['mpu'] }, (t) => ({ g, s3 } = t));

  it('uploads 12 MiB in 5 MiB parts with lib-storage and reads it back', async () => {
    const data = content(12 * MiB, 12);
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'mpu', Key: 'big.bin', Body: data, ContentType: 'application/x-big' },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) => md5(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)));
    const expected = `"${crypto.createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big.bin' }));
    expect(got.ContentType).toBe('application/x-big');
    expect(got.ETag).toBe(expected);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    const part2 = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big.bin', PartNumber: 2 }));
    expect(part2.ContentRange).toBe(`bytes ${5 * MiB}-${10 * MiB - 1}/${12 * MiB}`);
    expect(part2.PartsCount).toBe(3);
    expect(Buffer.from(await part2.Body!.transformToByteArray()).equals(data.subarray(5 * MiB, 10 * MiB))).toBe(true);
  });

  it('lists parts and uploads, completes, aborts, and checks part rules', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual' }));
    const small = Buffer.from('small part');
    const big = content(5 * MiB, 1);
    expect(
      await failure(
        s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 10001, Body: small })),
      ),
    ).toBe('InvalidArgument');
    expect(
      await failure(
        s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId: 'nope', PartNumber: 1, Body: small })),
      ),
    ).toBe('NoSuchUpload');
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 1, Body: small }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 2, Body: big }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'manual', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, p1.ETag, small.length],
      [2, p2.ETag, big.length],
    ]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu' }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['manual', UploadId]]);
    const complete = (list: Array<{ PartNumber: number; ETag?: string }>) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'mpu',
          Key: 'manual',
          UploadId,
          MultipartUpload: { Parts: list },
        }),
      );
    expect(
      await failure(
        complete([
          { PartNumber: 2, ETag: p2.ETag },
          { PartNumber: 1, ETag: p1.ETag },
        ]),
      ),
    ).toBe('InvalidPartOrder');
    expect(await failure(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]))).toBe(
      'InvalidPart',
    );
    expect(
      await failure(
        complete([
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ]),
      ),
    ).toBe('EntityTooSmall');
    expect(await g.h.meta.getObject('mpu', 'manual')).toBeNull();
    await complete([{ PartNumber: 2, ETag: p2.ETag }]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'manual' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(big)).toBe(true);
  });

  it('answers a completion repeated with the same parts 200 with the same ETag, as AWS; other repeats NoSuchUpload', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'twice' }));
    const body = content(1024, 7);
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'mpu', Key: 'twice', UploadId, PartNumber: 1, Body: body }),
    );
    const complete = (Key: string, ETag = part.ETag) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'mpu',
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
        }),
      );
    const first = await complete('twice');
    const again = await complete('twice');
    expect(again.ETag).toBe(first.ETag);
    expect(await failure(complete('twice', '"00000000000000000000000000000000"'))).toBe('NoSuchUpload');
    expect(await failure(complete('elsewhere'))).toBe('NoSuchUpload');
    // Once the key holds another object, the upload is gone for good.
    await s3.send(new PutObjectCommand({ Bucket: 'mpu', Key: 'twice', Body: 'replaced' }));
    expect(await failure(complete('twice'))).toBe('NoSuchUpload');
  });

  it('aborts an upload: its parts go, ListParts answers NoSuchUpload', async () => {
    const small = Buffer.from('small part');
    const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'aborted' }));
    await s3.send(
      new UploadPartCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: second.UploadId, PartNumber: 1, Body: small }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: second.UploadId }));
    expect(
      await failure(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: second.UploadId }))),
    ).toBe('NoSuchUpload');
    expect(await g.h.meta.getObject('mpu', 'aborted')).toBeNull();
  });
});
