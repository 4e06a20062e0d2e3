import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { CreateMultipartUploadCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { content } from './helpers/store-harness.js';
import {
  chunkedPut,
  errorCode,
  gatewayForSuite,
  rawRequest,
  signHeaders,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');
const KEEP = 'the original content';

describe('gateway: bad input is refused with the exact S3 error and damages nothing', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['bad'], objects: [['bad', 'keep', KEEP]] }, (t) => ({ g, s3 } = t));

  /** The object every failed request must leave as it was. */
  async function keepIsIntact(): Promise<void> {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bad', Key: 'keep' }));
    expect(await got.Body!.transformToString()).toBe(KEEP);
  }

  it('malformed XML bodies -> MalformedXML', async () => {
    for (const body of [
      '<Delete><Object><Key>keep</Key></Object>',
      'not xml at all',
      '',
      '<Delete></Delete>',
      '<Delete><Object><Key></Key></Object></Delete>',
    ]) {
      const res = await rawRequest(g.port, { method: 'POST', path: '/bad?delete', body });
      expect([res.status, errorCode(res)], body).toEqual([400, 'MalformedXML']);
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bad', Key: 'mp' }));
    const res = await rawRequest(g.port, {
      method: 'POST',
      path: `/bad/mp?uploadId=${UploadId}`,
      body: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>',
    });
    expect([res.status, errorCode(res)]).toEqual([400, 'MalformedXML']);
    expect(await g.h.meta.getUpload(UploadId!)).not.toBeNull();
    await keepIsIntact();
  });

  it('an XML body whose Content-MD5 does not match -> BadDigest, nothing deleted', async () => {
    const body = '<Delete><Object><Key>keep</Key></Object></Delete>';
    const wrong = crypto.createHash('md5').update('other').digest('base64');
    const res = await rawRequest(g.port, {
      method: 'POST',
      path: '/bad?delete',
      body,
      headers: { 'content-md5': wrong },
    });
    expect([res.status, errorCode(res)]).toEqual([400, 'BadDigest']);
    await keepIsIntact();
  });

  it('an XML body over 1 MiB -> MaxMessageLengthExceeded', async () => {
    const big = `<Delete>${'<Object><Key>keep</Key></Object>'.repeat(40_000)}</Delete>`;
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const res = await rawRequest(g.port, { method: 'POST', path: '/bad?delete', body: big });
    expect([res.status, errorCode(res)]).toEqual([400, 'MaxMessageLengthExceeded']);
    await keepIsIntact();
  });

  it('a body shorter than Content-Length (the client disconnects) commits nothing', async () => {
    const headers = await signHeaders(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      payload: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': '3000000' },
    });
    const finished = g.nextRequest((r) => r.op === 'PutObject');
    const socket = net.connect(g.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const head = [`PUT /bad/keep HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join(
      '\r\n',
    );
    socket.write(head);
    socket.write(content(1_500_000, 8), () => socket.destroy());
    const record = await finished;
    expect(record.code).toBe('IncompleteBody');
    await keepIsIntact();
  });

  it('a declared decoded length the aws-chunked body does not have -> IncompleteBody', async () => {
    const headers = await signHeaders(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      payload: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '10' },
    });
    const res = await rawRequest(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      headers,
      body: '5\r\nhello\r\n0\r\n\r\n',
      creds: null,
    });
    expect([res.status, errorCode(res)]).toEqual([400, 'IncompleteBody']);
    const framing = await signHeaders(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      payload: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '5' },
    });
    const garbage = await rawRequest(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      headers: framing,
      body: 'zz\r\nhello\r\n0\r\n\r\n',
      creds: null,
    });
    expect([garbage.status, errorCode(garbage)]).toEqual([400, 'InvalidRequest']);
    await keepIsIntact();
  });

  it('a wrong chunk signature or a body not matching its hash leaves the old object', async () => {
    const data = content(150_000, 9);
    const res = await chunkedPut(g.port, '/bad/keep', data, { signed: true, chunkSize: 65536, badSignatureAt: 1 });
    expect([res.status, errorCode(res)]).toEqual([403, 'SignatureDoesNotMatch']);
    const mismatch = await rawRequest(g.port, {
      method: 'PUT',
      path: '/bad/keep',
      body: 'replacement',
      payload: sha256('something else'),
    });
    expect([mismatch.status, errorCode(mismatch)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    await keepIsIntact();
  });

  it('invalid bucket names -> InvalidBucketName; keys over 1024 bytes -> KeyTooLongError', async () => {
    for (const name of ['UPPER', 'a_b', '10.0.0.1', 'ab']) {
      const res = await rawRequest(g.port, { method: 'PUT', path: `/${name}` });
      expect([res.status, errorCode(res)], name).toEqual([400, 'InvalidBucketName']);
    }
    const long = await rawRequest(g.port, {
      method: 'PUT',
      path: `/bad/${encodeURIComponent('é'.repeat(513))}`,
      body: 'x',
    });
    expect([long.status, errorCode(long)]).toEqual([400, 'KeyTooLongError']);
  });

  it('answers unknown methods and unimplemented subresources, and HEAD errors without a body', async () => {
    const post = await rawRequest(g.port, { method: 'POST', path: '/bad/keep' });
    expect([post.status, errorCode(post)]).toEqual([405, 'MethodNotAllowed']);
    const logging = await rawRequest(g.port, { method: 'GET', path: '/bad?logging' });
    expect([logging.status, errorCode(logging)]).toEqual([501, 'NotImplemented']);
    // In an unversioned bucket the object is the `null` version: naming another must not answer with it.
    const version = await rawRequest(g.port, { method: 'GET', path: '/bad/keep?versionId=3HL4kqCxf3vjVBH40Nrjfkd' });
    expect([version.status, errorCode(version)]).toEqual([404, 'NoSuchVersion']);
    const current = await rawRequest(g.port, { method: 'GET', path: '/bad/keep?versionId=null' });
    expect(current.status).toBe(200);
    const head = await rawRequest(g.port, { method: 'HEAD', path: '/bad/absent' });
    expect([head.status, head.body.length]).toEqual([404, 0]);
    expect(head.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    const get = await rawRequest(g.port, { method: 'GET', path: '/bad/absent%20key' });
    expect(get.body.toString()).toMatch(
      /<Error><Code>NoSuchKey<\/Code><Message>.+<\/Message><Resource>\/bad\/absent key<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>/,
    );
  });

  it('refuses SSE-C (customer-provided keys) over plain HTTP with 400 InvalidRequest, storing nothing, never ignoring the key', async () => {
    const key = Buffer.alloc(32, 7);
    const sseC = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': crypto.createHash('md5').update(key).digest('base64'),
    };
    const put = await rawRequest(g.port, { method: 'PUT', path: '/bad/sse-c', headers: sseC, body: 'secret' });
    expect([put.status, errorCode(put)]).toEqual([400, 'InvalidRequest']);
    expect((await rawRequest(g.port, { method: 'HEAD', path: '/bad/sse-c' })).status).toBe(404);
    const get = await rawRequest(g.port, { method: 'GET', path: '/bad/keep', headers: sseC });
    expect([get.status, errorCode(get)]).toEqual([400, 'InvalidRequest']);
    const copy = await rawRequest(g.port, {
      method: 'PUT',
      path: '/bad/copied',
      headers: {
        'x-amz-copy-source': '/bad/keep',
        'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256',
      },
    });
    expect([copy.status, errorCode(copy)]).toEqual([400, 'InvalidRequest']);
  });

  it('malformed authorization -> AuthorizationHeaderMalformed, unknown schemes -> InvalidRequest', async () => {
    const malformed = await rawRequest(g.port, {
      method: 'GET',
      path: '/bad',
      creds: null,
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-date': '20250101T000000Z' },
    });
    expect([malformed.status, errorCode(malformed)]).toEqual([400, 'AuthorizationHeaderMalformed']);
    const other = await rawRequest(g.port, {
      method: 'GET',
      path: '/bad',
      creds: null,
      headers: { authorization: 'Bearer token' },
    });
    expect([other.status, errorCode(other)]).toEqual([400, 'InvalidRequest']);
  });
});

describe('gateway: a client that stops reading a GET', () => {
  let g: GatewayHarness;
  gatewayForSuite(
    { chunkSize: 256 * 1024, buckets: ['abort'], objects: [['abort', 'big', content(8 * 1024 * 1024, 1)]] },
    (t) => ({ g } = t),
  );

  it('ends the read when the client goes away, and keeps serving', async () => {
    const headers = await signHeaders(g.port, { method: 'GET', path: '/abort/big', payload: sha256('') });
    const finished = g.nextRequest((r) => r.op === 'GetObject');
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: g.port, path: '/abort/big', headers, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.once('error', reject);
      req.end();
    });
    expect((await finished).code).toBe('ClientClosed');
    const again = await g.client().send(new GetObjectCommand({ Bucket: 'abort', Key: 'big', Range: 'bytes=0-9' }));
    expect(
      Buffer.from(await again.Body!.transformToByteArray()).equals(content(8 * 1024 * 1024, 1).subarray(0, 10)),
    ).toBe(true);
  });
});
