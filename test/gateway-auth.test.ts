import crypto from 'node:crypto';
import zlib from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from '../src/pipeline/keys.js';
import { content } from './helpers/store-harness.js';
import {
  chunkedPut,
  errorCode,
  rawRequest,
  ROOT,
  signHeaders,
  gatewayForSuite,
  type GatewayHarness,
  failure,
} from './helpers/gateway-harness.js';

const crc32 = (b: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(b));
  return out.toString('base64');
};
const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');

describe('gateway: SigV4 authentication and access', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite(
    {
      buckets: ['auth', 'granted', 'other'],
      async setup({ g }) {
        const reader = { id: 'READERKEY', secret: 'reader-secret-abcdefghijklmnopqrstuvwxyz' };
        await g.h.meta.createAccessKey(reader.id, sealSecret(g.h.masterKey, reader.id, reader.secret), 'reader');
        await g.h.meta.allow(reader.id, 'granted', { read: true });
        const writer = { id: 'WRITERKEY', secret: 'writer-secret-abcdefghijklmnopqrstuvwxyz' };
        await g.h.meta.createAccessKey(writer.id, sealSecret(g.h.masterKey, writer.id, writer.secret), 'writer');
        await g.h.meta.allow(writer.id, 'granted', { read: true, write: true });
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('accepts UNSIGNED-PAYLOAD and a signed payload hash', async () => {
    const body = Buffer.from('unsigned payload body');
    const unsigned = await rawRequest(g.port, {
      method: 'PUT',
      path: '/auth/unsigned',
      body,
      payload: 'UNSIGNED-PAYLOAD',
    });
    expect(unsigned.status).toBe(200);
    const signed = await rawRequest(g.port, { method: 'PUT', path: '/auth/signed', body, payload: sha256(body) });
    expect(signed.status).toBe(200);
    expect(signed.headers.etag).toBe(`"${crypto.createHash('md5').update(body).digest('hex')}"`);
  });

  it('fails a PUT whose body does not match x-amz-content-sha256, storing nothing', async () => {
    const res = await rawRequest(g.port, {
      method: 'PUT',
      path: '/auth/mismatch',
      body: 'actual body',
      payload: sha256('another body'),
    });
    expect([res.status, errorCode(res)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await g.h.meta.getObject('auth', 'mismatch')).toBeNull();
  });

  it('decodes STREAMING-AWS4-HMAC-SHA256-PAYLOAD with every chunk signature checked', async () => {
    const data = content(200_000, 3);
    const ok = await chunkedPut(g.port, '/auth/chunked', data, { signed: true, chunkSize: 65536 });
    expect(ok.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'auth', Key: 'chunked' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    const withTrailer = await chunkedPut(g.port, '/auth/chunked-trailer', data, {
      signed: true,
      chunkSize: 65536,
      trailer: ['x-amz-checksum-crc32', crc32(data)],
    });
    expect(withTrailer.status).toBe(200);
    expect(withTrailer.headers['x-amz-checksum-crc32']).toBe(crc32(data));
  });

  it('fails a chunked upload with one wrong chunk signature, storing nothing', async () => {
    const data = content(200_000, 4);
    for (const at of [0, 2, 3]) {
      const res = await chunkedPut(g.port, `/auth/bad-chunk-${at}`, data, {
        signed: true,
        chunkSize: 65536,
        badSignatureAt: at,
      });
      expect([res.status, errorCode(res)], `chunk ${at}`).toEqual([403, 'SignatureDoesNotMatch']);
      expect(await g.h.meta.getObject('auth', `bad-chunk-${at}`)).toBeNull();
    }
  });

  it('verifies the trailing checksum of STREAMING-UNSIGNED-PAYLOAD-TRAILER', async () => {
    const data = content(100_000, 5);
    const ok = await chunkedPut(g.port, '/auth/trailer', data, {
      signed: false,
      chunkSize: 8192,
      trailer: ['x-amz-checksum-crc32', crc32(data)],
    });
    expect(ok.status).toBe(200);
    const bad = await chunkedPut(g.port, '/auth/trailer-bad', data, {
      signed: false,
      chunkSize: 8192,
      trailer: ['x-amz-checksum-crc32', crc32(Buffer.from('other'))],
    });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'BadDigest']);
    expect(await g.h.meta.getObject('auth', 'trailer-bad')).toBeNull();
    const sha = crypto.createHash('sha256').update(data).digest('base64');
    const ok256 = await chunkedPut(g.port, '/auth/trailer-sha', data, {
      signed: false,
      chunkSize: 8192,
      trailer: ['x-amz-checksum-sha256', sha],
    });
    expect(ok256.status).toBe(200);
  });

  it('serves presigned GET and PUT URLs and refuses expired ones', async () => {
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'auth', Key: 'pre signed' }), { expiresIn: 300 });
    const putRes = await fetch(put, { method: 'PUT', body: 'presigned body' });
    expect(putRes.status).toBe(200);
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'auth', Key: 'pre signed' }), { expiresIn: 300 });
    const getRes = await fetch(get);
    expect([getRes.status, await getRes.text()]).toEqual([200, 'presigned body']);
    const old = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'auth', Key: 'pre signed' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const expired = await fetch(old);
    const text = await expired.text();
    expect([expired.status, /<Code>(.*)<\/Code>/.exec(text)?.[1]]).toEqual([403, 'AccessDenied']);
    expect(text).toContain('Request has expired');
    const tampered = get.replace('pre%20signed', 'pre%20signee');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it("answers X-Amz-Expires: 0 is expired (403 AccessDenied), negative or over a week 403 with AWS's messages", async () => {
    const command = new GetObjectCommand({ Bucket: 'auth', Key: 'pre signed' });
    const answer = async (url: string): Promise<[number, string | undefined, string | undefined]> => {
      const res = await fetch(url);
      const text = await res.text();
      return [res.status, /<Code>(.*)<\/Code>/.exec(text)?.[1], /<Message>(.*)<\/Message>/.exec(text)?.[1]];
    };
    expect(await answer(await getSignedUrl(s3, command, { expiresIn: 0 }))).toEqual([
      403,
      'AccessDenied',
      'Request has expired',
    ]);
    const valid = await getSignedUrl(s3, command, { expiresIn: 300 });
    expect(await answer(valid.replace('X-Amz-Expires=300', 'X-Amz-Expires=-7'))).toEqual([
      403,
      'AuthorizationQueryParametersError',
      'X-Amz-Expires must be non-negative',
    ]);
    const [status, code, message] = await answer(valid.replace('X-Amz-Expires=300', 'X-Amz-Expires=609901'));
    expect([status, code, message?.startsWith('X-Amz-Expires must be less than a week')]).toEqual([
      403,
      'AuthorizationQueryParametersError',
      true,
    ]);
  });

  it('refuses a wrong secret, an unknown key, a skewed clock and anonymous requests', async () => {
    expect(
      await failure(
        g.client({ accessKeyId: ROOT.accessKeyId, secretAccessKey: 'wrong' }).send(new ListBucketsCommand({})),
      ),
    ).toBe('SignatureDoesNotMatch');
    expect(
      await failure(g.client({ accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' }).send(new ListBucketsCommand({}))),
    ).toBe('InvalidAccessKeyId');
    const skewed = await rawRequest(g.port, {
      method: 'GET',
      path: '/',
      payload: sha256(''),
      signingDate: new Date(Date.now() - 16 * 60_000),
    });
    expect([skewed.status, errorCode(skewed)]).toEqual([403, 'RequestTimeTooSkewed']);
    const anonymous = await rawRequest(g.port, { method: 'GET', path: '/auth/signed', creds: null });
    expect([anonymous.status, errorCode(anonymous)]).toEqual([403, 'AccessDenied']);
    const tampered = await signHeaders(g.port, { method: 'GET', path: '/auth/signed', payload: 'UNSIGNED-PAYLOAD' });
    const res = await rawRequest(g.port, { method: 'GET', path: '/auth/unsigned', headers: tampered, creds: null });
    expect([res.status, errorCode(res)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('gives other keys only the buckets and rights granted to them', async () => {
    const reader = g.client({ accessKeyId: 'READERKEY', secretAccessKey: 'reader-secret-abcdefghijklmnopqrstuvwxyz' });
    const writer = g.client({ accessKeyId: 'WRITERKEY', secretAccessKey: 'writer-secret-abcdefghijklmnopqrstuvwxyz' });
    expect((await reader.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['granted']);
    await writer.send(new PutObjectCommand({ Bucket: 'granted', Key: 'w', Body: 'written' }));
    expect(
      await (await reader.send(new GetObjectCommand({ Bucket: 'granted', Key: 'w' }))).Body!.transformToString(),
    ).toBe('written');
    expect(await failure(reader.send(new PutObjectCommand({ Bucket: 'granted', Key: 'r', Body: 'x' })))).toBe(
      'AccessDenied',
    );
    expect(await failure(reader.send(new ListObjectsV2Command({ Bucket: 'other' })))).toBe('AccessDenied');
    expect(await failure(writer.send(new PutObjectCommand({ Bucket: 'other', Key: 'x', Body: 'x' })))).toBe(
      'AccessDenied',
    );
    expect(await failure(writer.send(new CreateBucketCommand({ Bucket: 'writers-own' })))).toBe('AccessDenied');
    expect(await g.h.meta.getObject('other', 'x')).toBeNull();
    expect(await g.h.meta.getObject('granted', 'r')).toBeNull();
  });

  it('stores secrets sealed: they open only with the master key and for their own key id', async () => {
    const sealed = (await g.h.meta.getAccessKey('READERKEY'))!.encryptedSecret;
    expect(sealed.includes(Buffer.from('reader-secret'))).toBe(false);
    expect(openSecret(g.h.masterKey, 'READERKEY', sealed)).toBe('reader-secret-abcdefghijklmnopqrstuvwxyz');
    expect(() => openSecret(crypto.randomBytes(32), 'READERKEY', sealed)).toThrow(/wrong master key/);
    expect(() => openSecret(g.h.masterKey, 'WRITERKEY', sealed)).toThrow(/wrong master key/);
  });

  it('addresses buckets virtual-hosted-style', async () => {
    const host = `auth.localhost:${g.port}`;
    const res = await rawRequest(g.port, { method: 'GET', path: '/signed', headers: { host }, payload: sha256('') });
    expect([res.status, res.body.toString()]).toEqual([200, 'unsigned payload body']);
  });
});
