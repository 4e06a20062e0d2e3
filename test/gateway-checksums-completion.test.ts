// CompleteMultipartUpload of an upload with a checksum whose request leaves out a part's
// checksum, through the AWS SDK: a COMPOSITE upload is refused as AWS refuses it (InvalidRequest,
// nothing committed); a FULL_OBJECT upload completes, its checksum built from the stored parts'.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gatewayForSuite } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;
const B = 'sums';

/** Status, code and message an SDK call fails with (it must fail). */
async function refusal(p: Promise<unknown>): Promise<[number | undefined, string, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return [e.$metadata.httpStatusCode, e.name, e.message];
    throw e;
  }
  throw new Error('the call succeeded');
}

describe('gateway: a completion leaving out part checksums', () => {
  let s3: S3Client;
  gatewayForSuite({ buckets: [B], objects: [[B, 'kept', 'the object before']] }, (t) => ({ s3 } = t));
  const parts = [Buffer.alloc(5 * MiB, 'A'), Buffer.from('the short last part')];

  /** An upload of `parts` to `Key`, each part sent with its checksum; as a completion lists them, with their checksums. */
  async function upload(Key: string, algorithm: ChecksumAlgorithm, type: ChecksumType) {
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: B, Key, ChecksumAlgorithm: algorithm, ChecksumType: type }),
    );
    const UploadId = created.UploadId!;
    const listed: CompletedPart[] = [];
    for (const [i, Body] of parts.entries()) {
      const PartNumber = i + 1;
      const sent = await s3.send(
        new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber, Body, ChecksumAlgorithm: algorithm }),
      );
      listed.push({
        PartNumber,
        ETag: sent.ETag,
        ChecksumSHA256: sent.ChecksumSHA256,
        ChecksumCRC32: sent.ChecksumCRC32,
      });
    }
    const complete = (Parts: CompletedPart[], ChecksumSHA256?: string) =>
      s3.send(
        new CompleteMultipartUploadCommand({ Bucket: B, Key, UploadId, MultipartUpload: { Parts }, ChecksumSHA256 }),
      );
    return { UploadId, listed, complete };
  }
  const bare = ({ PartNumber, ETag }: CompletedPart): CompletedPart => ({ PartNumber, ETag });
  const body = async (Key: string): Promise<Buffer> =>
    Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: B, Key }))).Body!.transformToByteArray());

  it('refuses a COMPOSITE completion missing a part checksum as AWS does, the object and upload unchanged', async () => {
    const { UploadId, listed, complete } = await upload('kept', 'SHA256', 'COMPOSITE');
    const missing = (n: number): [number, string, string] => [
      400,
      'InvalidRequest',
      `The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part ${n} in the request.`,
    ];
    expect(await refusal(complete(listed.map(bare)))).toEqual(missing(1));
    expect(await refusal(complete([listed[0]!, bare(listed[1]!)]))).toEqual(missing(2));
    // A wrong checksum of the object is named first, as ceph/s3-tests expects.
    const other = crypto.createHash('sha256').update('other').digest('base64');
    expect((await refusal(complete(listed.map(bare), other))).slice(0, 2)).toEqual([400, 'BadDigest']);
    expect((await body('kept')).toString()).toBe('the object before');
    const still = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'kept', UploadId }));
    expect(still.Parts?.map((p) => p.ChecksumSHA256)).toEqual(listed.map((p) => p.ChecksumSHA256));

    const done = await complete(listed);
    expect(done.ChecksumType).toBe('COMPOSITE');
    expect((await body('kept')).equals(Buffer.concat(parts))).toBe(true);
  }, 120_000);

  it('completes a FULL_OBJECT upload without the part checksums, with the CRC of the whole', async () => {
    const { listed, complete } = await upload('full', 'CRC32', 'FULL_OBJECT');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat(parts)) >>> 0);
    const done = await complete(listed.map(bare));
    expect([done.ChecksumCRC32, done.ChecksumType]).toEqual([crc.toString('base64'), 'FULL_OBJECT']);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'full', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC32).toBe(crc.toString('base64'));
    expect(
      crypto
        .createHash('md5')
        .update(await body('full'))
        .digest('hex'),
    ).toBe(crypto.createHash('md5').update(Buffer.concat(parts)).digest('hex'));
  }, 120_000);

  it('completes an upload without a checksum as before, parts listed bare', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: 'old' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'plain' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: B, Key: 'plain', UploadId, PartNumber: 1, Body: 'new' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'plain',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect((await body('plain')).toString()).toBe('new');
  });
});
