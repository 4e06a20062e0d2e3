import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  gatewayForSuite,
  grantKey,
  rawRequest,
  ROOT,
  type Creds,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

/**
 * Signature Version 2, signed here as AWS documents it (not by the gateway's code), and the
 * request-header conformance of s3-tests' test_headers.py: Expect, empty Authorization, a body
 * longer than its Content-Length.
 */

const execFileAsync = promisify(execFile);

/** `Authorization: AWS key:signature` over AWS's StringToSign (x-amz-* headers, sub-resources). */
function signV2(
  creds: Creds,
  method: string,
  resource: string,
  headers: Record<string, string>,
  dateLine = headers['date'] ?? '',
): string {
  const amz = Object.entries(headers)
    .filter(([name]) => name.startsWith('x-amz-'))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
  const text = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${dateLine}\n${amz}${resource}`;
  const signature = crypto.createHmac('sha1', creds.secretAccessKey).update(text, 'utf8').digest('base64');
  return `AWS ${creds.accessKeyId}:${signature}`;
}

/** A SigV2-signed request; `resource` is what is signed (the path by default). */
async function v2Request(
  g: GatewayHarness,
  r: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    creds?: Creds;
    resource?: string;
  },
) {
  const headers: Record<string, string> = { date: new Date().toUTCString(), ...r.headers };
  headers.authorization = signV2(r.creds ?? ROOT, r.method, r.resource ?? r.path, headers);
  return rawRequest(g.port, { method: r.method, path: r.path, headers, body: r.body, creds: null });
}

/** The status lines a raw exchange got back, in order (a 100 Continue first, if any). */
async function rawExchange(port: number, head: string, body: string | null, waitMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (body !== null) setTimeout(() => socket.write(body), waitMs);
    });
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 10_000);
  });
}

describe('gateway: Signature Version 2', () => {
  let g: GatewayHarness;
  gatewayForSuite({ buckets: ['vtwo', 'other'], objects: [['vtwo', 'kept', 'kept bytes']] }, (t) => ({ g } = t));

  it('stores and reads an object signed with SigV2 (Content-MD5, Content-Type, x-amz-meta-*)', async () => {
    const body = 'signed with version 2';
    const headers = {
      'content-md5': crypto.createHash('md5').update(body).digest('base64'),
      'content-type': 'text/plain',
      'x-amz-meta-colour': 'blue',
      'x-amz-meta-b': 'two',
    };
    const put = await v2Request(g, { method: 'PUT', path: '/vtwo/a%20key', headers, body });
    expect(put.status).toBe(200);
    const get = await v2Request(g, { method: 'GET', path: '/vtwo/a%20key' });
    expect([get.status, get.body.toString(), get.headers['x-amz-meta-colour']]).toEqual([200, body, 'blue']);
    // A bucket is signed `/vtwo` or `/vtwo/` (botocore signs the second for path-style requests).
    for (const resource of ['/vtwo', '/vtwo/']) {
      const list = await v2Request(g, { method: 'GET', path: '/vtwo', resource });
      expect(list.status, resource).toBe(200);
      expect(list.body.toString()).toContain('<Key>a key</Key>');
    }
    const acl = await v2Request(g, { method: 'GET', path: '/vtwo/kept?acl' });
    expect(acl.status).toBe(200);
  });

  it('x-amz-date dates the request (an empty Date line, as AWS signs it)', async () => {
    const headers = { 'x-amz-date': new Date().toUTCString() };
    const authorization = signV2(ROOT, 'GET', '/vtwo/kept', headers, '');
    const res = await rawRequest(g.port, {
      method: 'GET',
      path: '/vtwo/kept',
      headers: { ...headers, authorization },
      creds: null,
    });
    expect([res.status, res.body.toString()]).toEqual([200, 'kept bytes']);
  });

  it('refuses what AWS refuses, with its codes', async () => {
    const refused = async (r: Parameters<typeof v2Request>[1]): Promise<[number, string | undefined]> => {
      const res = await v2Request(g, r);
      return [res.status, errorCode(res)];
    };
    const wrong = { accessKeyId: ROOT.accessKeyId, secretAccessKey: 'not-the-secret' };
    expect(await refused({ method: 'GET', path: '/vtwo/kept', creds: wrong })).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' };
    expect(await refused({ method: 'GET', path: '/vtwo/kept', creds: unknown })).toEqual([403, 'InvalidAccessKeyId']);
    // Signed for another object: the resource is part of the signature.
    expect(await refused({ method: 'GET', path: '/vtwo/kept', resource: '/vtwo/other' })).toEqual([
      403,
      'SignatureDoesNotMatch',
    ]);
    const dates: Array<[string, string]> = [
      ['Bad Date', 'AccessDenied'],
      ['', 'AccessDenied'],
      ['Tue, 07 Jul 1950 21:53:04 GMT', 'AccessDenied'],
      ['Tue, 07 Jul 2010 21:53:04 GMT', 'RequestTimeTooSkewed'],
      ['Tue, 07 Jul 9999 21:53:04 GMT', 'RequestTimeTooSkewed'],
    ];
    for (const [date, code] of dates) {
      expect(await refused({ method: 'GET', path: '/vtwo/kept', headers: { 'x-amz-date': date } }), date).toEqual([
        403,
        code,
      ]);
    }
    const noDate = await rawRequest(g.port, {
      method: 'GET',
      path: '/vtwo/kept',
      headers: { authorization: signV2(ROOT, 'GET', '/vtwo/kept', {}) },
      creds: null,
    });
    expect([noDate.status, errorCode(noDate)]).toEqual([403, 'AccessDenied']);
    const malformed = await rawRequest(g.port, {
      method: 'PUT',
      path: '/vtwo/x',
      headers: { authorization: 'AWS HAHAHA', date: new Date().toUTCString() },
      creds: null,
    });
    expect([malformed.status, errorCode(malformed)]).toEqual([400, 'InvalidArgument']);
  });

  it('authorises a SigV2 key as any other: only the buckets granted to it', async () => {
    const key = await grantKey(g, 'V2READER', { vtwo: { read: true } });
    expect((await v2Request(g, { method: 'GET', path: '/vtwo/kept', creds: key })).status).toBe(200);
    const put = await v2Request(g, { method: 'PUT', path: '/vtwo/new', body: 'x', creds: key });
    expect([put.status, errorCode(put)]).toEqual([403, 'AccessDenied']);
    const other = await v2Request(g, { method: 'GET', path: '/other', creds: key });
    expect([other.status, errorCode(other)]).toEqual([403, 'AccessDenied']);
  });

  it('a bucket policy may deny SigV2 (s3:signatureversion is AWS)', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::other/*',
          Condition: { StringEquals: { 's3:signatureversion': 'AWS' } },
        },
      ],
    });
    expect((await rawRequest(g.port, { method: 'PUT', path: '/other?policy', body: policy })).status).toBe(204);
    await rawRequest(g.port, { method: 'PUT', path: '/other/doc', body: 'policy-bound' });
    const v2 = await v2Request(g, { method: 'GET', path: '/other/doc' });
    expect([v2.status, errorCode(v2)]).toEqual([403, 'AccessDenied']);
    const v4 = await rawRequest(g.port, { method: 'GET', path: '/other/doc' });
    expect([v4.status, v4.body.toString()]).toEqual([200, 'policy-bound']);
  });

  it('serves presigned v2 URLs until they expire; a changed URL is refused', async () => {
    const presign = (path: string, resource: string, expires: number): string => {
      const text = `GET\n\n\n${expires}\n${resource}`;
      const signature = crypto.createHmac('sha1', ROOT.secretAccessKey).update(text).digest('base64');
      const sep = path.includes('?') ? '&' : '?';
      return `${path}${sep}AWSAccessKeyId=${ROOT.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
    };
    const later = Math.floor(Date.now() / 1000) + 300;
    const path = '/vtwo/kept?response-content-type=text%2Fx-kept';
    const ok = await rawRequest(g.port, {
      method: 'GET',
      path: presign(path, '/vtwo/kept?response-content-type=text/x-kept', later),
      creds: null,
    });
    expect([ok.status, ok.body.toString(), ok.headers['content-type']]).toEqual([200, 'kept bytes', 'text/x-kept']);
    const expired = await rawRequest(g.port, {
      method: 'GET',
      path: presign('/vtwo/kept', '/vtwo/kept', Math.floor(Date.now() / 1000) - 1),
      creds: null,
    });
    expect([expired.status, errorCode(expired)]).toEqual([403, 'AccessDenied']);
    const moved = presign('/vtwo/kept', '/vtwo/kept', later).replace('/vtwo/kept', '/other/kept');
    const tampered = await rawRequest(g.port, { method: 'GET', path: moved, creds: null });
    expect([tampered.status, errorCode(tampered)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('boto3 with signature_version="s3": put, get, list, presigned GET', async () => {
    const script = `
import boto3, sys, urllib.request
from botocore.config import Config
c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
                 aws_secret_access_key=sys.stdin.read(), region_name='us-east-1',
                 config=Config(signature_version='s3'))
c.put_object(Bucket='vtwo', Key='boto/é k', Body=b'from boto3', Metadata={'m': 'v'}, ContentType='text/x-boto')
got = c.get_object(Bucket='vtwo', Key='boto/é k')
assert got['Body'].read() == b'from boto3' and got['Metadata'] == {'m': 'v'}, got
assert [o['Key'] for o in c.list_objects(Bucket='vtwo', Prefix='boto/')['Contents']] == ['boto/é k']
url = c.generate_presigned_url('get_object', Params={'Bucket': 'vtwo', 'Key': 'boto/é k'}, ExpiresIn=60)
assert 'AWSAccessKeyId=' in url, url
print(urllib.request.urlopen(url).read().decode())
`;
    const run = execFileAsync('/usr/bin/python3', ['-c', script, `http://127.0.0.1:${g.port}`, ROOT.accessKeyId], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    run.child.stdin!.end(ROOT.secretAccessKey); // the secret stays off the command line
    expect((await run).stdout.trim()).toBe('from boto3');
  });
});

describe('gateway: request headers as S3 answers them', () => {
  let g: GatewayHarness;
  gatewayForSuite({ buckets: ['hdr'], objects: [['hdr', 'kept', 'kept bytes']] }, (t) => ({ g } = t));

  it('an empty Authorization header is anonymous: 403 AccessDenied, not 400', async () => {
    const res = await rawRequest(g.port, {
      method: 'PUT',
      path: '/hdr/x',
      headers: { authorization: '' },
      body: 'x',
      creds: null,
    });
    expect([res.status, errorCode(res)]).toEqual([403, 'AccessDenied']);
  });

  it('Expect: 100-continue on a refused request gets the error, never 100; an allowed one gets 100', async () => {
    const head = (path: string): string =>
      `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const refused = await rawExchange(g.port, head('/hdr/anon'), null);
    expect(refused.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(refused).not.toContain('100 Continue');

    const date = new Date().toUTCString();
    const authorization = signV2(ROOT, 'PUT', '/hdr/continued', { date });
    const signed = head('/hdr/continued').replace(
      '\r\n\r\n',
      `\r\nDate: ${date}\r\nAuthorization: ${authorization}\r\n\r\n`,
    );
    const allowed = await rawExchange(g.port, signed, 'abc');
    expect(allowed.split('\r\n')[0]).toBe('HTTP/1.1 100 Continue');
    expect(allowed).toContain('HTTP/1.1 200 OK');
    const get = await rawRequest(g.port, { method: 'GET', path: '/hdr/continued' });
    expect(get.body.toString()).toBe('abc');
  });

  it('an Expect S3 does not know (200, empty) is ignored, not answered 417', async () => {
    for (const expectation of ['200', '']) {
      const res = await rawRequest(g.port, {
        method: 'PUT',
        path: '/hdr/expect',
        headers: { expect: expectation },
        body: 'expected',
      });
      expect(res.status, expectation).toBe(200);
    }
  });

  it('a body longer than its Content-Length: that request answers BadDigest, not a bare 400', async () => {
    const date = new Date().toUTCString();
    const md5 = crypto.createHash('md5').update('bar').digest('base64');
    const authorization = signV2(ROOT, 'PUT', '/hdr/short', { date, 'content-md5': md5 });
    const head = `PUT /hdr/short HTTP/1.1\r\nHost: 127.0.0.1\r\nDate: ${date}\r\nContent-MD5: ${md5}\r\nAuthorization: ${authorization}\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`;
    const answer = await rawExchange(g.port, head, 'bar');
    const status = answer.split('\r\n').filter((l) => l.startsWith('HTTP/1.1') && !l.includes('100 Continue'))[0];
    expect([status, /<Code>([^<]*)<\/Code>/.exec(answer)?.[1]]).toEqual(['HTTP/1.1 400 Bad Request', 'BadDigest']);
    expect((await rawRequest(g.port, { method: 'HEAD', path: '/hdr/short' })).status).toBe(404);
  });

  it('Content-Encoding is kept as sent; only aws-chunked is taken out of it', async () => {
    for (const [sent, kept] of [
      ['deflate, gzip', 'deflate, gzip'],
      ['gzip, aws-chunked', 'gzip'],
      ['aws-chunked, gzip', 'gzip'],
    ]) {
      await rawRequest(g.port, { method: 'PUT', path: '/hdr/enc', headers: { 'content-encoding': sent! }, body: 'e' });
      const head = await rawRequest(g.port, { method: 'HEAD', path: '/hdr/enc' });
      expect(head.headers['content-encoding'], sent).toBe(kept);
    }
  });
});
