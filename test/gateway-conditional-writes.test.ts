// Conditional writes (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html):
// If-Match and If-None-Match on PutObject and CompleteMultipartUpload, decided when the write
// commits; If-None-Match with ETags as RFC 9110 and MinIO take it (AWS takes only *). And a
// completion listing part 1 twice, as a client that resent it does.
import crypto from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureWithStatus, startGateway, type GatewayHarness } from './helpers/gateway-harness.js';
import { interposedMeta } from './helpers/interposed-meta.js';

const md5 = (data: string | Buffer): string => crypto.createHash('md5').update(data).digest('hex');
const refused = { code: 'PreconditionFailed', status: 412 };
const B = 'writes';

describe('gateway: conditional PutObject and CompleteMultipartUpload', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const interposed = interposedMeta();

  beforeAll(async () => {
    g = await startGateway({ meta: interposed.meta });
    interposed.use(g.h.meta);
    s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  afterAll(async () => {
    await g?.close();
  });

  const put = (Key: string, Body: string, condition: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
    s3.send(new PutObjectCommand({ Bucket: B, Key, Body, ...condition }));
  const body = async (Key: string): Promise<string> =>
    (await s3.send(new GetObjectCommand({ Bucket: B, Key }))).Body!.transformToString();

  describe('PutObject', () => {
    it('If-None-Match with an ETag: 412 when it is the object, the write otherwise (an absent key too)', async () => {
      const { ETag } = await put('inm', 'first');
      const bare = ETag!.replace(/"/g, '');
      for (const IfNoneMatch of [ETag!, bare, `"0123", ${ETag}`, `W/${ETag}`])
        expect(await failureWithStatus(put('inm', 'second', { IfNoneMatch }))).toEqual(refused);
      expect(await body('inm')).toBe('first');
      const replaced = await put('inm', 'third', { IfNoneMatch: `"${md5('other')}"` });
      expect(replaced.ETag).toBe(`"${md5('third')}"`);
      expect(await body('inm')).toBe('third');
      await put('inm-new', 'created', { IfNoneMatch: ETag });
      expect(await body('inm-new')).toBe('created');
    });

    it('If-Match compares strongly and takes a list; with If-None-Match both must hold', async () => {
      const { ETag } = await put('im', 'first');
      expect(await failureWithStatus(put('im', 'weak', { IfMatch: `W/${ETag}` }))).toEqual(refused);
      await put('im', 'second', { IfMatch: `"0123", ${ETag}` });
      const second = `"${md5('second')}"`;
      expect(await failureWithStatus(put('im', 'both', { IfMatch: second, IfNoneMatch: second }))).toEqual(refused);
      expect(await body('im')).toBe('second');
      await put('im', 'third', { IfMatch: '*', IfNoneMatch: ETag });
      expect(await body('im')).toBe('third');
      expect(await failureWithStatus(put('im-absent', 'x', { IfMatch: '*', IfNoneMatch: ETag }))).toEqual({
        code: 'NoSuchKey',
        status: 404,
      });
    });

    it('If-Match: * is not refused when another PUT replaces the object before this one commits', async () => {
      await put('race', 'first');
      interposed.afterNextLookup(() => put('race', 'overwrite'));
      await put('race', 'conditional', { IfMatch: '*' });
      expect(interposed.ran()).toBe(true);
      expect(await body('race')).toBe('conditional');
    });

    it('If-Match with an ETag is refused when another PUT replaces the object before this one commits', async () => {
      const { ETag } = await put('race-etag', 'first');
      interposed.afterNextLookup(() => put('race-etag', 'overwrite'));
      expect(await failureWithStatus(put('race-etag', 'conditional', { IfMatch: ETag }))).toEqual(refused);
      expect(await body('race-etag')).toBe('overwrite');
    });
  });

  describe('CompleteMultipartUpload', () => {
    /** A new upload of `key` with one part holding `data`, and that part as a completion lists it. */
    const upload = async (Key: string, data: string): Promise<{ UploadId: string; parts: CompletedPart[] }> => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key }));
      const part = await s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: 1, Body: data }));
      return { UploadId: UploadId!, parts: [{ PartNumber: 1, ETag: part.ETag }] };
    };
    const complete = (
      Key: string,
      { UploadId, parts }: { UploadId: string; parts: CompletedPart[] },
      condition: { IfMatch?: string; IfNoneMatch?: string } = {},
    ) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts },
          ...condition,
        }),
      );
    const multipartEtag = (...parts: string[]): string =>
      `"${md5(Buffer.concat(parts.map((p) => Buffer.from(md5(p), 'hex'))))}-${parts.length}"`;

    it('If-None-Match: * completes only where no object is; a 412 leaves the upload to complete later', async () => {
      const created = await complete('mp-create', await upload('mp-create', 'made'), { IfNoneMatch: '*' });
      expect(created.ETag).toBe(multipartEtag('made'));
      const second = await upload('mp-create', 'again');
      expect(await failureWithStatus(complete('mp-create', second, { IfNoneMatch: '*' }))).toEqual(refused);
      expect(await body('mp-create')).toBe('made');
      const listed = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp-create', UploadId: second.UploadId }));
      expect(listed.Parts?.map((p) => p.ETag)).toEqual([`"${md5('again')}"`]);
      await complete('mp-create', second);
      expect(await body('mp-create')).toBe('again');
    });

    it('If-Match (an ETag or *) and If-None-Match with an ETag, each way', async () => {
      expect(await failureWithStatus(complete('mp-match', await upload('mp-match', 'x'), { IfMatch: '*' }))).toEqual({
        code: 'NoSuchKey',
        status: 404,
      });
      const { ETag } = await put('mp-match', 'plain');
      const next = await upload('mp-match', 'next');
      expect(await failureWithStatus(complete('mp-match', next, { IfMatch: `"${md5('other')}"` }))).toEqual(refused);
      expect(await failureWithStatus(complete('mp-match', next, { IfNoneMatch: ETag }))).toEqual(refused);
      expect(await body('mp-match')).toBe('plain');
      await complete('mp-match', next, { IfMatch: ETag });
      expect(await body('mp-match')).toBe('next');
      await complete('mp-match', await upload('mp-match', 'any'), { IfMatch: '*' });
      expect(await body('mp-match')).toBe('any');
      await complete('mp-match', await upload('mp-match', 'not'), { IfNoneMatch: ETag });
      expect(await body('mp-match')).toBe('not');
    });

    it('takes the last entry of a part number listed twice (part 1 resent, the first upload finishing last)', async () => {
      const Key = 'resent';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key }));
      const send = (Body: string) => s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: 1, Body }));
      // The resend's answer came first, then the first upload's: the part stored is the latter.
      const resend = await send('BBBBBBBB');
      const first = await send('AAAAAAAA');
      const order = (...etags: Array<string | undefined>) => ({
        UploadId: UploadId!,
        parts: etags.map((ETag) => ({ PartNumber: 1, ETag })),
      });
      expect(await failureWithStatus(complete(Key, order(first.ETag, resend.ETag)))).toEqual({
        code: 'InvalidPart',
        status: 400,
      });
      const done = await complete(Key, order(resend.ETag, first.ETag));
      expect(done.ETag).toBe(multipartEtag('AAAAAAAA'));
      expect(await body(Key)).toBe('AAAAAAAA');
    });

    it('keeps refusing part numbers that go down', async () => {
      const Key = 'order';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key }));
      const sizes = [5 * 1024 * 1024, 10];
      const parts: CompletedPart[] = [];
      for (const [i, size] of sizes.entries()) {
        const Body = Buffer.alloc(size, i + 1);
        const { ETag } = await s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: i + 1, Body }));
        parts.push({ PartNumber: i + 1, ETag });
      }
      expect(
        await failureWithStatus(complete(Key, { UploadId: UploadId!, parts: [parts[0]!, parts[1]!, parts[0]!] })),
      ).toEqual({
        code: 'InvalidPartOrder',
        status: 400,
      });
      await complete(Key, { UploadId: UploadId!, parts: [parts[0]!, parts[0]!, parts[1]!] });
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key }));
      expect((await got.Body!.transformToByteArray()).length).toBe(5 * 1024 * 1024 + 10);
    });
  });
});
