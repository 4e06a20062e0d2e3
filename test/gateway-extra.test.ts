import crypto from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,

  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSecret } from '../src/pipeline/keys.js';
import { Deleter } from '../src/store/deleter.js';
import { content } from './helpers/store-harness.js';
import { errorCode, rawRequest, ROOT, startGateway, type Creds, type GatewayHarness, type RawResponse, failure } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): Buffer => crypto.createHash('md5').update(b).digest();
const quotedMd5 = (b: Buffer): string => `"${md5(b).toString('hex')}"`;

/** The S3 error code of a failed SDK call (fails the test when the call succeeds). */
const ENTITIES: Record<string, string> = { '&quot;': '"', '&apos;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/** The <Message> of an S3 XML error body, unescaped. */
function message(res: RawResponse): string | undefined {
  return /<Message>([^<]*)<\/Message>/.exec(res.body.toString())?.[1]?.replace(/&(quot|apos|lt|gt|amp);/g, (e) => ENTITIES[e]!);
}

/** A second access key, granted `rights` on each listed bucket. */
async function grantKey(g: GatewayHarness, id: string, grants: Record<string, { read?: boolean; write?: boolean }>): Promise<Creds> {
  const creds = { accessKeyId: id, secretAccessKey: `${id}-secret-0123456789abcdefghijkl` };
  await g.h.meta.createAccessKey(id, sealSecret(g.h.masterKey, id, creds.secretAccessKey), id);
  for (const [bucket, rights] of Object.entries(grants)) await g.h.meta.allow(id, bucket, rights);
  return creds;
}

describe('gateway: UploadPartCopy', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const source = content(12 * MiB, 41);
  const small = Buffer.from('the last part, copied whole from a small object');
  beforeAll(async () => {
    g = await startGateway({}, MiB);
    s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'src' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'dst' }));
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'big', Body: source }));
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'small', Body: small }));
  });
  afterAll(async () => {
    await g?.close();
  });

  it('copies an aligned range by reference, an unaligned range and a whole object as bytes; the sources can go before completion', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'joined' }));
    const copy = (PartNumber: number, CopySource: string, CopySourceRange?: string) =>
      s3.send(new UploadPartCopyCommand({ Bucket: 'dst', Key: 'joined', UploadId, PartNumber, CopySource, CopySourceRange }));
    const aligned = source.subarray(0, 6 * MiB); // chunks 0-5 of the 1 MiB chunks
    const unaligned = source.subarray(6 * MiB + 123, 12 * MiB - 7);
    const p1 = await copy(1, 'src/big', `bytes=0-${6 * MiB - 1}`);
    const p2 = await copy(2, 'src/big', `bytes=${6 * MiB + 123}-${12 * MiB - 8}`);
    const p3 = await copy(3, '/src/small');
    expect([p1.CopyPartResult?.ETag, p2.CopyPartResult?.ETag, p3.CopyPartResult?.ETag]).toEqual([quotedMd5(aligned), quotedMd5(unaligned), quotedMd5(small)]);
    expect(p1.CopyPartResult?.LastModified).toBeInstanceOf(Date);

    // The sources go, and their unshared shards with them, before the upload completes: only the
    // parts' references keep the shared chunks.
    const sourceChunks = (await g.h.meta.getObject('src', 'big'))!.chunks.map((c) => c.id);
    const deleter = new Deleter(g.h.meta, g.h.backends);
    await deleter.drain();
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'big' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'src', Key: 'small' }));
    expect(await deleter.drain()).toBe(6 * 6); // chunks 6-11 of big, 6 shards each; nothing of small

    const parts = [p1, p2, p3].map((p, i) => ({ PartNumber: i + 1, ETag: p.CopyPartResult!.ETag! }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'dst', Key: 'joined', UploadId, MultipartUpload: { Parts: parts } }));
    const expected = Buffer.concat([aligned, unaligned, small]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'joined' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(expected)).toBe(true);
    expect(done.ETag).toBe(`"${md5(Buffer.concat([aligned, unaligned, small].map(md5))).toString('hex')}-3"`);

    const chunks = (await g.h.meta.getObject('dst', 'joined'))!.chunks.map((c) => c.id);
    expect(chunks.slice(0, 6)).toEqual(sourceChunks.slice(0, 6));
    expect(chunks.slice(6).some((id) => sourceChunks.includes(id))).toBe(false);
  });

  it('copies a range of a multipart object on its part boundary by reference', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'again' }));
    const copy = (PartNumber: number, CopySource: string, CopySourceRange?: string) =>
      s3.send(new UploadPartCopyCommand({ Bucket: 'dst', Key: 'again', UploadId, PartNumber, CopySource, CopySourceRange }));
    const joined = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'joined' }))).Body!.transformToByteArray());
    const second = joined.subarray(6 * MiB, 12 * MiB - 130); // exactly part 2 of 'joined'
    const p1 = await copy(1, 'dst/joined', `bytes=${6 * MiB}-${12 * MiB - 131}`);
    expect(p1.CopyPartResult?.ETag).toBe(quotedMd5(second));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'dst', Key: 'again', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag! }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dst', Key: 'again' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(second)).toBe(true);
    const joinedChunks = (await g.h.meta.getObject('dst', 'joined'))!.chunks.map((c) => c.id);
    expect((await g.h.meta.getObject('dst', 'again'))!.chunks.map((c) => c.id)).toEqual(joinedChunks.slice(6, 12));
  });

  it('refuses bad sources, ranges, preconditions, uploads and rights with S3 codes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'src', Key: 'ten', Body: '0123456789' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'bad' }));
    const copy = (input: { CopySource?: string; CopySourceRange?: string; CopySourceIfMatch?: string; UploadId?: string; PartNumber?: number }, client = s3) =>
      failure(client.send(new UploadPartCopyCommand({ Bucket: 'dst', Key: 'bad', UploadId, PartNumber: 1, CopySource: 'src/ten', ...input })));
    expect(await copy({ CopySource: 'src/absent' })).toBe('NoSuchKey');
    expect(await copy({ CopySource: 'nobucket/ten' })).toBe('NoSuchBucket');
    expect(await copy({ CopySource: 'src' })).toBe('InvalidArgument');
    expect(await copy({ UploadId: 'nope' })).toBe('NoSuchUpload');
    expect(await copy({ PartNumber: 10001 })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-' })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-2' })).toBe('InvalidArgument');
    expect(await copy({ CopySourceRange: 'bytes=5-10' })).toBe('InvalidArgument'); // past the last byte (9)
    expect(await copy({ CopySourceIfMatch: '"00000000000000000000000000000000"' })).toBe('PreconditionFailed');
    const writer = await grantKey(g, 'PARTWRITER', { dst: { write: true } });
    expect(await copy({}, g.client(writer))).toBe('AccessDenied'); // no read on src
    const reader = await grantKey(g, 'PARTREADER', { src: { read: true }, dst: { read: true } });
    expect(await copy({}, g.client(reader))).toBe('AccessDenied'); // no write on dst

    const ok = await s3.send(new UploadPartCopyCommand({ Bucket: 'dst', Key: 'bad', UploadId, PartNumber: 1, CopySource: 'src/ten', CopySourceRange: 'bytes=2-4', CopySourceIfMatch: quotedMd5(Buffer.from('0123456789')) }));
    expect(ok.CopyPartResult?.ETag).toBe(quotedMd5(Buffer.from('234')));
  });
});

describe('gateway: POST object (browser form with a signed policy)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  beforeAll(async () => {
    g = await startGateway();
    s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'forms' }));
  });
  afterAll(async () => {
    await g?.close();
  });

  /** SigV4 POST fields for a policy, signed here from the spec with node:crypto alone. */
  function signedFields(conditions: unknown[], o: { creds?: Creds; expiration?: Date; tamper?: boolean } = {}): Array<[string, string]> {
    const creds = o.creds ?? ROOT;
    const longDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const credential = `${creds.accessKeyId}/${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const expiration = (o.expiration ?? new Date(Date.now() + 3600_000)).toISOString();
    const fields: Array<[string, string]> = [
      ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
      ['x-amz-credential', credential],
      ['x-amz-date', longDate],
    ];
    const policy = Buffer.from(
      JSON.stringify({
        expiration,
        conditions: [...conditions, ...fields.map(([name, value]) => ({ [name]: value }))],
      }),
    ).toString('base64');
    let key: Buffer = Buffer.from(`AWS4${creds.secretAccessKey}`);
    for (const part of [longDate.slice(0, 8), 'us-east-1', 's3', 'aws4_request']) key = crypto.createHmac('sha256', key).update(part).digest();
    let signature = crypto.createHmac('sha256', key).update(policy).digest('hex');
    if (o.tamper) signature = signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    return [...fields, ['policy', policy], ['x-amz-signature', signature]];
  }

  /** A multipart/form-data body: the fields in order, then the file part (when given). */
  function form(fields: Array<[string, string]>, file?: { name: string; data: Buffer }): { body: Buffer; type: string } {
    const boundary = `----qstor${crypto.randomBytes(8).toString('hex')}`;
    const parts: Buffer[] = fields.map(([name, value]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    if (file) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), file.data, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
  }

  function post(body: Buffer, type: string, path = '/forms'): Promise<RawResponse> {
    return rawRequest(g.port, { method: 'POST', path, headers: { 'content-type': type }, body, creds: null });
  }

  async function postForm(fields: Array<[string, string]>, file?: { name: string; data: Buffer }): Promise<RawResponse> {
    const f = form(fields, file);
    return post(f.body, f.type);
  }

  const BASE = [{ bucket: 'forms' }, ['starts-with', '$key', 'user/']];

  it('stores the file under the key (with ${filename}), with its type and metadata; 201 answers a document', async () => {
    const data = content(3 * MiB + 17, 7);
    const conditions = [...BASE, { success_action_status: '201' }, ['starts-with', '$Content-Type', 'image/'], ['eq', '$x-amz-meta-album', 'summer'], ['content-length-range', 1, 4 * MiB]];
    const res = await postForm(
      [['key', 'user/${filename}'], ['success_action_status', '201'], ['Content-Type', 'image/jpeg'], ['x-amz-meta-album', 'summer'], ...signedFields(conditions)],
      { name: 'beach.jpg', data },
    );
    expect(res.status).toBe(201);
    expect(res.headers.etag).toBe(quotedMd5(data));
    const doc = res.body.toString();
    expect(doc).toContain('<Bucket>forms</Bucket><Key>user/beach.jpg</Key>');
    expect(doc).toContain(`<ETag>&quot;${md5(data).toString('hex')}&quot;</ETag>`);
    expect(doc).toContain(`<Location>http://127.0.0.1:${g.port}/forms/user/beach.jpg</Location>`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'user/beach.jpg' }));
    expect([got.ContentType, got.Metadata]).toEqual(['image/jpeg', { album: 'summer' }]);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('answers 204 by default and 303 to success_action_redirect', async () => {
    const plain = await postForm([['key', 'user/plain'], ...signedFields(BASE)], { name: 'x', data: Buffer.from('plain') });
    expect([plain.status, plain.headers.etag]).toEqual([204, quotedMd5(Buffer.from('plain'))]);
    const redirect = 'https://app.example/done?from=form';
    const moved = await postForm([['key', 'user/moved'], ['success_action_redirect', redirect], ...signedFields([...BASE, { success_action_redirect: redirect }])], { name: 'x', data: Buffer.from('moved') });
    expect(moved.status).toBe(303);
    const location = new URL(moved.headers.location!);
    expect([location.origin + location.pathname, location.searchParams.get('from'), location.searchParams.get('bucket'), location.searchParams.get('key'), location.searchParams.get('etag')]).toEqual([
      'https://app.example/done', 'form', 'forms', 'user/moved', quotedMd5(Buffer.from('moved')),
    ]);
  });

  it('denies bad signatures, unknown keys, expired policies, failed conditions, extra fields and missing rights', async () => {
    const file = { name: 'f', data: Buffer.from('data') };
    const expect403 = async (fields: Array<[string, string]>, code: string, text?: string): Promise<void> => {
      const res = await postForm(fields, file);
      expect([res.status, errorCode(res)]).toEqual([403, code]);
      if (text !== undefined) expect(message(res)).toBe(text);
    };
    await expect403([['key', 'user/a'], ...signedFields(BASE, { tamper: true })], 'SignatureDoesNotMatch');
    await expect403([['key', 'user/a'], ...signedFields(BASE, { creds: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } })], 'InvalidAccessKeyId');
    await expect403([['key', 'user/a'], ...signedFields(BASE, { expiration: new Date(Date.now() - 60_000) })], 'AccessDenied', 'Invalid according to Policy: Policy expired.');
    await expect403([['key', 'other/a'], ...signedFields(BASE)], 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/"]');
    await expect403([['key', 'user/a'], ...signedFields([{ bucket: 'elsewhere' }, ['starts-with', '$key', '']])], 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "elsewhere"]');
    await expect403([['key', 'user/a'], ['x-amz-meta-sneaky', '1'], ...signedFields(BASE)], 'AccessDenied', 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky');
    await expect403([['key', 'user/a']], 'AccessDenied', 'Access Denied'); // no policy: anonymous
    const reader = await grantKey(g, 'FORMREADER', { forms: { read: true } });
    await expect403([['key', 'user/a'], ...signedFields(BASE, { creds: reader })], 'AccessDenied', 'Access Denied');
    expect(await g.h.meta.getObject('forms', 'user/a')).toBeNull();
    const writer = await grantKey(g, 'FORMWRITER', { forms: { write: true } });
    const ok = await postForm([['key', 'user/a'], ['x-ignore-note', 'not in the policy'], ...signedFields(BASE, { creds: writer })], file);
    expect(ok.status).toBe(204);
  });

  it('holds the file to content-length-range while it streams: EntityTooLarge, EntityTooSmall, nothing stored', async () => {
    const range = (min: number, max: number) => signedFields([...BASE, ['content-length-range', min, max]]);
    const large = await postForm([['key', 'user/large'], ...range(0, MiB)], { name: 'f', data: content(2 * MiB + 1, 3) });
    expect([large.status, errorCode(large)]).toEqual([400, 'EntityTooLarge']);
    const tiny = await postForm([['key', 'user/tiny'], ...range(10, 100)], { name: 'f', data: Buffer.from('short') });
    expect([tiny.status, errorCode(tiny)]).toEqual([400, 'EntityTooSmall']);
    expect([await g.h.meta.getObject('forms', 'user/large'), await g.h.meta.getObject('forms', 'user/tiny')]).toEqual([null, null]);
    const exact = await postForm([['key', 'user/exact'], ...range(5, 5)], { name: 'f', data: Buffer.from('exact') });
    expect(exact.status).toBe(204);
  });

  it('refuses malformed forms and policies with S3 codes', async () => {
    const file = { name: 'f', data: Buffer.from('data') };
    const noKey = await postForm(signedFields(BASE), file);
    expect([noKey.status, errorCode(noKey)]).toEqual([400, 'InvalidArgument']);
    const noFile = await postForm([['key', 'user/nofile'], ...signedFields(BASE)]);
    expect([noFile.status, errorCode(noFile)]).toEqual([400, 'InvalidArgument']);
    const noSignature = await postForm([['key', 'user/a'], ...signedFields(BASE).filter(([name]) => name !== 'x-amz-signature')], file);
    expect([noSignature.status, errorCode(noSignature)]).toEqual([400, 'InvalidArgument']);
    const badPolicy = await postForm([['key', 'user/a'], ...signedFields(BASE).map(([n, v]): [string, string] => [n, n === 'policy' ? 'bm90IGpzb24=' : v])], file);
    // The signature covers the policy: a replaced policy fails it before it is parsed.
    expect([badPolicy.status, errorCode(badPolicy)]).toEqual([403, 'SignatureDoesNotMatch']);
    const bigFields = await postForm([['key', 'user/a'], ['x-ignore-pad', 'p'.repeat(30 * 1024)], ...signedFields(BASE)], file);
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
    const longDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    let key: Buffer = Buffer.from(`AWS4${ROOT.secretAccessKey}`);
    for (const part of [longDate.slice(0, 8), 'us-east-1', 's3', 'aws4_request']) key = crypto.createHmac('sha256', key).update(part).digest();
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

describe('gateway: bucket CORS', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const RULES = [
    { ID: 'app', AllowedOrigins: ['https://app.example', 'https://*.preview.example'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
    { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
  ];
  beforeAll(async () => {
    g = await startGateway();
    s3 = g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'web' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'closed' }));
    await s3.send(new PutObjectCommand({ Bucket: 'web', Key: 'page.html', Body: '<p>hi</p>' }));
  });
  afterAll(async () => {
    await g?.close();
  });

  function preflight(path: string, origin: string | null, method: string | null, headers?: string): Promise<RawResponse> {
    const h: Record<string, string> = {};
    if (origin !== null) h['origin'] = origin;
    if (method !== null) h['access-control-request-method'] = method;
    if (headers !== undefined) h['access-control-request-headers'] = headers;
    return rawRequest(g.port, { method: 'OPTIONS', path, headers: h, creds: null });
  }

  it('puts, gets and deletes the rules', async () => {
    expect(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'web' })))).toBe('NoSuchCORSConfiguration');
    await s3.send(new PutBucketCorsCommand({ Bucket: 'web', CORSConfiguration: { CORSRules: RULES } }));
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: 'web' }));
    expect(got.CORSRules).toEqual(RULES);
    await s3.send(new PutBucketCorsCommand({ Bucket: 'closed', CORSConfiguration: { CORSRules: [RULES[1]!] } }));
    await s3.send(new DeleteBucketCorsCommand({ Bucket: 'closed' }));
    expect(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'closed' })))).toBe('NoSuchCORSConfiguration');
    expect(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'absent' })))).toBe('NoSuchBucket');
  });

  it('validates the rules: MalformedXML and InvalidRequest', async () => {
    const put = (xml: string) => rawRequest(g.port, { method: 'PUT', path: '/closed?cors', body: `<CORSConfiguration>${xml}</CORSConfiguration>` });
    const rule = (inner: string) => put(`<CORSRule>${inner}</CORSRule>`);
    const cases: Array<[Promise<RawResponse>, string]> = [
      [put(''), 'MalformedXML'],
      [rule('<AllowedMethod>GET</AllowedMethod>'), 'MalformedXML'],
      [rule('<AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'],
      [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds>'), 'MalformedXML'],
      [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'), 'InvalidRequest'],
      [rule('<AllowedOrigin>https://*.*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'), 'InvalidRequest'],
      [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>'), 'InvalidRequest'],
      [put('<CORSRule><AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'],
    ];
    for (const [res, code] of cases) expect(errorCode(await res)).toBe(code);
    const unsupported = await rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>');
    expect([unsupported.status, message(unsupported)]).toEqual([400, 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH']);
    expect((await g.h.meta.getBucket('closed'))!.settings.cors).toBeUndefined();
  });

  it('answers preflights from the rules, without credentials', async () => {
    const ok = await preflight('/web/some/key', 'https://pr-7.preview.example', 'PUT', 'Content-Type, X-Amz-Meta-Owner');
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({
      'access-control-allow-origin': 'https://pr-7.preview.example',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'content-type, x-amz-meta-owner',
      'access-control-expose-headers': 'ETag',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
    });
    const any = await preflight('/web', 'https://elsewhere.example', 'HEAD');
    expect([any.status, any.headers['access-control-allow-origin'], any.headers['access-control-allow-methods']]).toEqual([200, '*', 'GET, HEAD']);
    const refused: Array<[string, string, string | undefined]> = [
      ['https://elsewhere.example', 'PUT', undefined], // only the first rule allows PUT, not for this origin
      ['https://app.example', 'DELETE', undefined],
      ['https://app.example', 'PUT', 'authorization'],
      ['https://a.b.preview.example.evil', 'GET', 'content-type'],
    ];
    for (const [origin, method, headers] of refused) {
      const res = await preflight('/web/page.html', origin, method, headers);
      expect([res.status, errorCode(res), message(res)?.startsWith('CORSResponse: This CORS request is not allowed.')], `${origin} ${method}`).toEqual([403, 'AccessForbidden', true]);
    }
    const closed = await preflight('/closed/x', 'https://app.example', 'GET');
    expect([closed.status, errorCode(closed)]).toEqual([403, 'AccessForbidden']);
    const noOrigin = await preflight('/web/x', null, 'GET');
    expect([noOrigin.status, errorCode(noOrigin)]).toEqual([400, 'BadRequest']);
    const noMethod = await preflight('/web/x', 'https://app.example', null);
    expect([noMethod.status, errorCode(noMethod)]).toEqual([400, 'BadRequest']);
  });

  it('adds CORS headers to responses (errors included) when the Origin and method match', async () => {
    const get = (origin: string, path = '/web/page.html') => rawRequest(g.port, { method: 'GET', path, headers: { origin } });
    const app = await get('https://app.example');
    expect([app.status, app.headers['access-control-allow-origin'], app.headers['access-control-expose-headers']]).toEqual([200, 'https://app.example', 'ETag']);
    const other = await get('https://other.example');
    expect([other.headers['access-control-allow-origin'], other.headers['access-control-allow-credentials']]).toEqual(['*', undefined]);
    const missing = await get('https://app.example', '/web/absent');
    expect([missing.status, missing.headers['access-control-allow-origin']]).toEqual([404, 'https://app.example']);
    const del = await rawRequest(g.port, { method: 'DELETE', path: '/web/absent', headers: { origin: 'https://app.example' } });
    expect([del.status, del.headers['access-control-allow-origin']]).toEqual([204, undefined]); // DELETE is allowed by no rule
    const closed = await rawRequest(g.port, { method: 'GET', path: '/closed?list-type=2', headers: { origin: 'https://app.example' } });
    expect([closed.status, closed.headers['access-control-allow-origin']]).toEqual([200, undefined]);
  });
});
