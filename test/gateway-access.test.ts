import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  GetPublicAccessBlockCommand,
  PutBucketOwnershipControlsCommand,
  PutPublicAccessBlockCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutObjectTaggingCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutObjectAclCommand,
  UploadPartCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ALL_USERS, canonicalId } from '../gateway/auth/acl.js';
import {
  errorCode,
  errorMessage,
  failure,
  gatewayForSuite,
  grantKey,
  rawRequest,
  ROOT,
  type Creds,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

/** A policy document for bucket `bucket`. */
function policy(statements: unknown[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

describe('gateway: access control (bucket policies, ACLs, anonymous requests)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let reader: Creds;
  gatewayForSuite(
    {
      buckets: ['site', 'private', 'guarded'],
      objects: [
        ['site', 'index.html', '<h1>hello</h1>'],
        ['private', 'secret', 'not for you'],
        ['guarded', 'keep', 'kept'],
      ],
      async setup({ g }) {
        reader = await grantKey(g, 'READONLYKEY', { guarded: { read: true, write: true } });
      },
    },
    (t) => ({ g, s3 } = t),
  );

  const anonymousGet = (path: string): ReturnType<typeof rawRequest> =>
    rawRequest(g.port, { method: 'GET', path, creds: null });

  it('refuses anonymous requests a bucket does not open, with 403 AccessDenied', async () => {
    const res = await anonymousGet('/private/secret');
    expect([res.status, errorCode(res)]).toEqual([403, 'AccessDenied']);
    const list = await anonymousGet('/private');
    expect([list.status, errorCode(list)]).toEqual([403, 'AccessDenied']);
    const buckets = await anonymousGet('/');
    expect([buckets.status, errorCode(buckets)]).toEqual([403, 'AccessDenied']);
    const put = await rawRequest(g.port, { method: 'PUT', path: '/private/dropped', body: 'x', creds: null });
    expect([put.status, errorCode(put)]).toEqual([403, 'AccessDenied']);
    expect(await g.h.meta.getObject('private', 'dropped')).toBeNull();
    const missing = await anonymousGet('/no-such-bucket/x');
    expect([missing.status, errorCode(missing)]).toEqual([404, 'NoSuchBucket']);
  });

  it('serves an anonymous GET that a bucket policy allows (a static site), and only that', async () => {
    const text = policy([
      { Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' },
    ]);
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: text }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy).toBe(text);
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'site' }))).PolicyStatus?.IsPublic).toBe(true);
    const res = await anonymousGet('/site/index.html');
    expect([res.status, res.body.toString()]).toEqual([200, '<h1>hello</h1>']);
    const head = await rawRequest(g.port, { method: 'HEAD', path: '/site/index.html', creds: null });
    expect(head.status).toBe(200);
    // Without ListBucket, a missing key is 403 (the caller may not learn what exists), not 404.
    const missing = await anonymousGet('/site/nothing-here');
    expect([missing.status, errorCode(missing)]).toEqual([403, 'AccessDenied']);
    const list = await anonymousGet('/site');
    expect(list.status).toBe(403);
    const put = await rawRequest(g.port, { method: 'PUT', path: '/site/index.html', body: 'defaced', creds: null });
    expect(put.status).toBe(403);

    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).toBe('NoSuchBucketPolicy');
    expect((await anonymousGet('/site/index.html')).status).toBe(403);
  });

  it("names each object's owner in listings: the key that wrote it, as GetObjectAcl does", async () => {
    await g.client(reader).send(new PutObjectCommand({ Bucket: 'guarded', Key: 'owners/by-reader', Body: 'r' }));
    await s3.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'owners/by-root', Body: 'o' }));
    const readerOwner = { ID: canonicalId(reader.accessKeyId), DisplayName: reader.accessKeyId };
    const rootOwner = { ID: canonicalId(ROOT.accessKeyId), DisplayName: ROOT.accessKeyId };
    const aclOwner = async (Key: string) => (await s3.send(new GetObjectAclCommand({ Bucket: 'guarded', Key }))).Owner;
    expect([await aclOwner('owners/by-reader'), await aclOwner('owners/by-root')]).toEqual([readerOwner, rootOwner]);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'guarded', Prefix: 'owners/' }));
    expect(v1.Contents?.map((c) => [c.Key, c.Owner])).toEqual([
      ['owners/by-reader', readerOwner],
      ['owners/by-root', rootOwner],
    ]);
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: 'guarded', Prefix: 'owners/', FetchOwner: true }));
    expect(v2.Contents?.map((c) => c.Owner)).toEqual([readerOwner, rootOwner]);
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: 'guarded', Prefix: 'owners/' }));
    expect(plain.Contents?.map((c) => c.Owner)).toEqual([undefined, undefined]);
  });

  it('lets an explicit Deny win over a key grant: a read-write key denied DeleteObject', async () => {
    const client = g.client(reader);
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'guarded',
        Policy: policy([
          {
            Effect: 'Deny',
            Principal: { AWS: ['arn:aws:iam::000000000000:user/READONLYKEY'] },
            Action: ['s3:DeleteObject'],
            Resource: ['arn:aws:s3:::guarded/*'],
          },
        ]),
      }),
    );
    expect(
      await (await client.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'keep' }))).Body!.transformToString(),
    ).toBe('kept');
    await client.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'new', Body: 'n' }));
    // Writing is not publishing: naming an ACL needs s3:PutObjectAcl (the owner's grant) too.
    expect(
      await failure(
        client.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'published', Body: 'p', ACL: 'public-read' })),
      ),
    ).toBe('AccessDenied');
    expect(await g.h.meta.getObject('guarded', 'published')).toBeNull();
    expect(await failure(client.send(new DeleteObjectCommand({ Bucket: 'guarded', Key: 'keep' })))).toBe(
      'AccessDenied',
    );
    // Deleting in bulk is deleting each key: the Deny holds there too.
    const bulk = await client.send(
      new DeleteObjectsCommand({ Bucket: 'guarded', Delete: { Objects: [{ Key: 'keep' }] } }),
    );
    expect([bulk.Deleted, bulk.Errors?.map((e) => [e.Key, e.Code])]).toEqual([undefined, [['keep', 'AccessDenied']]]);
    expect(await g.h.meta.getObject('guarded', 'keep')).not.toBeNull();
    // The key may not touch the policy either: that is the bucket owner's.
    expect(await failure(client.send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' })))).toBe('AccessDenied');
    await s3.send(new DeleteObjectCommand({ Bucket: 'guarded', Key: 'new' }));
  });

  it('lets a Deny on root be undone by root (the policy stays root’s to manage)', async () => {
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'guarded',
        Policy: policy([
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: ['arn:aws:s3:::guarded', 'arn:aws:s3:::guarded/*'],
          },
        ]),
      }),
    );
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'keep' })))).toBe('AccessDenied');
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' }));
    expect((await s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'keep' }))).ContentLength).toBe(4);
  });

  it('evaluates conditions on the request: aws:SourceIp', async () => {
    const deny = (cidr: string): PutBucketPolicyCommand =>
      new PutBucketPolicyCommand({
        Bucket: 'private',
        Policy: policy([
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::private/*',
            Condition: { IpAddress: { 'aws:SourceIp': cidr } },
          },
        ]),
      });
    await s3.send(deny('10.0.0.0/8'));
    expect((await anonymousGet('/private/secret')).status).toBe(403);
    await s3.send(deny('127.0.0.0/8'));
    expect((await anonymousGet('/private/secret')).status).toBe(200);
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'private' }))).PolicyStatus?.IsPublic).toBe(false);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'private' }));
  });

  it('refuses a malformed policy with 400 MalformedPolicy and keeps the one in place', async () => {
    for (const [text, message] of [
      ['{"Statement": [', "Policies must be valid JSON and the first byte must be '{'"],
      [
        policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObjekt', Resource: 'arn:aws:s3:::site/*' }]),
        'Policy has invalid action',
      ],
      [
        policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::private/*' }]),
        'Policy has invalid resource',
      ],
    ] as const) {
      const res = await rawRequest(g.port, { method: 'PUT', path: '/site?policy', body: text });
      expect([res.status, errorCode(res), errorMessage(res)]).toEqual([400, 'MalformedPolicy', message]);
    }
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).toBe('NoSuchBucketPolicy');
  });

  it('serves an object put with --acl public-read to anonymous GETs, and not its private neighbours', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'private', Key: 'public.txt', Body: 'for all', ACL: 'public-read' }));
    const res = await anonymousGet('/private/public.txt');
    expect([res.status, res.body.toString()]).toEqual([200, 'for all']);
    expect((await anonymousGet('/private/secret')).status).toBe(403);
    // READ does not let anyone change the ACL or overwrite the object.
    const acl = await rawRequest(g.port, {
      method: 'PUT',
      path: '/private/public.txt?acl',
      headers: { 'x-amz-acl': 'public-read-write' },
      creds: null,
    });
    expect(acl.status).toBe(403);
    const acls = await s3.send(new GetObjectAclCommand({ Bucket: 'private', Key: 'public.txt' }));
    const rootId = canonicalId(ROOT.accessKeyId);
    expect(acls.Owner).toEqual({ ID: rootId, DisplayName: ROOT.accessKeyId });
    expect((await s3.send(new ListBucketsCommand({}))).Owner).toEqual(acls.Owner);
    expect(acls.Grants).toEqual([
      { Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ' },
      { Grantee: { Type: 'CanonicalUser', ID: rootId, DisplayName: ROOT.accessKeyId }, Permission: 'FULL_CONTROL' },
    ]);
    // Made private again: anonymous reads stop.
    await s3.send(new PutObjectAclCommand({ Bucket: 'private', Key: 'public.txt', ACL: 'private' }));
    expect((await anonymousGet('/private/public.txt')).status).toBe(403);
    expect(
      await (await s3.send(new GetObjectCommand({ Bucket: 'private', Key: 'public.txt' }))).Body!.transformToString(),
    ).toBe('for all');
  });

  it('takes AccessControlPolicy documents and grant headers, and carries ACLs through copies and multipart uploads', async () => {
    const { Owner } = await s3.send(new GetObjectAclCommand({ Bucket: 'private', Key: 'secret' }));
    await s3.send(
      new PutObjectAclCommand({
        Bucket: 'private',
        Key: 'secret',
        AccessControlPolicy: { Owner, Grants: [{ Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ' }] },
      }),
    );
    expect((await anonymousGet('/private/secret')).status).toBe(200);
    await s3.send(new PutObjectAclCommand({ Bucket: 'private', Key: 'secret', ACL: 'private' }));
    expect((await anonymousGet('/private/secret')).status).toBe(403);

    await s3.send(
      new PutObjectCommand({ Bucket: 'private', Key: 'granted', Body: 'g', GrantRead: `uri="${ALL_USERS}"` }),
    );
    expect((await anonymousGet('/private/granted')).status).toBe(200);
    const both = await rawRequest(g.port, {
      method: 'PUT',
      path: '/private/both',
      body: 'x',
      headers: { 'x-amz-acl': 'public-read', 'x-amz-grant-read': `uri="${ALL_USERS}"` },
    });
    expect([both.status, errorCode(both)]).toEqual([400, 'InvalidRequest']);

    // A copy gets the ACL the copy request names, not the source's.
    await s3.send(new CopyObjectCommand({ Bucket: 'private', Key: 'copied-private', CopySource: 'private/granted' }));
    expect((await anonymousGet('/private/copied-private')).status).toBe(403);
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'private',
        Key: 'copied-public',
        CopySource: 'private/secret',
        ACL: 'public-read',
      }),
    );
    expect((await anonymousGet('/private/copied-public')).body.toString()).toBe('not for you');

    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'private', Key: 'mp', ACL: 'public-read' }),
    );
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: 'private', Key: 'mp', UploadId, PartNumber: 1, Body: 'multi' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'private',
        Key: 'mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
      }),
    );
    expect((await anonymousGet('/private/mp')).body.toString()).toBe('multi');
  });

  it('opens a bucket to anonymous listing and writes by its ACL (public-read, public-read-write)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listed', ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket: 'listed', Key: 'a', Body: 'a' }));
    const list = await anonymousGet('/listed?list-type=2');
    expect([list.status, /<Key>a<\/Key>/.test(list.body.toString())]).toEqual([200, true]);
    // May list, so learns that a key is missing; may not read the private object.
    expect(errorCode(await anonymousGet('/listed/none'))).toBe('NoSuchKey');
    expect((await anonymousGet('/listed/a')).status).toBe(403);
    expect((await rawRequest(g.port, { method: 'PUT', path: '/listed/b', body: 'b', creds: null })).status).toBe(403);

    await s3.send(new PutBucketAclCommand({ Bucket: 'listed', ACL: 'public-read-write' }));
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'listed' }))).Grants?.map((g) => g.Permission)).toEqual([
      'READ',
      'WRITE',
      'FULL_CONTROL',
    ]);
    const put = await rawRequest(g.port, { method: 'PUT', path: '/listed/b', body: 'anonymous', creds: null });
    expect(put.status).toBe(200);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'listed', Key: 'b' }))).Body!.transformToString()).toBe(
      'anonymous',
    );
  });

  it('tags objects: x-amz-tagging on PUT, Put/Get/DeleteObjectTagging, x-amz-tagging-count, copies by directive', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'private', Key: 'tagged', Body: 't', Tagging: 'project=blue&owner=ops%20team' }),
    );
    // In key order, whatever the order sent.
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'tagged' }))).TagSet).toEqual([
      { Key: 'owner', Value: 'ops team' },
      { Key: 'project', Value: 'blue' },
    ]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'private', Key: 'tagged' }))).TagCount).toBe(2);
    expect((await s3.send(new GetObjectCommand({ Bucket: 'private', Key: 'tagged' }))).TagCount).toBe(2);

    await s3.send(new CopyObjectCommand({ Bucket: 'private', Key: 'tag-copy', CopySource: 'private/tagged' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'tag-copy' }))).TagSet).toHaveLength(2);
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'private',
        Key: 'tag-copy',
        CopySource: 'private/tagged',
        TaggingDirective: 'REPLACE',
        Tagging: 'only=one',
      }),
    );
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'tag-copy' }))).TagSet).toEqual([
      { Key: 'only', Value: 'one' },
    ]);

    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'private',
        Key: 'tagged',
        Tagging: { TagSet: [{ Key: 'stage', Value: 'done' }] },
      }),
    );
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'tagged' }))).TagSet).toEqual([
      { Key: 'stage', Value: 'done' },
    ]);
    // Tagging changes the object in place: same bytes, same ETag.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'private', Key: 'tagged' }));
    expect([await got.Body!.transformToString(), got.ETag]).toEqual(['t', '"e358efa489f58062f10dd7316b65649e"']);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'private', Key: 'tagged' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'tagged' }))).TagSet).toEqual([]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'private', Key: 'tagged' }))).TagCount).toBeUndefined();
    expect(await failure(s3.send(new GetObjectTaggingCommand({ Bucket: 'private', Key: 'no-such' })))).toBe(
      'NoSuchKey',
    );
  });

  it("refuses tags beyond AWS's limits with InvalidTag", async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const put = (TagSet: Array<{ Key: string; Value: string }>): Promise<string> =>
      failure(s3.send(new PutObjectTaggingCommand({ Bucket: 'private', Key: 'secret', Tagging: { TagSet } })));
    expect(await put(eleven)).toBe('InvalidTag');
    expect(await put([{ Key: 'k'.repeat(129), Value: 'v' }])).toBe('InvalidTag');
    expect(await put([{ Key: 'k', Value: 'v'.repeat(257) }])).toBe('InvalidTag');
    expect(await put([{ Key: 'aws:system', Value: 'v' }])).toBe('InvalidTag');
    expect(
      await put([
        { Key: 'k', Value: 'a' },
        { Key: 'k', Value: 'b' },
      ]),
    ).toBe('InvalidTag');
    const longest = Array.from({ length: 10 }, (_, i) => ({ Key: `${i}`.padEnd(128, 'k'), Value: 'v'.repeat(256) }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'private', Key: 'secret', Tagging: { TagSet: longest } }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'private', Key: 'secret' }))).TagCount).toBe(10);
    const res = await rawRequest(g.port, {
      method: 'PUT',
      path: '/private/too-many',
      body: 'x',
      headers: { 'x-amz-tagging': eleven.map((t) => `${t.Key}=v`).join('&') },
    });
    expect([res.status, errorCode(res)]).toEqual([400, 'InvalidTag']);
    expect(await g.h.meta.getObject('private', 'too-many')).toBeNull();
  });

  it('tags buckets: Put/Get/DeleteBucketTagging, NoSuchTagSet when none', async () => {
    expect(await failure(s3.send(new GetBucketTaggingCommand({ Bucket: 'private' })))).toBe('NoSuchTagSet');
    await s3.send(
      new PutBucketTaggingCommand({ Bucket: 'private', Tagging: { TagSet: [{ Key: 'cost-center', Value: '42' }] } }),
    );
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: 'private' }))).TagSet).toEqual([
      { Key: 'cost-center', Value: '42' },
    ]);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'private' }));
    expect(await failure(s3.send(new GetBucketTaggingCommand({ Bucket: 'private' })))).toBe('NoSuchTagSet');
  });

  it("evaluates s3:ExistingObjectTag conditions against the object's tags", async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'site', Key: 'released', Body: 'r', Tagging: 'visibility=public' }));
    await s3.send(new PutObjectCommand({ Bucket: 'site', Key: 'draft', Body: 'd', Tagging: 'visibility=internal' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: policy([
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::site/*',
            Condition: { StringEquals: { 's3:ExistingObjectTag/visibility': 'public' } },
          },
        ]),
      }),
    );
    expect((await anonymousGet('/site/released')).status).toBe(200);
    expect((await anonymousGet('/site/draft')).status).toBe(403);
    // A Deny on a tag holds for keys whose grants allow the read, and for root.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'guarded',
        Policy: policy([
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::guarded/*',
            Condition: { StringEquals: { 's3:ExistingObjectTag/classification': 'secret' } },
          },
        ]),
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: 'guarded', Key: 'classified', Body: 'c', Tagging: 'classification=secret' }),
    );
    expect(await failure(g.client(reader).send(new GetObjectCommand({ Bucket: 'guarded', Key: 'classified' })))).toBe(
      'AccessDenied',
    );
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'classified' })))).toBe('AccessDenied');
    expect((await g.client(reader).send(new GetObjectCommand({ Bucket: 'guarded', Key: 'keep' }))).ContentLength).toBe(
      4,
    );
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'guarded' }));
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
  });

  it('blocks public ACLs and policies, and ignores those in place, by the PublicAccessBlock', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'blocked' }));
    expect(await failure(s3.send(new GetPublicAccessBlockCommand({ Bucket: 'blocked' })))).toBe(
      'NoSuchPublicAccessBlockConfiguration',
    );
    await s3.send(new PutObjectCommand({ Bucket: 'blocked', Key: 'was-public', Body: 'p', ACL: 'public-read' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'blocked',
        Policy: policy([
          { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::blocked/open/*' },
        ]),
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'blocked', Key: 'open/x', Body: 'x' }));
    expect((await anonymousGet('/blocked/was-public')).status).toBe(200);
    expect((await anonymousGet('/blocked/open/x')).status).toBe(200);

    const config = {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: 'blocked', PublicAccessBlockConfiguration: config }));
    expect(
      (await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'blocked' }))).PublicAccessBlockConfiguration,
    ).toEqual(config);
    expect((await anonymousGet('/blocked/was-public')).status).toBe(403);
    expect((await anonymousGet('/blocked/open/x')).status).toBe(403);
    expect(
      await failure(
        s3.send(new PutObjectCommand({ Bucket: 'blocked', Key: 'new-public', Body: 'n', ACL: 'public-read' })),
      ),
    ).toBe('AccessDenied');
    expect(
      await failure(
        s3.send(
          new PutBucketPolicyCommand({
            Bucket: 'blocked',
            Policy: policy([
              { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::blocked/*' },
            ]),
          }),
        ),
      ),
    ).toBe('AccessDenied');
    await s3.send(new PutObjectCommand({ Bucket: 'blocked', Key: 'private-ok', Body: 'n', ACL: 'private' }));

    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'blocked' }));
    expect((await anonymousGet('/blocked/was-public')).status).toBe(200);
  });

  it('disables ACLs under BucketOwnerEnforced ownership controls', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'enforced' }));
    expect(await failure(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'enforced' })))).toBe(
      'OwnershipControlsNotFoundError',
    );
    await s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'old-public', Body: 'o', ACL: 'public-read' }));
    await s3.send(
      new PutBucketOwnershipControlsCommand({
        Bucket: 'enforced',
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      }),
    );
    expect(
      (await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'enforced' }))).OwnershipControls?.Rules,
    ).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    expect((await anonymousGet('/enforced/old-public')).status).toBe(403);
    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'p', Body: 'p', ACL: 'public-read' }))),
    ).toBe('AccessControlListNotSupported');
    expect(await failure(s3.send(new PutBucketAclCommand({ Bucket: 'enforced', ACL: 'public-read' })))).toBe(
      'AccessControlListNotSupported',
    );
    await s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'p', Body: 'p', ACL: 'bucket-owner-full-control' }));
    await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'enforced' }));
    expect((await anonymousGet('/enforced/old-public')).status).toBe(200);
  });
});
