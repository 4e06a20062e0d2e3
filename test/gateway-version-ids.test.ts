// Version ids on the writes and subresources gateway-versioning*.test.ts leave out: what
// CopyObject and CompleteMultipartUpload answer, and tagging and ACLs of a version named by id.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectAclCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { failure, gatewayForSuite, rawRequest, type GatewayHarness } from './helpers/gateway-harness.js';

describe('gateway: version ids of copies, multipart uploads, tagging and ACLs', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({}, (t) => ({ g, s3 } = t));

  async function newBucket(Bucket: string, Status?: 'Enabled' | 'Suspended'): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket }));
    if (Status === 'Suspended')
      await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    if (Status) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  }

  /** Copies `src` to `copy` and completes a one-part upload at `mpu`: the version ids they answer. */
  async function writeBoth(
    Bucket: string,
  ): Promise<{ copy?: string; mpu?: string; expiration: (string | undefined)[] }> {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'source' }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/src` }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu' }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: 'part' }));
    const mpu = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'mpu',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    return { copy: copy.VersionId, mpu: mpu.VersionId, expiration: [copy.Expiration, mpu.Expiration] };
  }

  it('answers the new version id to a copy and a completed upload: its id when Enabled, none when Suspended', async () => {
    await newBucket('enabled', 'Enabled');
    const enabled = await writeBoth('enabled');
    for (const [key, id] of [
      ['copy', enabled.copy],
      ['mpu', enabled.mpu],
    ] as const) {
      expect(id).toMatch(/^(?!null$).+/);
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'enabled', Key: key }))).VersionId).toBe(id);
    }
    await newBucket('suspended', 'Suspended');
    const suspended = await writeBoth('suspended');
    expect([suspended.copy, suspended.mpu]).toEqual([undefined, undefined]);
    await newBucket('never');
    const never = await writeBoth('never');
    expect([never.copy, never.mpu]).toEqual([undefined, undefined]);
  });

  it('sends x-amz-expiration on a copy and a completed upload that a lifecycle rule matches', async () => {
    await newBucket('expiring');
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'expiring',
        LifecycleConfiguration: {
          Rules: [{ ID: 'short', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 2 } }],
        },
      }),
    );
    const { expiration } = await writeBoth('expiring');
    for (const [i, key] of ['copy', 'mpu'].entries()) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'expiring', Key: key }));
      expect(head.Expiration).toMatch(/^expiry-date=".+", rule-id="short"$/);
      expect(expiration[i]).toBe(head.Expiration);
    }
  });

  it('reads, sets and removes the tags of the version named, not the newest', async () => {
    await newBucket('tags', 'Enabled');
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'k', Body: 'one', Tagging: 'a=1' })))
      .VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'k', Body: 'two', Tagging: 'b=2' })))
      .VersionId!;
    const tagsOf = async (VersionId?: string): Promise<[string | undefined, Record<string, string>]> => {
      const res = await s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 'k', VersionId }));
      return [res.VersionId, Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key!, t.Value!]))];
    };
    expect(await tagsOf(v1)).toEqual([v1, { a: '1' }]);
    expect(await tagsOf()).toEqual([v2, { b: '2' }]);
    const put = await s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'tags',
        Key: 'k',
        VersionId: v1,
        Tagging: { TagSet: [{ Key: 'old', Value: 'yes' }] },
      }),
    );
    expect(put.VersionId).toBe(v1);
    expect(await tagsOf(v1)).toEqual([v1, { old: 'yes' }]);
    expect(await tagsOf(v2)).toEqual([v2, { b: '2' }]);
    const removed = await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'tags', Key: 'k', VersionId: v1 }));
    expect(removed.VersionId).toBe(v1);
    expect(await tagsOf(v1)).toEqual([v1, {}]);
    expect(await tagsOf()).toEqual([v2, { b: '2' }]);
  });

  it('reads and sets the ACL of the version named, not the newest', async () => {
    await newBucket('acls', 'Enabled');
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: 'acls', Key: 'k', Body: 'one' }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: 'acls', Key: 'k', Body: 'two' }));
    await s3.send(new PutObjectAclCommand({ Bucket: 'acls', Key: 'k', VersionId: v1, ACL: 'public-read' }));
    const allUsers = async (VersionId?: string): Promise<string[]> =>
      ((await s3.send(new GetObjectAclCommand({ Bucket: 'acls', Key: 'k', VersionId }))).Grants ?? [])
        .filter((grant) => grant.Grantee?.URI === 'http://acs.amazonaws.com/groups/global/AllUsers')
        .map((grant) => grant.Permission!);
    expect(await allUsers(v1)).toEqual(['READ']);
    expect(await allUsers()).toEqual([]);
    const anonymous = (versionId?: string): Promise<number> =>
      rawRequest(g.port, {
        method: 'GET',
        path: `/acls/k${versionId ? `?versionId=${versionId}` : ''}`,
        creds: null,
      }).then((res) => res.status);
    expect([await anonymous(v1), await anonymous()]).toEqual([200, 403]);
  });

  it('refuses tagging and ACLs of a delete marker by id (405) and of a version that does not exist (404)', async () => {
    await newBucket('marked', 'Enabled');
    await s3.send(new PutObjectCommand({ Bucket: 'marked', Key: 'k', Body: 'one' }));
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: 'marked', Key: 'k' }))).VersionId!;
    const Tagging = { TagSet: [{ Key: 't', Value: 'v' }] };
    const calls = (VersionId: string): Array<() => Promise<unknown>> => [
      () => s3.send(new GetObjectTaggingCommand({ Bucket: 'marked', Key: 'k', VersionId })),
      () => s3.send(new PutObjectTaggingCommand({ Bucket: 'marked', Key: 'k', VersionId, Tagging })),
      () => s3.send(new DeleteObjectTaggingCommand({ Bucket: 'marked', Key: 'k', VersionId })),
      () => s3.send(new GetObjectAclCommand({ Bucket: 'marked', Key: 'k', VersionId })),
      () => s3.send(new PutObjectAclCommand({ Bucket: 'marked', Key: 'k', VersionId, ACL: 'public-read' })),
    ];
    for (const call of calls(marker)) expect(await failure(call())).toBe('MethodNotAllowed');
    for (const call of calls('no-such-version')) expect(await failure(call())).toBe('NoSuchVersion');
    const raw = await rawRequest(g.port, { method: 'GET', path: `/marked/k?tagging&versionId=${marker}` });
    expect([raw.status, raw.headers['x-amz-delete-marker'], raw.headers['x-amz-version-id']]).toEqual([
      405,
      'true',
      marker,
    ]);
  });
});
