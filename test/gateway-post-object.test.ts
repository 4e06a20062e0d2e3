// POST object (gateway/ops/post-object.ts): browser forms with a signed policy.
import crypto from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { content } from './helpers/store-harness.js';
import { form, signedFields } from './helpers/post-form.js';
import {
  errorCode,
  errorMessage,
  gatewayForSuite,
  grantKey,
  md5,
  quotedMd5,
  rawRequest,
  ROOT,
  type GatewayHarness,
  type RawResponse,
} from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;

describe('gateway: POST object (browser form with a signed policy)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['forms'] }, (t) => ({ g, s3 } = t));

  function post(body: Buffer, type: string, path = '/forms'): Promise<RawResponse> {
    return rawRequest(g.port, { method: 'POST', path, headers: { 'content-type': type }, body, creds: null });
  }

  async function postForm(
    fields: Array<[string, string]>,
    file?: { name: string; data: Buffer },
  ): Promise<RawResponse> {
    const f = form(fields, file);
    return post(f.body, f.type);
  }

  const BASE = [{ bucket: 'forms' }, ['starts-with', '$key', 'user/']];

  it('stores the file under the key (with ${filename}), with its type and metadata; 201 answers a document', async () => {
    const data = content(3 * MiB + 17, 7);
    const conditions = [
      ...BASE,
      { success_action_status: '201' },
      ['starts-with', '$Content-Type', 'image/'],
      ['eq', '$x-amz-meta-album', 'summer'],
      ['content-length-range', 1, 4 * MiB],
    ];
    const res = await postForm(
      [
        ['key', 'user/${filename}'],
        ['success_action_status', '201'],
        ['Content-Type', 'image/jpeg'],
        ['x-amz-meta-album', 'summer'],
        ...signedFields(conditions),
      ],
      { name: 'beach.jpg', data },
    );
    expect(res.status).toBe(201);
    expect(res.headers.etag).toBe(quotedMd5(data));
    const doc = res.body.toString();
    // As AWS's: no namespace on PostResponse (ceph/s3-tests reads it by bare names).
    expect(doc).toContain('<PostResponse><Location>');
    expect(doc).toContain('<Bucket>forms</Bucket><Key>user/beach.jpg</Key>');
    expect(doc).toContain(`<ETag>&quot;${md5(data).toString('hex')}&quot;</ETag>`);
    expect(doc).toContain(`<Location>http://127.0.0.1:${g.port}/forms/user/beach.jpg</Location>`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'user/beach.jpg' }));
    expect([got.ContentType, got.Metadata]).toEqual(['image/jpeg', { album: 'summer' }]);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('answers 204 by default and 303 to success_action_redirect', async () => {
    const plain = await postForm([['key', 'user/plain'], ...signedFields(BASE)], {
      name: 'x',
      data: Buffer.from('plain'),
    });
    expect([plain.status, plain.headers.etag]).toEqual([204, quotedMd5(Buffer.from('plain'))]);
    const redirect = 'https://app.example/done?from=form';
    const moved = await postForm(
      [
        ['key', 'user/moved'],
        ['success_action_redirect', redirect],
        ...signedFields([...BASE, { success_action_redirect: redirect }]),
      ],
      { name: 'x', data: Buffer.from('moved') },
    );
    expect(moved.status).toBe(303);
    const location = new URL(moved.headers.location!);
    expect([
      location.origin + location.pathname,
      location.searchParams.get('from'),
      location.searchParams.get('bucket'),
      location.searchParams.get('key'),
      location.searchParams.get('etag'),
    ]).toEqual(['https://app.example/done', 'form', 'forms', 'user/moved', quotedMd5(Buffer.from('moved'))]);
  });

  it('denies bad signatures, unknown keys, expired policies, failed conditions, extra fields and missing rights', async () => {
    const file = { name: 'f', data: Buffer.from('data') };
    const expect403 = async (fields: Array<[string, string]>, code: string, text?: string): Promise<void> => {
      const res = await postForm(fields, file);
      expect([res.status, errorCode(res)]).toEqual([403, code]);
      if (text !== undefined) expect(errorMessage(res)).toBe(text);
    };
    await expect403([['key', 'user/a'], ...signedFields(BASE, { tamper: true })], 'SignatureDoesNotMatch');
    await expect403(
      [['key', 'user/a'], ...signedFields(BASE, { creds: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } })],
      'InvalidAccessKeyId',
    );
    await expect403(
      [['key', 'user/a'], ...signedFields(BASE, { expiration: new Date(Date.now() - 60_000) })],
      'AccessDenied',
      'Invalid according to Policy: Policy expired.',
    );
    await expect403(
      [['key', 'other/a'], ...signedFields(BASE)],
      'AccessDenied',
      'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/"]',
    );
    await expect403(
      [['key', 'user/a'], ...signedFields([{ bucket: 'elsewhere' }, ['starts-with', '$key', '']])],
      'AccessDenied',
      'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "elsewhere"]',
    );
    await expect403(
      [['key', 'user/a'], ['x-amz-meta-sneaky', '1'], ...signedFields(BASE)],
      'AccessDenied',
      'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky',
    );
    await expect403([['key', 'user/a']], 'AccessDenied', 'Access Denied'); // no policy: anonymous
    const reader = await grantKey(g, 'FORMREADER', { forms: { read: true } });
    await expect403([['key', 'user/a'], ...signedFields(BASE, { creds: reader })], 'AccessDenied', 'Access Denied');
    expect(await g.h.meta.getObject('forms', 'user/a')).toBeNull();
    const writer = await grantKey(g, 'FORMWRITER', { forms: { write: true } });
    const ok = await postForm(
      [['key', 'user/a'], ['x-ignore-note', 'not in the policy'], ...signedFields(BASE, { creds: writer })],
      file,
    );
    expect(ok.status).toBe(204);
  });

  it('holds the file to content-length-range while it streams: EntityTooLarge, EntityTooSmall, nothing stored', async () => {
    const range = (min: number, max: number) => signedFields([...BASE, ['content-length-range', min, max]]);
    const large = await postForm([['key', 'user/large'], ...range(0, MiB)], {
      name: 'f',
      data: content(2 * MiB + 1, 3),
    });
    expect([large.status, errorCode(large)]).toEqual([400, 'EntityTooLarge']);
    const tiny = await postForm([['key', 'user/tiny'], ...range(10, 100)], { name: 'f', data: Buffer.from('short') });
    expect([tiny.status, errorCode(tiny)]).toEqual([400, 'EntityTooSmall']);
    expect(
      await Promise.all([g.h.meta.getObject('forms', 'user/large'), g.h.meta.getObject('forms', 'user/tiny')]),
    ).toEqual([null, null]);
    const exact = await postForm([['key', 'user/exact'], ...range(5, 5)], { name: 'f', data: Buffer.from('exact') });
    expect(exact.status).toBe(204);
  });

  it('refuses malformed forms and policies with S3 codes', async () => {
    const file = { name: 'f', data: Buffer.from('data') };
    const noKey = await postForm(signedFields(BASE), file);
    expect([noKey.status, errorCode(noKey)]).toEqual([400, 'InvalidArgument']);
    const noFile = await postForm([['key', 'user/nofile'], ...signedFields(BASE)]);
    expect([noFile.status, errorCode(noFile)]).toEqual([400, 'InvalidArgument']);
    const noSignature = await postForm(
      [['key', 'user/a'], ...signedFields(BASE).filter(([name]) => name !== 'x-amz-signature')],
      file,
    );
    expect([noSignature.status, errorCode(noSignature)]).toEqual([400, 'InvalidArgument']);
    const badPolicy = await postForm(
      [
        ['key', 'user/a'],
        ...signedFields(BASE).map(([n, v]): [string, string] => [n, n === 'policy' ? 'bm90IGpzb24=' : v]),
      ],
      file,
    );
    // The signature covers the policy: a replaced policy fails it before it is parsed.
    expect([badPolicy.status, errorCode(badPolicy)]).toEqual([403, 'SignatureDoesNotMatch']);
    const bigFields = await postForm(
      [['key', 'user/a'], ['x-ignore-pad', 'p'.repeat(30 * 1024)], ...signedFields(BASE)],
      file,
    );
    expect([bigFields.status, errorCode(bigFields)]).toEqual([400, 'MaxPostPreDataLengthExceededError']);
    const notForm = await post(Buffer.from('key=a'), 'application/x-www-form-urlencoded');
    expect([notForm.status, errorCode(notForm)]).toEqual([412, 'PreconditionFailed']);
    const whole = form([['key', 'user/cut'], ...signedFields(BASE)], { name: 'f', data: content(300 * 1024, 5) });
    const cut = await post(whole.body.subarray(0, whole.body.length - 100 * 1024), whole.type);
    expect([cut.status, errorCode(cut)]).toEqual([400, 'MalformedPOSTRequest']);
    expect(await g.h.meta.getObject('forms', 'user/cut')).toBeNull();
    const noBoundary = await post(Buffer.from('x'), 'multipart/form-data');
    expect([noBoundary.status, errorCode(noBoundary)]).toEqual([400, 'MalformedPOSTRequest']);
  });

  it('reports a policy that is not JSON as InvalidPolicyDocument', async () => {
    // Signed correctly, so only the document itself is wrong.
    const longDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    let key: Buffer = Buffer.from(`AWS4${ROOT.secretAccessKey}`);
    for (const part of [longDate.slice(0, 8), 'us-east-1', 's3', 'aws4_request'])
      key = crypto.createHmac('sha256', key).update(part).digest();
    const policy = Buffer.from('{"expiration": ').toString('base64');
    const res = await postForm(
      [
        ['key', 'user/a'],
        ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
        ['x-amz-credential', `${ROOT.accessKeyId}/${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`],
        ['x-amz-date', longDate],
        ['policy', policy],
        ['x-amz-signature', crypto.createHmac('sha256', key).update(policy).digest('hex')],
      ],
      { name: 'f', data: Buffer.from('data') },
    );
    expect([res.status, errorCode(res)]).toEqual([400, 'InvalidPolicyDocument']);
  });
});
