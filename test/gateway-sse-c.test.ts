import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway/server.js';
import { SSE_C_OVER_HTTP_ENV } from '../gateway/ops/sse-c.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { unwrapKey } from '../src/pipeline/keys.js';
import {
  errorCode,
  failure,
  gatewayForSuite,
  rawRequest,
  ROOT,
  signHeaders,
  type GatewayHarness,
  type RawRequest,
} from './helpers/gateway-harness.js';
import { selfSigned } from './helpers/self-signed.js';

/** A customer key as the SDK takes it (base64 of 32 bytes), with the MD5 S3 expects of it. */
function customerKey(): { key: string; md5: string } {
  const bytes = crypto.randomBytes(32);
  return { key: bytes.toString('base64'), md5: crypto.createHash('md5').update(bytes).digest('base64') };
}

const KEY_A = customerKey();
const KEY_B = customerKey();

const sse = (k: { key: string }) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.key });
const sourceSse = (k: { key: string }) => ({
  CopySourceSSECustomerAlgorithm: 'AES256',
  CopySourceSSECustomerKey: k.key,
});

/** The SSE-C headers of a raw request. */
function sseHeaders(k: { key: string; md5: string }, algorithm = 'AES256'): Record<string, string> {
  return {
    'x-amz-server-side-encryption-customer-algorithm': algorithm,
    'x-amz-server-side-encryption-customer-key': k.key,
    'x-amz-server-side-encryption-customer-key-md5': k.md5,
  };
}

/** Bytes that do not compress, so that a chunk holds as many as it says. */
const bytes = (n: number): Buffer => crypto.randomBytes(n);

async function body(s3: S3Client, input: ConstructorParameters<typeof GetObjectCommand>[0]): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand(input));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('gateway: SSE-C (customer-provided keys)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const small = bytes(5000); // inline in its manifest
  const large = bytes(2.5 * 1024 * 1024 + 17); // three 1 MiB chunks
  const plain = bytes(3000);
  beforeAll(() => {
    // The suite speaks plain HTTP: the trusted-network opt-in (one test turns it off).
    process.env[SSE_C_OVER_HTTP_ENV] = 'allow';
  });
  afterAll(() => {
    delete process.env[SSE_C_OVER_HTTP_ENV];
  });
  gatewayForSuite(
    {
      buckets: ['ssec', 'copies'],
      setup: async ({ s3 }) => {
        await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'small', Body: small, ...sse(KEY_A) }));
        await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'large', Body: large, ...sse(KEY_A) }));
        await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'plain', Body: plain }));
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('stores and reads back with the key, echoing the algorithm and the key MD5, never the key', async () => {
    const put = await rawRequest(g.port, {
      method: 'PUT',
      path: '/ssec/echo',
      body: small,
      headers: sseHeaders(KEY_A),
    });
    expect(put.status).toBe(200);
    expect(put.headers['x-amz-server-side-encryption-customer-algorithm']).toBe('AES256');
    expect(put.headers['x-amz-server-side-encryption-customer-key-md5']).toBe(KEY_A.md5);
    expect(put.headers['x-amz-server-side-encryption']).toBeUndefined();
    for (const key of ['small', 'large']) {
      const expected = key === 'small' ? small : large;
      const got = await s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: key, ...sse(KEY_A) }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(expected)).toBe(true);
      expect([got.SSECustomerAlgorithm, got.SSECustomerKeyMD5, got.ServerSideEncryption]).toEqual([
        'AES256',
        KEY_A.md5,
        undefined,
      ]);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'ssec', Key: key, ...sse(KEY_A) }));
      expect([head.ContentLength, head.SSECustomerKeyMD5]).toEqual([expected.length, KEY_A.md5]);
    }
    const raw = await rawRequest(g.port, { method: 'GET', path: '/ssec/large', headers: sseHeaders(KEY_A) });
    expect(JSON.stringify(raw.headers)).not.toContain(KEY_A.key);
    // An object stored before SSE-C (or without it) reads as before, SSE-S3.
    const old = await s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'plain' }));
    expect(old.ServerSideEncryption).toBe('AES256');
    expect(Buffer.from(await old.Body!.transformToByteArray()).equals(plain)).toBe(true);
  });

  it('answers ranged GETs across chunks with the key', async () => {
    for (const [start, end] of [
      [0, 9],
      [1024 * 1024 - 5, 1024 * 1024 + 5],
      [2 * 1024 * 1024 + 3, large.length - 1],
    ] as const) {
      const got = await body(s3, { Bucket: 'ssec', Key: 'large', Range: `bytes=${start}-${end}`, ...sse(KEY_A) });
      expect(got.equals(large.subarray(start, end + 1))).toBe(true);
    }
    expect(
      (await body(s3, { Bucket: 'ssec', Key: 'small', Range: 'bytes=-100', ...sse(KEY_A) })).equals(
        small.subarray(-100),
      ),
    ).toBe(true);
  });

  it('refuses a read without the key (400), with another key (403), and a key for an object without one (400)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const missing = await rawRequest(g.port, { method, path: '/ssec/large' });
      expect(missing.status).toBe(400);
      const wrong = await rawRequest(g.port, { method, path: '/ssec/large', headers: sseHeaders(KEY_B) });
      expect(wrong.status).toBe(403);
      const notApplicable = await rawRequest(g.port, { method, path: '/ssec/plain', headers: sseHeaders(KEY_A) });
      expect(notApplicable.status).toBe(400);
    }
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'large' })))).toBe('InvalidRequest');
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'small', ...sse(KEY_B) })))).toBe(
      'AccessDenied',
    );
    expect(
      await failure(s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'large', Range: 'bytes=0-9', ...sse(KEY_B) }))),
    ).toBe('AccessDenied');
  });

  it('checks the headers: the key MD5, the key length, the algorithm, all three present', async () => {
    const put = (headers: Record<string, string>) =>
      rawRequest(g.port, { method: 'PUT', path: '/ssec/refused', body: 'x', headers });
    const badMd5 = await put({ ...sseHeaders(KEY_A), 'x-amz-server-side-encryption-customer-key-md5': KEY_B.md5 });
    expect([badMd5.status, errorCode(badMd5)]).toEqual([400, 'InvalidArgument']);
    const short = crypto.randomBytes(16);
    const shortKey = await put(
      sseHeaders({ key: short.toString('base64'), md5: crypto.createHash('md5').update(short).digest('base64') }),
    );
    expect([shortKey.status, errorCode(shortKey)]).toEqual([400, 'InvalidArgument']);
    const aes128 = await put(sseHeaders(KEY_A, 'AES128'));
    expect([aes128.status, errorCode(aes128)]).toEqual([400, 'InvalidEncryptionAlgorithmError']);
    for (const left of ['algorithm', 'key', 'key-md5']) {
      const headers = sseHeaders(KEY_A);
      delete headers[`x-amz-server-side-encryption-customer-${left}`];
      const res = await put(headers);
      expect([left, res.status, errorCode(res)]).toEqual([left, 400, 'InvalidArgument']);
    }
    // A bad MD5 on a read is refused the same way, before the object is looked at.
    const get = await rawRequest(g.port, {
      method: 'GET',
      path: '/ssec/large',
      headers: { ...sseHeaders(KEY_A), 'x-amz-server-side-encryption-customer-key-md5': KEY_B.md5 },
    });
    expect([get.status, errorCode(get)]).toEqual([400, 'InvalidArgument']);
    expect((await rawRequest(g.port, { method: 'GET', path: '/ssec/refused' })).status).toBe(404);
  });

  it('refuses SSE-C with x-amz-server-side-encryption (400 InvalidArgument); aws:kms naming no key is 400', async () => {
    for (const algorithm of ['AES256', 'aws:kms']) {
      const res = await rawRequest(g.port, {
        method: 'PUT',
        path: '/ssec/conflict',
        body: 'x',
        headers: { ...sseHeaders(KEY_A), 'x-amz-server-side-encryption': algorithm },
      });
      expect([algorithm, res.status, errorCode(res)]).toEqual([algorithm, 400, 'InvalidArgument']);
    }
    const kms = await rawRequest(g.port, {
      method: 'PUT',
      path: '/ssec/conflict',
      body: 'x',
      headers: { 'x-amz-server-side-encryption': 'aws:kms' },
    });
    expect(kms.status).toBe(400);
  });

  it('mixes the key into the data key wrapping and stores only a salted HMAC of it', async () => {
    const manifest = (await g.h.meta.getObject('ssec', 'large'))!;
    const stored = JSON.stringify(manifest);
    const keyBytes = Buffer.from(KEY_A.key, 'base64');
    for (const form of [
      KEY_A.key,
      keyBytes.toString('hex'),
      KEY_A.md5,
      crypto.createHash('md5').update(keyBytes).digest('hex'),
      crypto.createHash('sha256').update(keyBytes).digest('base64'),
      crypto.createHash('sha256').update(keyBytes).digest('hex'),
    ]) {
      expect(stored).not.toContain(form);
    }
    expect(manifest.sseCustomer?.algorithm).toBe('AES256');
    // The master key alone does not unwrap the data keys, so the store alone cannot read it.
    expect(() => unwrapKey(g.h.masterKey, Buffer.from(manifest.chunks[0]!.wrappedKey, 'base64'))).toThrow(
      /wrong master key/,
    );
    const inline = (await g.h.meta.getObject('ssec', 'small'))!.inline!;
    expect(() => unwrapKey(g.h.masterKey, Buffer.from(inline.wrappedKey, 'base64'))).toThrow(/wrong master key/);
    await expect(
      (async () => {
        for await (const piece of g.h.store.readRange(manifest, 0, 10)) void piece;
      })(),
    ).rejects.toThrow(/customer-provided key/);
    // The ETag is not the plaintext's MD5 (anyone who lists could test guesses against it).
    for (const [key, content] of [
      ['small', small],
      ['large', large],
    ] as const) {
      const etag = (await g.h.meta.getObject('ssec', key))!.etag;
      expect(etag).toMatch(/^[0-9a-f]{32}$/);
      expect(etag).not.toBe(crypto.createHash('md5').update(content).digest('hex'));
    }
    // The same key twice gives two different checks (salted).
    await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'salted', Body: 'x', ...sse(KEY_A) }));
    expect((await g.h.meta.getObject('ssec', 'salted'))!.sseCustomer!.keyCheck).not.toBe(
      manifest.sseCustomer!.keyCheck,
    );
  });

  it('keeps SSE-C objects readable with their key after `meta rebuild`', async () => {
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-sse-c.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      const rebuilt = (await fresh.getObject('ssec', 'large'))!;
      expect(rebuilt.sseCustomer).toEqual((await g.h.meta.getObject('ssec', 'large'))!.sseCustomer);
      const pieces: Buffer[] = [];
      for await (const piece of g.h.store.readRange(rebuilt, 0, rebuilt.size, Buffer.from(KEY_A.key, 'base64')))
        pieces.push(piece);
      expect(Buffer.concat(pieces).equals(large)).toBe(true);
    } finally {
      await fresh.close();
    }
  });

  it('serves GetObjectAttributes only with the key', async () => {
    const attributes = { Bucket: 'ssec', Key: 'large', ObjectAttributes: ['ETag', 'ObjectSize'] as const };
    const without = await rawRequest(g.port, {
      method: 'GET',
      path: '/ssec/large?attributes',
      headers: { 'x-amz-object-attributes': 'ObjectSize' },
    });
    expect(without.status).toBe(400);
    const got = await s3.send(
      new GetObjectAttributesCommand({
        ...attributes,
        ObjectAttributes: [...attributes.ObjectAttributes],
        ...sse(KEY_A),
      }),
    );
    expect(got.ObjectSize).toBe(large.length);
    expect(
      await failure(
        s3.send(new GetObjectAttributesCommand({ ...attributes, ObjectAttributes: ['ObjectSize'], ...sse(KEY_B) })),
      ),
    ).toBe('AccessDenied');
  });

  it('multipart: every part with the upload key; another key or none is refused; the object reads back', async () => {
    const part1 = bytes(5 * 1024 * 1024);
    const part2 = bytes(5 * 1024 * 1024 + 1234); // copied whole: its chunks shared, their keys rewrapped
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ssec', Key: 'mp', ...sse(KEY_A) }));
    const upload = { Bucket: 'ssec', Key: 'mp', UploadId };
    expect(
      await failure(s3.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: part1, ...sse(KEY_B) }))),
    ).toBe('InvalidRequest');
    expect(await failure(s3.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: part1 })))).toBe(
      'InvalidRequest',
    );
    const p1 = await s3.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: part1, ...sse(KEY_A) }));
    expect(p1.SSECustomerKeyMD5).toBe(KEY_A.md5);
    // A part copied from another SSE-C object (key B) into this upload (key A): both keys needed.
    await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'part-source', Body: part2, ...sse(KEY_B) }));
    const copyPart = { ...upload, PartNumber: 2, CopySource: 'ssec/part-source', ...sse(KEY_A) };
    expect(await failure(s3.send(new UploadPartCopyCommand(copyPart)))).toBe('InvalidRequest');
    expect(await failure(s3.send(new UploadPartCopyCommand({ ...copyPart, ...sourceSse(KEY_A) })))).toBe(
      'AccessDenied',
    );
    const p2 = await s3.send(new UploadPartCopyCommand({ ...copyPart, ...sourceSse(KEY_B) }));
    // A part copied (whole, chunks shared) from an object without SSE-C.
    const p3 = await s3.send(
      new UploadPartCopyCommand({ ...upload, PartNumber: 3, CopySource: 'ssec/plain', ...sse(KEY_A) }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        ...upload,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult!.ETag },
            { PartNumber: 3, ETag: p3.CopyPartResult!.ETag },
          ],
        },
      }),
    );
    const all = Buffer.concat([part1, part2, plain]);
    expect((await body(s3, { Bucket: 'ssec', Key: 'mp', ...sse(KEY_A) })).equals(all)).toBe(true);
    expect((await body(s3, { Bucket: 'ssec', Key: 'mp', PartNumber: 2, ...sse(KEY_A) })).equals(part2)).toBe(true);
    const across = await body(s3, {
      Bucket: 'ssec',
      Key: 'mp',
      Range: `bytes=${part1.length - 3}-${part1.length + 3}`,
      ...sse(KEY_A),
    });
    expect(across.equals(all.subarray(part1.length - 3, part1.length + 4))).toBe(true);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'mp', ...sse(KEY_B) })))).toBe(
      'AccessDenied',
    );
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'mp' })))).toBe('InvalidRequest');
  });

  it('CopyObject: source key and target key, each checked; the copy needs its own key', async () => {
    // Key A -> key B.
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: 'copies',
        Key: 'a-to-b',
        CopySource: 'ssec/large',
        ...sourceSse(KEY_A),
        ...sse(KEY_B),
      }),
    );
    expect(copied.SSECustomerKeyMD5).toBe(KEY_B.md5);
    expect((await body(s3, { Bucket: 'copies', Key: 'a-to-b', ...sse(KEY_B) })).equals(large)).toBe(true);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'copies', Key: 'a-to-b', ...sse(KEY_A) })))).toBe(
      'AccessDenied',
    );
    // Key A -> SSE-S3, SSE-S3 -> key A, key A -> key A (the chunks shared).
    await s3.send(
      new CopyObjectCommand({ Bucket: 'copies', Key: 'a-to-none', CopySource: 'ssec/small', ...sourceSse(KEY_A) }),
    );
    expect((await body(s3, { Bucket: 'copies', Key: 'a-to-none' })).equals(small)).toBe(true);
    await s3.send(
      new CopyObjectCommand({ Bucket: 'copies', Key: 'none-to-a', CopySource: 'ssec/plain', ...sse(KEY_A) }),
    );
    expect((await body(s3, { Bucket: 'copies', Key: 'none-to-a', ...sse(KEY_A) })).equals(plain)).toBe(true);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'copies', Key: 'none-to-a' })))).toBe('InvalidRequest');
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'copies',
        Key: 'a-to-a',
        CopySource: 'ssec/large',
        ...sourceSse(KEY_A),
        ...sse(KEY_A),
      }),
    );
    expect((await body(s3, { Bucket: 'copies', Key: 'a-to-a', ...sse(KEY_A) })).equals(large)).toBe(true);
    const source = (await g.h.meta.getObject('ssec', 'large'))!;
    expect((await g.h.meta.getObject('copies', 'a-to-a'))!.chunks.map((c) => c.id)).toEqual(
      source.chunks.map((c) => c.id),
    );
    // The source's key missing, or wrong.
    expect(
      await failure(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'ssec/large' }))),
    ).toBe('InvalidRequest');
    expect(
      await failure(
        s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'ssec/large', ...sourceSse(KEY_B) })),
      ),
    ).toBe('AccessDenied');
    // Rotating the key in place.
    await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'rotate', Body: small, ...sse(KEY_A) }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'copies',
        Key: 'rotate',
        CopySource: 'copies/rotate',
        ...sourceSse(KEY_A),
        ...sse(KEY_B),
      }),
    );
    expect((await body(s3, { Bucket: 'copies', Key: 'rotate', ...sse(KEY_B) })).equals(small)).toBe(true);
  });

  it('lets a bucket policy require SSE-C (s3:x-amz-server-side-encryption-customer-algorithm)', async () => {
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'copies',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObject',
              Resource: 'arn:aws:s3:::copies/required/*',
              Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'true' } },
            },
          ],
        }),
      }),
    );
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'required/x', Body: 'x' })))).toBe(
      'AccessDenied',
    );
    await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'required/x', Body: 'x', ...sse(KEY_A) }));
  });

  it('never logs the key: the request records name no header', async () => {
    const logged = g.nextRequest((r) => r.key === 'logged');
    await s3.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'logged', Body: 'x', ...sse(KEY_A) }));
    const record = JSON.stringify(await logged);
    expect(record).not.toContain(KEY_A.key);
    expect(record).not.toContain(KEY_A.md5);
  });

  describe('over plain HTTP without the opt-in, and over HTTPS', () => {
    let work: string;
    let tls: Gateway;
    let tlsPort: number;
    beforeAll(async () => {
      delete process.env[SSE_C_OVER_HTTP_ENV];
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-sse-c-'));
      const { certFile, keyFile } = await selfSigned(work);
      tls = createGateway({
        store: g.h.store,
        meta: g.h.meta,
        masterKey: g.h.masterKey,
        rootAccessKey: ROOT.accessKeyId,
        rootSecretKey: ROOT.secretAccessKey,
        logger: pino({ level: 'silent' }),
        tls: { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
      });
      tlsPort = await tls.listen(0);
    });
    afterAll(async () => {
      await tls?.close();
      fs.rmSync(work, { recursive: true, force: true });
      process.env[SSE_C_OVER_HTTP_ENV] = 'allow';
    });

    /** A signed request to the HTTPS gateway (certificate not checked: it is the test's own). */
    async function overTls(r: RawRequest): Promise<{ status: number; body: Buffer }> {
      const headers = await signHeaders(tlsPort, r);
      return new Promise((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port: tlsPort, method: r.method, path: r.path, headers, rejectUnauthorized: false },
          (res) => {
            const pieces: Buffer[] = [];
            res.on('data', (d: Buffer) => pieces.push(d));
            res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(pieces) }));
          },
        );
        req.on('error', reject);
        req.end(r.body);
      });
    }

    it('refuses a key sent in clear (400 InvalidRequest) and takes it over TLS', async () => {
      const clear = await rawRequest(g.port, { method: 'GET', path: '/ssec/small', headers: sseHeaders(KEY_A) });
      expect([clear.status, errorCode(clear)]).toEqual([400, 'InvalidRequest']);
      const put = await rawRequest(g.port, {
        method: 'PUT',
        path: '/ssec/clear',
        body: 'x',
        headers: sseHeaders(KEY_A),
      });
      expect([put.status, errorCode(put)]).toEqual([400, 'InvalidRequest']);
      const got = await overTls({ method: 'GET', path: '/ssec/small', headers: sseHeaders(KEY_A) });
      expect(got.status).toBe(200);
      expect(got.body.equals(small)).toBe(true);
    });
  });
});
