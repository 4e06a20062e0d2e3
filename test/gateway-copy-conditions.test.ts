// CopyObject's destination conditions (AWS CopyObject: If-Match, If-None-Match on the key written,
// 412 PreconditionFailed), through the AWS SDK: decided when the copy commits, as a PUT's, on
// both ways a copy is made (chunks shared, or the bytes read anew); the source's
// x-amz-copy-source-if-* apart.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type CopyObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureWithStatus, startGateway, type GatewayHarness } from './helpers/gateway-harness.js';
import { interposedMeta } from './helpers/interposed-meta.js';

const refused = { code: 'PreconditionFailed', status: 412 };
const B = 'copies';

describe("gateway: CopyObject's If-Match / If-None-Match on the destination", () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const interposed = interposedMeta();

  beforeAll(async () => {
    g = await startGateway({ meta: interposed.meta });
    interposed.use(g.h.meta);
    s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'source', Body: 'the source bytes' }));
  });

  afterAll(async () => {
    await g?.close();
  });

  const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: B, Key, Body }));
  const copy = (Key: string, input: Partial<CopyObjectCommandInput> = {}) =>
    s3.send(new CopyObjectCommand({ Bucket: B, Key, CopySource: `${B}/source`, ...input }));
  const body = async (Key: string): Promise<string> =>
    (await s3.send(new GetObjectCommand({ Bucket: B, Key }))).Body!.transformToString();

  it('If-None-Match: * copies only where no object is', async () => {
    await copy('created', { IfNoneMatch: '*' });
    expect(await body('created')).toBe('the source bytes');
    await put('taken', 'already here');
    expect(await failureWithStatus(copy('taken', { IfNoneMatch: '*' }))).toEqual(refused);
    expect(await body('taken')).toBe('already here');
  });

  it("If-Match copies only over the destination's ETag (or any object for *); none there: NoSuchKey", async () => {
    expect(await failureWithStatus(copy('absent', { IfMatch: '*' }))).toEqual({ code: 'NoSuchKey', status: 404 });
    const { ETag } = await put('target', 'old bytes');
    const { ETag: sourceEtag } = await put('other', 'the source bytes');
    // The source's ETag names the source, not the destination.
    expect(await failureWithStatus(copy('target', { IfMatch: sourceEtag }))).toEqual(refused);
    expect(await failureWithStatus(copy('target', { IfNoneMatch: ETag }))).toEqual(refused);
    expect(await body('target')).toBe('old bytes');
    await copy('target', { IfMatch: ETag });
    expect(await body('target')).toBe('the source bytes');
    await put('target', 'again');
    await copy('target', { IfMatch: '*' });
    expect(await body('target')).toBe('the source bytes');
  });

  it('holds when the bytes are read anew (a checksum the source lacks), the source conditions apart', async () => {
    await put('reread', 'kept');
    expect(await failureWithStatus(copy('reread', { IfNoneMatch: '*', ChecksumAlgorithm: 'SHA1' }))).toEqual(refused);
    // A source condition that holds does not lift the destination's.
    const { ETag } = await put('source2', 'second source');
    expect(
      await failureWithStatus(
        copy('reread', { CopySource: `${B}/source2`, CopySourceIfMatch: ETag, IfNoneMatch: '*' }),
      ),
    ).toEqual(refused);
    expect(await body('reread')).toBe('kept');
    const made = await copy('reread-new', { IfNoneMatch: '*', ChecksumAlgorithm: 'SHA1' });
    expect(made.CopyObjectResult?.ChecksumSHA1).toBeDefined();
    expect(await body('reread-new')).toBe('the source bytes');
  });

  it('is decided at the commit: a destination replaced after the early look fails If-Match with its old ETag', async () => {
    const { ETag } = await put('race', 'first');
    interposed.afterNextLookup(() => put('race', 'overwrite'));
    expect(await failureWithStatus(copy('race', { IfMatch: ETag }))).toEqual(refused);
    expect(interposed.ran()).toBe(true);
    expect(await body('race')).toBe('overwrite');
    interposed.afterNextLookup(() => put('race-new', 'created in between'));
    expect(await failureWithStatus(copy('race-new', { IfNoneMatch: '*' }))).toEqual(refused);
    expect(await body('race-new')).toBe('created in between');
  });
});
