// UploadPartCopy (gateway/ops/part-copy.ts): ranges copied by reference or as bytes, refusals.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Deleter } from '../src/store/deleter.js';
import { content } from './helpers/store-harness.js';
import { failure, gatewayForSuite, grantKey, md5, quotedMd5, type GatewayHarness } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;

describe('gateway: UploadPartCopy', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const source = content(12 * MiB, 41);
  const small = Buffer.from('the last part, copied whole from a small object');
  gatewayForSuite(
    {
      chunkSize: MiB,
      buckets: ['src', 'dst'],
      objects: [
        ['src', 'big', source],
        ['src', 'small', small],
      ],
    },
    (t) => ({ g, s3 } = t),
  );

  it('copies an aligned range by reference, an unaligned range and a whole object as bytes; the sources can go before completion', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'joined' }));
    const copy = (PartNumber: number, CopySource: string, CopySourceRange?: string) =>
      s3.send(
        new UploadPartCopyCommand({ Bucket: 'dst', Key: 'joined', UploadId, PartNumber, CopySource, CopySourceRange }),
      );
    const aligned = source.subarray(0, 6 * MiB); // chunks 0-5 of the 1 MiB chunks
    const unaligned = source.subarray(6 * MiB + 123, 12 * MiB - 7);
    const p1 = await copy(1, 'src/big', `bytes=0-${6 * MiB - 1}`);
    const p2 = await copy(2, 'src/big', `bytes=${6 * MiB + 123}-${12 * MiB - 8}`);
    const p3 = await copy(3, '/src/small');
    expect([p1.CopyPartResult?.ETag, p2.CopyPartResult?.ETag, p3.CopyPartResult?.ETag]).toEqual([
      quotedMd5(aligned),
      quotedMd5(unaligned),
      quotedMd5(small),
    ]);
    expect(p1.CopyPartResult?.LastModified).toBeInstanceOf(Date);

    // The sources go, and their unshared shards with them, before the upload completes: only the
    // parts' references keep the shared chunks.
    const sourceChunks = (await g.h.meta.getObject('src', 'big'))!.chunks.map((c) => c.id);
    const deleter = new Deleter(g.h.meta, g.h.backends);
    await deleter.drain();
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'big' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'small' }));
    expect(await deleter.drain()).toBe(6 * 6); // chunks 6-11 of big, 6 shards each; nothing of small

    const parts = [p1, p2, p3].map((p, i) => ({ PartNumber: i + 1, ETag: p.CopyPartResult!.ETag! }));
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: 'dst', Key: 'joined', UploadId, MultipartUpload: { Parts: parts } }),
    );
    const expected = Buffer.concat([aligned, unaligned, small]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'joined' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(expected)).toBe(true);
    expect(done.ETag).toBe(`"${md5(Buffer.concat([aligned, unaligned, small].map(md5))).toString('hex')}-3"`);

    const chunks = (await g.h.meta.getObject('dst', 'joined'))!.chunks.map((c) => c.id);
    expect(chunks.slice(0, 6)).toEqual(sourceChunks.slice(0, 6));
    expect(chunks.slice(6).some((id) => sourceChunks.includes(id))).toBe(false);
  });

  it('copies a range of a multipart object on its part boundary by reference', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'again' }));
    const copy = (PartNumber: number, CopySource: string, CopySourceRange?: string) =>
      s3.send(
        new UploadPartCopyCommand({ Bucket: 'dst', Key: 'again', UploadId, PartNumber, CopySource, CopySourceRange }),
      );
    const joined = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'joined' }))).Body!.transformToByteArray(),
    );
    const second = joined.subarray(6 * MiB, 12 * MiB - 130); // exactly part 2 of 'joined'
    const p1 = await copy(1, 'dst/joined', `bytes=${6 * MiB}-${12 * MiB - 131}`);
    expect(p1.CopyPartResult?.ETag).toBe(quotedMd5(second));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'dst',
        Key: 'again',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag! }] },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'again' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(second)).toBe(true);
    const joinedChunks = (await g.h.meta.getObject('dst', 'joined'))!.chunks.map((c) => c.id);
    expect((await g.h.meta.getObject('dst', 'again'))!.chunks.map((c) => c.id)).toEqual(joinedChunks.slice(6, 12));
  });

  it('refuses bad sources, ranges, preconditions, uploads and rights with S3 codes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'ten', Body: '0123456789' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'bad' }));
    const copy = (
      input: {
        CopySource?: string;
        CopySourceRange?: string;
        CopySourceIfMatch?: string;
        UploadId?: string;
        PartNumber?: number;
      },
      client = s3,
    ) =>
      failure(
        client.send(
          new UploadPartCopyCommand({
            Bucket: 'dst',
            Key: 'bad',
            UploadId,
            PartNumber: 1,
            CopySource: 'src/ten',
            ...input,
          }),
        ),
      );
    expect(await copy({ CopySource: 'src/absent' })).toBe('NoSuchKey');
    expect(await copy({ CopySource: 'nobucket/ten' })).toBe('NoSuchBucket');
    expect(await copy({ CopySource: 'src' })).toBe('InvalidArgument');
    expect(await copy({ UploadId: 'nope' })).toBe('NoSuchUpload');
    expect(await copy({ PartNumber: 10001 })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-' })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-2' })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-10' })).toBe('InvalidArgument'); // past the last byte (9)
    expect(await copy({ CopySourceIfMatch: '"00000000000000000000000000000000"' })).toBe('PreconditionFailed');
    const writer = await grantKey(g, 'PARTWRITER', { dst: { write: true } });
    expect(await copy({}, g.client(writer))).toBe('AccessDenied'); // no read on src
    const reader = await grantKey(g, 'PARTREADER', { src: { read: true }, dst: { read: true } });
    expect(await copy({}, g.client(reader))).toBe('AccessDenied'); // no write on dst

    const ok = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'dst',
        Key: 'bad',
        UploadId,
        PartNumber: 1,
        CopySource: 'src/ten',
        CopySourceRange: 'bytes=2-4',
        CopySourceIfMatch: quotedMd5(Buffer.from('0123456789')),
      }),
    );
    expect(ok.CopyPartResult?.ETag).toBe(quotedMd5(Buffer.from('234')));
  });
});
