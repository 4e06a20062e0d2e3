// Conditional deletes as AWS documents them for general purpose buckets
// (userguide/conditional-deletes.html): If-Match (an ETag or *) on DeleteObject and the ETag
// element of DeleteObjects, evaluated on the key's current version.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { failure, gatewayForSuite } from './helpers/gateway-harness.js';

/** The HTTP status a call fails with. */
async function status(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return e.$metadata.httpStatusCode;
    throw e;
  }
  throw new Error('the call succeeded');
}

describe('gateway: conditional DeleteObject and DeleteObjects', () => {
  let s3: S3Client;
  gatewayForSuite({ buckets: ['plain', 'versioned'] }, (t) => ({ s3 } = t));

  const put = async (Bucket: string, Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  const body = async (Bucket: string, Key: string): Promise<string> =>
    (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();

  it('deletes only the object whose ETag If-Match names; 412 keeps it, 404 when there is none', async () => {
    const { ETag } = await put('plain', 'k', 'first');
    const stale = s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k', IfMatch: '"0123456789abcdef"' }));
    expect(await status(stale)).toBe(412);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k', IfMatch: '"bad"' })))).toBe(
      'PreconditionFailed',
    );
    expect(await body('plain', 'k')).toBe('first');
    await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k', IfMatch: ETag }));
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'k' })))).toBe('NotFound');
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k', IfMatch: '*' })))).toBe(
      'NoSuchKey',
    );
    await put('plain', 'k', 'again');
    await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'k', IfMatch: '*' }));
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'k' })))).toBe('NotFound');
  });

  it('evaluates If-Match on the current version of a versioned key', async () => {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const old = await put('versioned', 'k', 'old');
    const current = await put('versioned', 'k', 'current');
    // The old version's ETag no longer names the current version.
    const byOld = new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k', IfMatch: old.ETag });
    expect(await failure(s3.send(byOld))).toBe('PreconditionFailed');
    const hidden = await s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k', IfMatch: current.ETag }));
    expect(hidden.DeleteMarker).toBe(true);
    // A delete marker is no object.
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k', IfMatch: '*' })))).toBe(
      'NoSuchKey',
    );
    const res = await s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'k', VersionId: old.VersionId }));
    expect(await res.Body!.transformToString()).toBe('old');
  });

  it('checks the ETag element of each DeleteObjects entry on its own', async () => {
    const a = await put('plain', 'a', 'a');
    await put('plain', 'b', 'b');
    const res = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'plain',
        Delete: {
          Objects: [
            { Key: 'a', ETag: a.ETag },
            { Key: 'b', ETag: '"stale"' },
            { Key: 'none', ETag: '*' },
          ],
        },
      }),
    );
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['a']);
    expect(res.Errors?.map((e) => `${e.Key} ${e.Code}`)).toEqual(['b PreconditionFailed', 'none NoSuchKey']);
    expect(await body('plain', 'b')).toBe('b');
  });

  it('refuses the directory-bucket conditions (modification time, size) instead of ignoring them', async () => {
    await put('plain', 's', 'sized');
    const bySize = new DeleteObjectCommand({ Bucket: 'plain', Key: 's', IfMatchSize: 999 });
    expect(await status(s3.send(bySize))).toBe(501);
    const byTime = new DeleteObjectCommand({ Bucket: 'plain', Key: 's', IfMatchLastModifiedTime: new Date(0) });
    expect(await status(s3.send(byTime))).toBe(501);
    const batch = new DeleteObjectsCommand({ Bucket: 'plain', Delete: { Objects: [{ Key: 's', Size: 999 }] } });
    expect(await status(s3.send(batch))).toBe(501);
    expect(await body('plain', 's')).toBe('sized');
  });
});
