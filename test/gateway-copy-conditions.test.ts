// CopyObject's destination conditions (AWS CopyObject: If-Match, If-None-Match on the key written,
// 412 PreconditionFailed), through the AWS SDK: decided when the copy commits, as a PUT's, on
// both ways a copy is made (chunks shared, or the bytes read anew); the source's
// x-amz-copy-source-if-* apart.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  type CopyObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetaStore } from '../src/meta/meta-store.js';
import { startGateway, type GatewayHarness } from './helpers/gateway-harness.js';

/** The S3 error code and HTTP status an SDK call fails with (it must fail). */
async function failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { code: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('the call succeeded');
}

const refused = { code: 'PreconditionFailed', status: 412 };
const B = 'copies';

describe("gateway: CopyObject's If-Match / If-None-Match on the destination", () => {
  let g: GatewayHarness;
  let s3: S3Client;
  // The gateway reads metadata through this: a test may act once the copy's early look at the
  // destination is done and before its commit (the real store underneath does all the work).
  let real: MetaStore | undefined;
  let afterLookup: (() => Promise<unknown>) | undefined;
  const meta = new Proxy({} as MetaStore, {
    get(_, prop) {
      if (prop === 'getObject') {
        return async (bucket: string, key: string) => {
          const found = await real!.getObject(bucket, key);
          const act = afterLookup;
          afterLookup = undefined;
          await act?.();
          return found;
        };
      }
      const value: unknown = Reflect.get(real!, prop, real);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
  });

  beforeAll(async () => {
    g = await startGateway({ meta });
    real = g.h.meta;
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
    expect(await failure(copy('taken', { IfNoneMatch: '*' }))).toEqual(refused);
    expect(await body('taken')).toBe('already here');
  });

  it("If-Match copies only over the destination's ETag (or any object for *); none there: NoSuchKey", async () => {
    expect(await failure(copy('absent', { IfMatch: '*' }))).toEqual({ code: 'NoSuchKey', status: 404 });
    const { ETag } = await put('target', 'old bytes');
    const { ETag: sourceEtag } = await put('other', 'the source bytes');
    // The source's ETag names the source, not the destination.
    expect(await failure(copy('target', { IfMatch: sourceEtag }))).toEqual(refused);
    expect(await failure(copy('target', { IfNoneMatch: ETag }))).toEqual(refused);
    expect(await body('target')).toBe('old bytes');
    await copy('target', { IfMatch: ETag });
    expect(await body('target')).toBe('the source bytes');
    await put('target', 'again');
    await copy('target', { IfMatch: '*' });
    expect(await body('target')).toBe('the source bytes');
  });

  it('holds when the bytes are read anew (a checksum the source lacks), the source conditions apart', async () => {
    await put('reread', 'kept');
    expect(await failure(copy('reread', { IfNoneMatch: '*', ChecksumAlgorithm: 'SHA1' }))).toEqual(refused);
    // A source condition that holds does not lift the destination's.
    const { ETag } = await put('source2', 'second source');
    expect(
      await failure(copy('reread', { CopySource: `${B}/source2`, CopySourceIfMatch: ETag, IfNoneMatch: '*' })),
    ).toEqual(refused);
    expect(await body('reread')).toBe('kept');
    const made = await copy('reread-new', { IfNoneMatch: '*', ChecksumAlgorithm: 'SHA1' });
    expect(made.CopyObjectResult?.ChecksumSHA1).toBeDefined();
    expect(await body('reread-new')).toBe('the source bytes');
  });

  it('is decided at the commit: a destination replaced after the early look fails If-Match with its old ETag', async () => {
    const { ETag } = await put('race', 'first');
    afterLookup = () => put('race', 'overwrite');
    expect(await failure(copy('race', { IfMatch: ETag }))).toEqual(refused);
    expect(afterLookup).toBeUndefined();
    expect(await body('race')).toBe('overwrite');
    afterLookup = () => put('race-new', 'created in between');
    expect(await failure(copy('race-new', { IfNoneMatch: '*' }))).toEqual(refused);
    expect(await body('race-new')).toBe('created in between');
  });
});
