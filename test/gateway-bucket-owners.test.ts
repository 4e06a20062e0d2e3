// Keys that create buckets of their own, and what owning a bucket means, over a real gateway
// with the AWS SDK and raw HTTP: the account-level right to create buckets (off by default, as
// an IAM user's), the creator's ownership (ACL owner, grants, ListBuckets, its policy even when
// the policy denies everything), x-amz-expected-bucket-owner, NotPrincipal with Allow refused,
// ACLs refused under BucketOwnerEnforced, a POST form's tags, AWS's bucket-owner-full-control
// example, and 404 against 403 on a missing object under a prefix-conditioned listing policy.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { canonicalId } from '../gateway/auth/acl.js';
import {
  errorCode,
  failure,
  gatewayForSuite,
  grantKey,
  rawRequest,
  ROOT,
  type Creds,
  type GatewayHarness,
} from './helpers/gateway-harness.js';
import { form } from './helpers/post-form.js';

const policyOf = (bucket: string, statements: object[]): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({ Resource: `arn:aws:s3:::${bucket}/*`, ...s })),
  });

describe('gateway: keys that own buckets', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let maker: Creds;
  let plain: Creds;
  gatewayForSuite({}, (t) => ({ g, s3 } = t));

  const client = (creds: Creds): S3Client => g.client(creds);

  it('lets only a key given the right create buckets; names another owner holds answer BucketAlreadyExists', async () => {
    maker = await grantKey(g, 'MAKER', {});
    plain = await grantKey(g, 'PLAIN', {});
    await g.h.meta.setCreateBuckets('MAKER', true);
    // Off by default: a new key creates nothing.
    expect(await failure(client(plain).send(new CreateBucketCommand({ Bucket: 'plains' })))).toBe('AccessDenied');
    await client(maker).send(new CreateBucketCommand({ Bucket: 'makers' }));
    // Names are global: root and other keys learn this one is taken.
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'makers' })))).toBe('BucketAlreadyExists');
    expect(await failure(client(plain).send(new CreateBucketCommand({ Bucket: 'makers' })))).toBe(
      'BucketAlreadyExists',
    );
    await s3.send(new CreateBucketCommand({ Bucket: 'roots' }));
    expect(await failure(client(maker).send(new CreateBucketCommand({ Bucket: 'roots' })))).toBe('BucketAlreadyExists');
    await s3.send(new DeleteBucketCommand({ Bucket: 'roots' }));
    // Its own again: us-east-1's 200.
    await client(maker).send(new CreateBucketCommand({ Bucket: 'makers' }));
  });

  it('makes the creating key the owner: ACL owner, listed, full control, its policy', async () => {
    const m = client(maker);
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: 'makers' }));
    expect(acl.Owner?.ID).toBe(canonicalId('MAKER'));
    expect((await m.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['makers']);
    expect((await client(plain).send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    await m.send(new PutObjectCommand({ Bucket: 'makers', Key: 'k', Body: 'by maker' }));
    await m.send(new PutBucketAclCommand({ Bucket: 'makers', ACL: 'private' }));
    expect((await m.send(new GetObjectAclCommand({ Bucket: 'makers', Key: 'k' }))).Owner?.ID).toBe(
      canonicalId('MAKER'),
    );
    expect(await failure(client(plain).send(new ListObjectsV2Command({ Bucket: 'makers' })))).toBe('AccessDenied');
    // A policy denying everything still leaves its owner the policy (as AWS's owner account).
    await m.send(
      new PutBucketPolicyCommand({
        Bucket: 'makers',
        Policy: policyOf('makers', [
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: ['arn:aws:s3:::makers', 'arn:aws:s3:::makers/*'],
          },
        ]),
      }),
    );
    expect(await failure(m.send(new ListObjectsV2Command({ Bucket: 'makers' })))).toBe('AccessDenied');
    await m.send(new DeleteBucketPolicyCommand({ Bucket: 'makers' }));
    expect((await m.send(new ListObjectsV2Command({ Bucket: 'makers' }))).KeyCount).toBe(1);
  });

  it('keeps the buckets a key made when its right is taken back, and lets it delete them', async () => {
    await g.h.meta.setCreateBuckets('MAKER', false);
    const m = client(maker);
    expect(await failure(m.send(new CreateBucketCommand({ Bucket: 'makers-second' })))).toBe('AccessDenied');
    // It still owns what it made; given the right again, it creates and deletes.
    await m.send(new PutObjectCommand({ Bucket: 'makers', Key: 'still', Body: 'x' }));
    await m.send(new DeleteObjectCommand({ Bucket: 'makers', Key: 'still' }));
    await g.h.meta.setCreateBuckets('MAKER', true);
    await m.send(new CreateBucketCommand({ Bucket: 'makers-gone' }));
    await m.send(new DeleteBucketCommand({ Bucket: 'makers-gone' }));
    expect((await m.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['makers']);
  });

  it('refuses a request whose x-amz-expected-bucket-owner names another owner (403), the copy source too', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'open', ACL: 'public-read-write' }));
    await s3.send(new PutObjectCommand({ Bucket: 'open', Key: 'foo', Body: 'bar' }));
    const rootId = canonicalId(ROOT.accessKeyId);
    const list = (owner: string) =>
      rawRequest(g.port, {
        method: 'GET',
        path: '/open',
        headers: { 'x-amz-expected-bucket-owner': owner },
        creds: null,
      });
    const wrong = await list(`${rootId}foo`);
    expect([wrong.status, errorCode(wrong)]).toEqual([403, 'AccessDenied']);
    expect((await list(rootId)).status).toBe(200);
    const put = await rawRequest(g.port, {
      method: 'PUT',
      path: '/open/bar',
      headers: { 'x-amz-expected-bucket-owner': canonicalId('MAKER') },
      body: 'coffee',
      creds: null,
    });
    expect([put.status, errorCode(put)]).toEqual([403, 'AccessDenied']);
    await s3.send(new PutObjectCommand({ Bucket: 'open', Key: 'bar', Body: 'x', ExpectedBucketOwner: rootId }));
    const copy = (owner: string) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: 'open',
          Key: 'copy',
          CopySource: 'open/foo',
          ExpectedSourceBucketOwner: owner,
        }),
      );
    expect(await failure(copy(canonicalId('MAKER')))).toBe('AccessDenied');
    await copy(rootId);
  });

  it('refuses NotPrincipal with Allow (400 MalformedPolicy), takes it with Deny', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'roots' }));
    const notPrincipal = (Effect: string) =>
      s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'roots',
          Policy: policyOf('roots', [
            { Effect, NotPrincipal: { AWS: 'arn:aws:iam::s3tenant1:root' }, Action: 's3:GetObject' },
          ]),
        }),
      );
    expect(await failure(notPrincipal('Allow'))).toBe('MalformedPolicy');
    await notPrincipal('Deny');
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'roots' }));
  });

  it('refuses every PutBucketAcl and PutObjectAcl on a BucketOwnerEnforced bucket, private included', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced' }));
    await s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'k', Body: 'x' }));
    expect(await failure(s3.send(new PutBucketAclCommand({ Bucket: 'enforced', ACL: 'private' })))).toBe(
      'AccessControlListNotSupported',
    );
    expect(await failure(s3.send(new PutObjectAclCommand({ Bucket: 'enforced', Key: 'k', ACL: 'private' })))).toBe(
      'AccessControlListNotSupported',
    );
    // Reading ACLs is still supported.
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'enforced' }))).Owner?.ID).toBe(
      canonicalId(ROOT.accessKeyId),
    );
  });

  it("stores a POST form's tagging field, from an anonymous form too", async () => {
    const tagging =
      '<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag><Tag><Key>1</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const { body, type } = form(
      [
        ['key', 'tagged.txt'],
        ['acl', 'public-read'],
        ['Content-Type', 'text/plain'],
        ['tagging', tagging],
      ],
      { name: 'file', data: Buffer.from('bar') },
    );
    const res = await rawRequest(g.port, {
      method: 'POST',
      path: '/open',
      headers: { 'content-type': type },
      body,
      creds: null,
    });
    expect(res.status).toBe(204);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'open', Key: 'tagged.txt' }));
    expect(tags.TagSet).toEqual([
      { Key: '0', Value: '0' },
      { Key: '1', Value: '1' },
    ]);
  });

  it("takes AWS's example: s3:PutObject alone on condition the writer grants the bucket owner full control", async () => {
    const rootGrant = `id=${canonicalId(ROOT.accessKeyId)}`;
    await s3.send(new CreateBucketCommand({ Bucket: 'dropbox' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'dropbox',
        Policy: policyOf('dropbox', [
          {
            Effect: 'Allow',
            Principal: { AWS: 'PLAIN' },
            Action: 's3:PutObject',
            Condition: { StringEquals: { 's3:x-amz-grant-full-control': rootGrant } },
          },
        ]),
      }),
    );
    const p = client(plain);
    await p.send(new PutObjectCommand({ Bucket: 'dropbox', Key: 'k', Body: 'x', GrantFullControl: rootGrant }));
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: 'dropbox', Key: 'k' }));
    expect(acl.Grants?.map((grant) => [grant.Grantee?.ID, grant.Permission])).toEqual([
      [canonicalId(ROOT.accessKeyId), 'FULL_CONTROL'],
    ]);
    // Without the grant the condition fails; an ACL for others still needs s3:PutObjectAcl.
    expect(await failure(p.send(new PutObjectCommand({ Bucket: 'dropbox', Key: 'k2', Body: 'x' })))).toBe(
      'AccessDenied',
    );
    expect(
      await failure(
        p.send(
          new PutObjectCommand({
            Bucket: 'dropbox',
            Key: 'k3',
            Body: 'x',
            GrantFullControl: rootGrant,
            GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
          }),
        ),
      ),
    ).toBe('AccessDenied');
  });

  it('answers 404 for a missing key the caller may list under the policy s3:prefix, 403 for one it may not', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'prefixed' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'prefixed',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: 's3:ListBucket',
              Resource: 'arn:aws:s3:::prefixed',
              Condition: { StringLike: { 's3:prefix': 'public/*' } },
            },
          ],
        }),
      }),
    );
    const head = (Key: string) => client(plain).send(new HeadObjectCommand({ Bucket: 'prefixed', Key }));
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
      );
    expect(await status(head('public/object'))).toBe(404);
    expect(await status(head('private/object'))).toBe(403);
  });
});
