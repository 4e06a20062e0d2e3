// Versioning details beyond the basics (gateway-versioning.test.ts): null version ids of a
// Suspended bucket, listing while a clean-up deletes, the *Version IAM actions, POST form locks.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  HeadObjectCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { form, signedFields } from './helpers/post-form.js';
import { errorCode, gatewayForSuite, rawRequest, type GatewayHarness } from './helpers/gateway-harness.js';

describe('gateway: versioning, the rest', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({}, (t) => ({ g, s3 } = t));

  async function newBucket(Bucket: string, Status?: 'Enabled' | 'Suspended', lock = false): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: lock || undefined }));
    if (Status) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  }

  it('answers no x-amz-version-id to a PUT in a Suspended bucket (the null version) nor in one never versioned', async () => {
    await newBucket('suspended', 'Enabled');
    const enabled = await s3.send(new PutObjectCommand({ Bucket: 'suspended', Key: 'k', Body: 'v1' }));
    expect(enabled.VersionId).toMatch(/^(?!null$).+/);
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'suspended', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    const res = await rawRequest(g.port, { method: 'PUT', path: '/suspended/k', body: 'v2' });
    expect([res.status, res.headers['x-amz-version-id']]).toEqual([200, undefined]);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'suspended' }));
    expect(listed.Versions?.map((v) => [v.VersionId === 'null', v.IsLatest])).toEqual([
      [true, true],
      [false, false],
    ]);
    await newBucket('never');
    const plain = await rawRequest(g.port, { method: 'PUT', path: '/never/k', body: 'v' });
    expect([plain.status, plain.headers['x-amz-version-id']]).toEqual([200, undefined]);
  });

  it('names the current null version `null` on GET and HEAD once the bucket has had versioning', async () => {
    await newBucket('before');
    await s3.send(new PutObjectCommand({ Bucket: 'before', Key: 'old', Body: 'written before versioning' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'before', Key: 'old' }))).VersionId).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'before', VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'before', Key: 'old' }))).VersionId).toBe('null');
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'before', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'before', Key: 'paused', Body: 'written while suspended' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'before', Key: 'paused' }));
    expect([got.VersionId, await got.Body?.transformToString()]).toEqual(['null', 'written while suspended']);
  });

  it('lists every version to a clean-up that deletes each page before asking for the next', async () => {
    await newBucket('cleanup', 'Enabled');
    for (const key of ['a', 'b', 'c']) {
      for (let i = 0; i < 3; i++)
        await s3.send(new PutObjectCommand({ Bucket: 'cleanup', Key: key, Body: `${key}${i}` }));
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'cleanup', Key: 'b' }));
    let deleted = 0;
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: 'cleanup', KeyMarker, VersionIdMarker, MaxKeys: 2 }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        await s3.send(new DeleteObjectCommand({ Bucket: 'cleanup', Key: v.Key, VersionId: v.VersionId }));
        deleted++;
      }
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    expect(deleted).toBe(10);
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: 'cleanup' }));
    expect([left.Versions ?? [], left.DeleteMarkers ?? []]).toEqual([[], []]);
  });

  it('authorises a request naming a version as s3:GetObjectVersion, s3:DeleteObjectVersion and their kin', async () => {
    await newBucket('site', 'Enabled');
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: 'site', Key: 'page', Body: 'one' }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: 'site', Key: 'page', Body: 'two' }));
    const statement = (Action: string[], key = 'page'): object => ({
      Effect: 'Allow',
      Principal: '*',
      Action,
      Resource: `arn:aws:s3:::site/${key}`,
    });
    const policy = (...Statement: object[]): Promise<unknown> =>
      s3.send(
        new PutBucketPolicyCommand({ Bucket: 'site', Policy: JSON.stringify({ Version: '2012-10-17', Statement }) }),
      );
    const anonymous = (method: string, path: string): Promise<number> =>
      rawRequest(g.port, { method, path, creds: null }).then((r) => r.status);

    await policy(statement(['s3:GetObject', 's3:GetObjectTagging', 's3:DeleteObject']));
    expect(await anonymous('GET', '/site/page')).toBe(200);
    expect(await anonymous('GET', `/site/page?versionId=${v1}`)).toBe(403);
    expect(await anonymous('HEAD', `/site/page?versionId=${v1}`)).toBe(403);
    expect(await anonymous('GET', `/site/page?tagging&versionId=${v1}`)).toBe(403);
    expect(await anonymous('DELETE', `/site/page?versionId=${v1}`)).toBe(403);
    const bulk = `<Delete><Object><Key>page</Key><VersionId>${v1}</VersionId></Object></Delete>`;
    const denied = await rawRequest(g.port, { method: 'POST', path: '/site?delete', body: bulk, creds: null });
    expect(errorCode(denied)).toBe('AccessDenied');

    await policy(statement(['s3:GetObjectVersion', 's3:GetObjectVersionTagging', 's3:DeleteObjectVersion']));
    expect(await anonymous('GET', '/site/page')).toBe(403);
    expect(await anonymous('GET', `/site/page?versionId=${v1}`)).toBe(200);
    expect(await anonymous('GET', `/site/page?tagging&versionId=${v1}`)).toBe(200);
    expect(await anonymous('DELETE', '/site/page')).toBe(403);
    const allowed = await rawRequest(g.port, { method: 'POST', path: '/site?delete', body: bulk, creds: null });
    expect([allowed.status, errorCode(allowed)]).toEqual([200, undefined]);
    expect(allowed.body.toString()).toContain(`<Deleted><Key>page</Key><VersionId>${v1}</VersionId></Deleted>`);
  });

  it('locks a version a POST form names x-amz-object-lock-* fields for, and says null in a Suspended bucket', async () => {
    await newBucket('worm', undefined, true);
    const until = new Date(Date.now() + 3600_000);
    until.setUTCMilliseconds(0);
    const lockFields: Array<[string, string]> = [
      ['x-amz-object-lock-mode', 'GOVERNANCE'],
      ['x-amz-object-lock-retain-until-date', until.toISOString()],
      ['x-amz-object-lock-legal-hold', 'ON'],
    ];
    const conditions = [{ bucket: 'worm' }, ['starts-with', '$key', ''], ...lockFields.map(([n, v]) => ({ [n]: v }))];
    const f = form([['key', 'held'], ...lockFields, ...signedFields(conditions)], {
      name: 'f',
      data: Buffer.from('x'),
    });
    const res = await rawRequest(g.port, {
      method: 'POST',
      path: '/worm',
      headers: { 'content-type': f.type },
      body: f.body,
      creds: null,
    });
    expect(res.status).toBe(204);
    const VersionId = res.headers['x-amz-version-id'] as string;
    expect(VersionId).toMatch(/^(?!null$).+/);
    expect(
      (await s3.send(new GetObjectRetentionCommand({ Bucket: 'worm', Key: 'held', VersionId }))).Retention,
    ).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: until });
    expect(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId }))).LegalHold,
    ).toEqual({ Status: 'ON' });
    const removal = await rawRequest(g.port, { method: 'DELETE', path: `/worm/held?versionId=${VersionId}` });
    expect([removal.status, errorCode(removal)]).toEqual([403, 'AccessDenied']);

    // Lock fields on a bucket without object lock: refused as a PUT's headers are.
    await newBucket('paused', 'Suspended');
    const refusedForm = form(
      [
        ['key', 'k'],
        ...lockFields,
        ...signedFields([
          { bucket: 'paused' },
          ['starts-with', '$key', ''],
          ...lockFields.map(([n, v]) => ({ [n]: v })),
        ]),
      ],
      {
        name: 'f',
        data: Buffer.from('x'),
      },
    );
    const refused = await rawRequest(g.port, {
      method: 'POST',
      path: '/paused',
      headers: { 'content-type': refusedForm.type },
      body: refusedForm.body,
      creds: null,
    });
    expect([refused.status, errorCode(refused)]).toEqual([400, 'InvalidRequest']);
    const plainForm = form([['key', 'k'], ...signedFields([{ bucket: 'paused' }, ['starts-with', '$key', '']])], {
      name: 'f',
      data: Buffer.from('x'),
    });
    const stored = await rawRequest(g.port, {
      method: 'POST',
      path: '/paused',
      headers: { 'content-type': plainForm.type },
      body: plainForm.body,
      creds: null,
    });
    expect([stored.status, stored.headers['x-amz-version-id']]).toEqual([204, undefined]);
  });
});
