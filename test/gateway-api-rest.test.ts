// The rest of the S3 API found by ceph/s3-tests: POST forms as Python clients send them
// (SigV2 signatures, fields as file parts, anonymous forms), grantees by id and e-mail address
// resolved against the keys, owners of multipart uploads, Object Ownership at creation.
import crypto from 'node:crypto';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  ListMultipartUploadsCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { canonicalId } from '../gateway/auth/acl.js';
import { sealSecret } from '../src/pipeline/keys.js';
import {
  errorCode,
  failure,
  gatewayForSuite,
  rawRequest,
  ROOT,
  signHeaders,
  type Creds,
  type GatewayHarness,
  type RawResponse,
} from './helpers/gateway-harness.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

/** A form as Python's `requests.post(files=...)` sends it: every field a part with a filename. */
function filesForm(fields: Array<[string, string | Buffer]>): { body: Buffer; type: string } {
  const boundary = `----qstor${crypto.randomBytes(8).toString('hex')}`;
  const parts = fields.map(([name, value]) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n`),
      Buffer.from(value),
      Buffer.from('\r\n'),
    ]),
  );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** A Signature Version 2 policy and its fields (AWSAccessKeyId, policy, signature). */
function v2Fields(creds: Creds, policy: object, tamper = false): Array<[string, string]> {
  const encoded = Buffer.from(JSON.stringify(policy)).toString('base64');
  let signature = crypto.createHmac('sha1', creds.secretAccessKey).update(encoded).digest('base64');
  if (tamper) signature = signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
  return [
    ['AWSAccessKeyId', creds.accessKeyId],
    ['policy', encoded],
    ['signature', signature],
  ];
}

const inAnHour = (): string => new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}/, '');

describe('gateway: the rest of the S3 API (ceph/s3-tests findings)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let ann: Creds;
  gatewayForSuite(
    {
      buckets: ['forms'],
      setup: async (t) => {
        ann = { accessKeyId: 'ANNKEY', secretAccessKey: 'ann-secret-0123456789abcdefghijklmnop' };
        // Its name is an e-mail address: grants may name the key by it.
        await t.g.h.meta.createAccessKey(
          ann.accessKeyId,
          sealSecret(t.g.h.masterKey, ann.accessKeyId, ann.secretAccessKey),
          'Ann@Example.com',
        );
      },
    },
    (t) => ({ g, s3 } = t),
  );

  function post(fields: Array<[string, string | Buffer]>, bucket = 'forms'): Promise<RawResponse> {
    const f = filesForm(fields);
    return rawRequest(g.port, {
      method: 'POST',
      path: `/${bucket}`,
      headers: { 'content-type': f.type },
      body: f.body,
      creds: null,
    });
  }

  const getAnonymously = (path: string): Promise<RawResponse> =>
    rawRequest(g.port, { method: 'GET', path, creds: null });

  const policy = (conditions: unknown[], expiration = inAnHour()): object => ({
    expiration,
    conditions: [{ bucket: 'forms' }, ['starts-with', '$key', 'foo'], ...conditions],
  });

  it('takes a SigV2-signed form whose fields come as file parts, and answers AWS codes for bad keys and signatures', async () => {
    const conditions = [['starts-with', '$Content-Type', 'text/plain']];
    const good = await post([
      ['key', 'foo.txt'],
      ...v2Fields(ROOT, policy(conditions)),
      ['Content-Type', 'text/plain'],
      ['file', 'bar'],
    ]);
    expect(good.status).toBe(204);
    expect((await rawRequest(g.port, { method: 'GET', path: '/forms/foo.txt' })).body.toString()).toBe('bar');

    const unknown = await post([
      ['key', 'foo.txt'],
      ...v2Fields({ ...ROOT, accessKeyId: 'NOSUCHKEY' }, policy(conditions)),
      ['Content-Type', 'text/plain'],
      ['file', 'bar'],
    ]);
    expect([unknown.status, errorCode(unknown)]).toEqual([403, 'InvalidAccessKeyId']);
    const forged = await post([
      ['key', 'foo.txt'],
      ...v2Fields(ROOT, policy(conditions), true),
      ['Content-Type', 'text/plain'],
      ['file', 'bar'],
    ]);
    expect([forged.status, errorCode(forged)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('refuses a policy whose expiration is not ISO 8601 UTC, or with an empty condition (400)', async () => {
    const local = await post([
      ['key', 'foo.txt'],
      ...v2Fields(ROOT, policy([], new Date(Date.now() + 3600_000).toString())),
      ['file', 'bar'],
    ]);
    expect([local.status, errorCode(local)]).toEqual([400, 'InvalidPolicyDocument']);
    const empty = await post([['key', 'foo.txt'], ...v2Fields(ROOT, policy([{}])), ['file', 'bar']]);
    expect([empty.status, errorCode(empty)]).toEqual([400, 'InvalidPolicyDocument']);
  });

  it("serves an anonymous form when the bucket's ACL lets everyone write, with the ACL it names", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'open-forms', ACL: 'public-read-write' }));
    const res = await post(
      [
        ['key', 'anon.txt'],
        ['acl', 'public-read'],
        ['file', 'from anyone'],
      ],
      'open-forms',
    );
    expect(res.status).toBe(204);
    const read = await getAnonymously('/open-forms/anon.txt');
    expect([read.status, read.body.toString()]).toEqual([200, 'from anyone']);
    // A private bucket takes no anonymous form.
    const closed = await post([
      ['key', 'anon.txt'],
      ['file', 'x'],
    ]);
    expect([closed.status, errorCode(closed)]).toEqual([403, 'AccessDenied']);
  });

  it('names grantees by canonical id or e-mail address with their display names; unknown ones are refused', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'granted' }));
    const annId = canonicalId(ann.accessKeyId);
    await s3.send(new PutBucketAclCommand({ Bucket: 'granted', GrantRead: `id="${annId}"` }));
    let acl = await s3.send(new GetBucketAclCommand({ Bucket: 'granted' }));
    expect(acl.Grants).toEqual([
      { Grantee: { Type: 'CanonicalUser', ID: annId, DisplayName: ann.accessKeyId }, Permission: 'READ' },
    ]);
    await s3.send(new PutBucketAclCommand({ Bucket: 'granted', GrantWrite: 'emailAddress="ann@example.com"' }));
    acl = await s3.send(new GetBucketAclCommand({ Bucket: 'granted' }));
    expect(acl.Grants?.map((grant) => [grant.Grantee?.ID, grant.Grantee?.DisplayName, grant.Permission])).toEqual([
      [annId, ann.accessKeyId, 'WRITE'],
    ]);
    const owner = acl.Owner!;
    await s3.send(
      new PutBucketAclCommand({
        Bucket: 'granted',
        AccessControlPolicy: {
          Owner: owner,
          Grants: [{ Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'ANN@example.com' }, Permission: 'READ' }],
        },
      }),
    );
    acl = await s3.send(new GetBucketAclCommand({ Bucket: 'granted' }));
    expect(acl.Grants?.[0]?.Grantee?.ID).toBe(annId);

    expect(
      await failure(s3.send(new PutBucketAclCommand({ Bucket: 'granted', GrantRead: `id="${'0'.repeat(64)}"` }))),
    ).toBe('InvalidArgument');
    expect(
      await failure(
        s3.send(new PutBucketAclCommand({ Bucket: 'granted', GrantRead: 'emailAddress="bob@example.com"' })),
      ),
    ).toBe('UnresolvableGrantByEmailAddress');
  });

  it("tells a key creating another's bucket that the name is taken (409 BucketAlreadyExists)", async () => {
    const annS3 = g.client(ann);
    expect(await failure(annS3.send(new CreateBucketCommand({ Bucket: 'forms' })))).toBe('BucketAlreadyExists');
    // A new name stays root's to create.
    expect(await failure(annS3.send(new CreateBucketCommand({ Bucket: 'anns-own' })))).toBe('AccessDenied');
  });

  it('verifies the signature of UTF-8 metadata as its client signed it, and keeps its bytes', async () => {
    const value = 'Hello Worldé';
    const signed = await signHeaders(g.port, {
      method: 'PUT',
      path: '/forms/unicode',
      headers: { 'x-amz-meta-meta1': value },
      body: 'bar',
    });
    // On the wire as UTF-8 (as botocore sends it); Node sends a string's chars as bytes.
    const put = await rawRequest(g.port, {
      method: 'PUT',
      path: '/forms/unicode',
      headers: { ...signed, 'x-amz-meta-meta1': Buffer.from(value).toString('latin1') },
      body: 'bar',
      creds: null,
    });
    expect(put.status).toBe(200);
    const got = await rawRequest(g.port, { method: 'GET', path: '/forms/unicode' });
    expect(Buffer.from(got.headers['x-amz-meta-meta1'] as string, 'latin1').toString('utf8')).toBe(value);
  });

  it('lists grants to groups before grants to users, canned or put in another order', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'reordered' }));
    const { Owner } = await s3.send(new GetBucketAclCommand({ Bucket: 'reordered' }));
    await s3.send(
      new PutBucketAclCommand({
        Bucket: 'reordered',
        AccessControlPolicy: {
          Owner,
          Grants: [
            { Grantee: { Type: 'CanonicalUser', ID: Owner!.ID }, Permission: 'FULL_CONTROL' },
            { Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ' },
          ],
        },
      }),
    );
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: 'reordered' }));
    expect(acl.Grants?.map((grant) => grant.Grantee?.URI ?? grant.Grantee?.ID)).toEqual([ALL_USERS, Owner!.ID]);
  });

  it('lists canned grants to groups before the owner', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'canned', ACL: 'public-read' }));
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: 'canned' }));
    expect(acl.Grants?.map((grant) => grant.Grantee?.URI ?? grant.Grantee?.ID)).toEqual([
      ALL_USERS,
      canonicalId(ROOT.accessKeyId),
    ]);
  });

  it('names the key that started each multipart upload as its Owner and Initiator', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads', ACL: 'public-read-write' }));
    await g.client(ann).send(new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'by-ann' }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'by-root' }));
    const list = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'uploads' }));
    expect(list.Uploads?.map((u) => [u.Key, u.Owner?.ID, u.Initiator?.ID, u.Owner?.DisplayName])).toEqual([
      ['by-ann', canonicalId(ann.accessKeyId), canonicalId(ann.accessKeyId), ann.accessKeyId],
      ['by-root', canonicalId(ROOT.accessKeyId), canonicalId(ROOT.accessKeyId), ROOT.accessKeyId],
    ]);
  });

  it('sets Object Ownership at creation and keeps ACLs out of a BucketOwnerEnforced bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced' }));
    const controls = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'enforced' }));
    expect(controls.OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced');
    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'k', Body: 'x', ACL: 'private' }))),
    ).toBe('AccessControlListNotSupported');
    await s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }));
    expect(
      await failure(
        s3.send(
          new CreateBucketCommand({ Bucket: 'enforced2', ObjectOwnership: 'BucketOwnerEnforced', ACL: 'public-read' }),
        ),
      ),
    ).toBe('InvalidBucketAclWithObjectOwnership');
    await s3.send(new CreateBucketCommand({ Bucket: 'was-public', ACL: 'public-read' }));
    expect(
      await failure(
        s3.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: 'was-public',
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          }),
        ),
      ),
    ).toBe('InvalidBucketAclWithObjectOwnership');
  });

  it('hands an object written with bucket-owner-full-control to the owner of a BucketOwnerPreferred bucket', async () => {
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'preferred',
        ObjectOwnership: 'BucketOwnerPreferred',
        ACL: 'public-read-write',
      }),
    );
    const annS3 = g.client(ann);
    await annS3.send(
      new PutObjectCommand({ Bucket: 'preferred', Key: 'given', Body: 'x', ACL: 'bucket-owner-full-control' }),
    );
    await annS3.send(new PutObjectCommand({ Bucket: 'preferred', Key: 'kept', Body: 'x' }));
    const given = await s3.send(new GetObjectAclCommand({ Bucket: 'preferred', Key: 'given' }));
    expect(given.Owner?.ID).toBe(canonicalId(ROOT.accessKeyId));
    const kept = await annS3.send(new GetObjectAclCommand({ Bucket: 'preferred', Key: 'kept' }));
    expect(kept.Owner?.ID).toBe(canonicalId(ann.accessKeyId));
  });
});
