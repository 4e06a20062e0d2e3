import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32c } from '@node-rs/crc32';
import crypto from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { gatewayForSuite, type GatewayHarness } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;

/** The checksum of `data` as S3 sends it (base64 of the big-endian digest), computed here on its own. */
async function checksumOf(algorithm: string, data: Buffer): Promise<string> {
  const crc = (value: number): string => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value >>> 0);
    return out.toString('base64');
  };
  switch (algorithm) {
    case 'CRC32':
      return crc(zlib.crc32(data));
    case 'CRC32C':
      return crc(crc32c(data));
    case 'CRC64NVME': {
      const hash = new Crc64Nvme();
      hash.update(data);
      return Buffer.from(await hash.digest()).toString('base64');
    }
    default:
      return crypto.createHash(algorithm.toLowerCase()).update(data).digest('base64');
  }
}

/** COMPOSITE: the algorithm over the parts' binary digests, then -<parts>. */
async function compositeOf(algorithm: string, parts: Buffer[]): Promise<string> {
  const digests = await Promise.all(parts.map(async (p) => Buffer.from(await checksumOf(algorithm, p), 'base64')));
  return `${await checksumOf(algorithm, Buffer.concat(digests))}-${parts.length}`;
}

type Field = `Checksum${'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256'}`;
const field = (algorithm: string): Field => `Checksum${algorithm}` as Field;

describe('gateway: checksums of multipart uploads', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite(
    { buckets: ['sums'], objects: [['sums', 'source', Buffer.alloc(3 * MiB + 5, 'q')]] },
    (t) => ({ g, s3 } = t),
  );
  const parts = [Buffer.alloc(5 * MiB, 'A'), Buffer.alloc(5 * MiB, 'B'), Buffer.from('the last part, short')];

  /** Creates an upload with the algorithm (and type), uploads `parts` with the SDK computing each part's checksum. */
  async function upload(
    Key: string,
    algorithm: ChecksumAlgorithm,
    type?: ChecksumType,
  ): Promise<{ UploadId: string; Parts: CompletedPart[] }> {
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'sums', Key, ChecksumAlgorithm: algorithm, ChecksumType: type }),
    );
    expect(created.ChecksumAlgorithm).toBe(algorithm);
    expect(created.ChecksumType).toBe(type ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE'));
    const UploadId = created.UploadId!;
    const Parts: CompletedPart[] = [];
    for (const [i, Body] of parts.entries()) {
      const sent = await s3.send(
        new UploadPartCommand({ Bucket: 'sums', Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: algorithm }),
      );
      expect(sent[field(algorithm)]).toBe(await checksumOf(algorithm, Body));
      Parts.push({ PartNumber: i + 1, ETag: sent.ETag, [field(algorithm)]: sent[field(algorithm)] });
    }
    return { UploadId, Parts };
  }

  const cases: Array<[ChecksumAlgorithm, ChecksumType | undefined, 'COMPOSITE' | 'FULL_OBJECT']> = [
    ['SHA256', undefined, 'COMPOSITE'],
    ['SHA1', 'COMPOSITE', 'COMPOSITE'],
    ['CRC32', undefined, 'COMPOSITE'],
    ['CRC32', 'FULL_OBJECT', 'FULL_OBJECT'],
    ['CRC32C', 'FULL_OBJECT', 'FULL_OBJECT'],
    ['CRC64NVME', undefined, 'FULL_OBJECT'],
  ];
  for (const [algorithm, asked, type] of cases) {
    it(`${algorithm} ${type}: the object's checksum on complete, HEAD, GET partNumber and GetObjectAttributes`, async () => {
      const Key = `${algorithm}-${type}`;
      const { UploadId, Parts } = await upload(Key, algorithm, asked);
      const listed = await s3.send(new ListPartsCommand({ Bucket: 'sums', Key, UploadId }));
      expect(listed.ChecksumAlgorithm).toBe(algorithm);
      expect(listed.Parts!.map((p) => p[field(algorithm)])).toEqual(Parts.map((p) => p[field(algorithm)]));
      // FULL_OBJECT: the whole object's CRC, combined from the parts' without reading them.
      const expected =
        type === 'COMPOSITE' ? await compositeOf(algorithm, parts) : await checksumOf(algorithm, Buffer.concat(parts));
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'sums',
          Key,
          UploadId,
          MultipartUpload: { Parts },
          [field(algorithm)]: expected,
        }),
      );
      expect([done[field(algorithm)], done.ChecksumType]).toEqual([expected, type]);

      const plain = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key }));
      expect(plain[field(algorithm)]).toBeUndefined();
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key, ChecksumMode: 'ENABLED' }));
      expect([head[field(algorithm)], head.ChecksumType]).toEqual([expected, type]);
      const second = await s3.send(
        new GetObjectCommand({ Bucket: 'sums', Key, PartNumber: 2, ChecksumMode: 'ENABLED' }),
      );
      expect(Buffer.from(await second.Body!.transformToByteArray()).equals(parts[1]!)).toBe(true);
      expect([second[field(algorithm)], second.ChecksumType]).toEqual([Parts[1]![field(algorithm)], type]);

      const attributes = await s3.send(
        new GetObjectAttributesCommand({
          Bucket: 'sums',
          Key,
          ObjectAttributes: ['Checksum', 'ObjectParts'],
          MaxParts: 1,
          PartNumberMarker: '1',
        }),
      );
      expect(attributes.Checksum).toEqual({ [field(algorithm)]: expected, ChecksumType: type });
      expect(attributes.ObjectParts).toMatchObject({
        TotalPartsCount: 3,
        IsTruncated: true,
        NextPartNumberMarker: '2',
        Parts: [{ PartNumber: 2, Size: parts[1]!.length, [field(algorithm)]: Parts[1]![field(algorithm)] }],
      });
    }, 180_000);
  }

  it('keeps the checksum of a part streamed by the SDK', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'sums', Key: 'streamed', ChecksumAlgorithm: 'CRC32C' }),
    );
    const body = Buffer.from('a part streamed with its checksum in a trailer');
    const sent = await s3.send(
      new UploadPartCommand({
        Bucket: 'sums',
        Key: 'streamed',
        UploadId,
        PartNumber: 1,
        Body: Readable.from([body]),
        ContentLength: body.length,
        ChecksumAlgorithm: 'CRC32C',
      }),
    );
    expect(sent.ChecksumCRC32C).toBe(await checksumOf('CRC32C', body));
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'sums', Key: 'streamed', UploadId }));
    expect(listed.Parts?.[0]?.ChecksumCRC32C).toBe(await checksumOf('CRC32C', body));
  });

  it('answers a repeated completion with the same checksum', async () => {
    const { UploadId, Parts } = await upload('again', 'SHA256');
    const complete = (): Promise<{ ChecksumSHA256?: string; ETag?: string }> =>
      s3.send(
        new CompleteMultipartUploadCommand({ Bucket: 'sums', Key: 'again', UploadId, MultipartUpload: { Parts } }),
      );
    const first = await complete();
    const second = await complete();
    expect(first.ChecksumSHA256).toBe(await compositeOf('SHA256', parts));
    expect([second.ETag, second.ChecksumSHA256]).toEqual([first.ETag, first.ChecksumSHA256]);
  }, 180_000);

  it("computes a copied part's checksum (UploadPartCopy, whole and ranged)", async () => {
    const source = Buffer.alloc(3 * MiB + 5, 'q');
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'sums',
        Key: 'copied',
        ChecksumAlgorithm: 'CRC32C',
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    const whole = await s3.send(
      new UploadPartCopyCommand({ Bucket: 'sums', Key: 'copied', UploadId, PartNumber: 1, CopySource: 'sums/source' }),
    );
    const ranged = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'sums',
        Key: 'copied',
        UploadId,
        PartNumber: 2,
        CopySource: 'sums/source',
        CopySourceRange: 'bytes=1-10',
      }),
    );
    expect(whole.CopyPartResult?.ChecksumCRC32C).toBe(await checksumOf('CRC32C', source));
    expect(ranged.CopyPartResult?.ChecksumCRC32C).toBe(await checksumOf('CRC32C', source.subarray(1, 11)));
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'sums', Key: 'copied', UploadId }));
    expect(listed.Parts!.map((p) => p.ChecksumCRC32C)).toEqual([
      whole.CopyPartResult?.ChecksumCRC32C,
      ranged.CopyPartResult?.ChecksumCRC32C,
    ]);
  }, 120_000);

  it("keeps the parts' checksums through `meta rebuild`", async () => {
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-checksums.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      const original = (await g.h.meta.getObject('sums', 'SHA256-COMPOSITE'))!;
      const rebuilt = (await fresh.getObject('sums', 'SHA256-COMPOSITE'))!;
      expect(original.partChecksums).toHaveLength(3);
      expect([rebuilt.checksums, rebuilt.checksumType, rebuilt.partChecksums]).toEqual([
        original.checksums,
        original.checksumType,
        original.partChecksums,
      ]);
    } finally {
      await fresh.close();
    }
  });

  it('gives a copy the checksum its x-amz-checksum-algorithm asks for, computed or kept from the source', async () => {
    const source = Buffer.alloc(3 * MiB + 5, 'q');
    const computed = await s3.send(
      new CopyObjectCommand({ Bucket: 'sums', Key: 'copy-sha1', CopySource: 'sums/source', ChecksumAlgorithm: 'SHA1' }),
    );
    expect(computed.CopyObjectResult?.ChecksumSHA1).toBe(await checksumOf('SHA1', source));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: 'copy-sha1', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumSHA1, head.ChecksumType, head.ContentLength]).toEqual([
      await checksumOf('SHA1', source),
      'FULL_OBJECT',
      source.length,
    ]);
    // A source with that checksum of its whole bytes keeps it, chunks shared.
    const kept = await s3.send(
      new CopyObjectCommand({
        Bucket: 'sums',
        Key: 'copy-again',
        CopySource: 'sums/copy-sha1',
        ChecksumAlgorithm: 'SHA1',
      }),
    );
    expect(kept.CopyObjectResult?.ChecksumSHA1).toBe(await checksumOf('SHA1', source));
    const [a, b] = await Promise.all([
      g.h.meta.getObject('sums', 'copy-sha1'),
      g.h.meta.getObject('sums', 'copy-again'),
    ]);
    expect(b!.chunks.map((c) => c.id)).toEqual(a!.chunks.map((c) => c.id));
  }, 120_000);

  it('keeps a single PUT FULL_OBJECT, with no parts', async () => {
    const body = Buffer.from('one request');
    await s3.send(new PutObjectCommand({ Bucket: 'sums', Key: 'single', Body: body, ChecksumAlgorithm: 'CRC32' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: 'single', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumCRC32, head.ChecksumType]).toEqual([await checksumOf('CRC32', body), 'FULL_OBJECT']);
  });
});
