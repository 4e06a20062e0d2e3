import crypto from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  gatewayForSuite,
  rawRequest,
  ROOT,
  signHeaders,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

/**
 * The authentication headers of s3-tests' test_headers.py as they reach a server. SigV4 dated by
 * the `Date` header instead of x-amz-date, signed here from AWS's SigV4 specification with
 * node:crypto (the SDKs' signer cannot produce it: it always adds x-amz-date). AWS: "you must
 * provide either x-amz-date or date"; the string to sign carries that time in ISO 8601 basic form
 * whichever header dated it. botocore signs this way once a Date header is set.
 * (test_headers.py's empty/absent Authorization and missing Content-Length cases never reach a
 * server as such: botocore signs again after its `before-call` hook and sets Content-Length, so
 * the request sent is a valid one. Sent raw, as here, they are refused.)
 */

const hex = (data: string | Buffer): string => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, text: string): Buffer => crypto.createHmac('sha256', key).update(text).digest();

/** Headers of a request signed over exactly `headers` (lower-case names) plus host. */
function signDated(port: number, method: string, path: string, headers: Record<string, string>, time: Date) {
  const all: Record<string, string> = { host: `127.0.0.1:${port}`, ...headers };
  const names = Object.keys(all).sort();
  const longDate = time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const canonical = [
    method,
    path,
    '',
    ...names.map((n) => `${n}:${all[n]!.trim()}`),
    '',
    names.join(';'),
    all['x-amz-content-sha256']!,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', longDate, scope, hex(canonical)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${ROOT.secretAccessKey}`);
  for (const part of scope.split('/')) key = hmac(key, part);
  const signature = hmac(key, stringToSign).toString('hex');
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${ROOT.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

/** botocore's Date (email.utils.formatdate: `-0000` for UTC), the time to the second. */
function botoDate(time: Date): string {
  return time.toUTCString().replace('GMT', '-0000');
}

describe('gateway: authentication headers', () => {
  let g: GatewayHarness;
  gatewayForSuite({ buckets: ['dated'] }, (t) => ({ g } = t));

  it('accepts a PUT that signs `date` and sends no x-amz-date, and stores its bytes', async () => {
    const time = new Date(Math.floor(Date.now() / 1000) * 1000);
    const body = 'dated bytes';
    for (const date of [botoDate(time), time.toUTCString()]) {
      const headers = signDated(
        g.port,
        'PUT',
        '/dated/k',
        { date, 'x-amz-content-sha256': hex(body), 'content-length': String(body.length) },
        time,
      );
      const put = await rawRequest(g.port, { method: 'PUT', path: '/dated/k', headers, body, creds: null });
      expect([put.status, errorCode(put)], date).toEqual([200, undefined]);
    }
    const get = await rawRequest(g.port, { method: 'GET', path: '/dated/k', payload: hex('') });
    expect([get.status, get.body.toString()]).toEqual([200, body]);
  });

  it('still refuses a Date-dated request signed for another time, or too old', async () => {
    const time = new Date(Math.floor(Date.now() / 1000) * 1000);
    const payload = { 'x-amz-content-sha256': hex('') };
    // Signed for one second later than the Date it sends.
    const shifted = signDated(g.port, 'GET', '/dated', { ...payload, date: botoDate(time) }, new Date(+time + 1000));
    const wrong = await rawRequest(g.port, { method: 'GET', path: '/dated', headers: shifted, creds: null });
    expect([wrong.status, errorCode(wrong)]).toEqual([403, 'SignatureDoesNotMatch']);
    const old = new Date(+time - 20 * 60_000);
    const stale = signDated(g.port, 'GET', '/dated', { ...payload, date: botoDate(old) }, old);
    const late = await rawRequest(g.port, { method: 'GET', path: '/dated', headers: stale, creds: null });
    expect([late.status, errorCode(late)]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  it('a signed PUT without Content-Length is 411 MissingContentLength, nothing stored', async () => {
    const headers = await signHeaders(g.port, { method: 'PUT', path: '/dated/nolength', payload: hex('') });
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const answer = await exchange(g.port, `PUT /dated/nolength HTTP/1.1\r\n${head}connection: close\r\n\r\n`);
    expect([answer.split('\r\n')[0], /<Code>([^<]*)/.exec(answer)?.[1]]).toEqual([
      'HTTP/1.1 411 Length Required',
      'MissingContentLength',
    ]);
    const stored = await rawRequest(g.port, { method: 'HEAD', path: '/dated/nolength', payload: hex('') });
    expect(stored.status).toBe(404);
  });

  it('a PUT or CreateBucket with an empty or no Authorization is anonymous: 403 AccessDenied, nothing made', async () => {
    const cases: Array<Record<string, string>> = [{ authorization: '' }, {}];
    for (const headers of cases) {
      const put = await rawRequest(g.port, { method: 'PUT', path: '/dated/anon', headers, body: 'x', creds: null });
      expect([put.status, errorCode(put)]).toEqual([403, 'AccessDenied']);
      const create = await rawRequest(g.port, { method: 'PUT', path: '/anon-bucket', headers, creds: null });
      expect([create.status, errorCode(create)]).toEqual([403, 'AccessDenied']);
    }
    const object = await rawRequest(g.port, { method: 'HEAD', path: '/dated/anon', payload: hex('') });
    const bucket = await rawRequest(g.port, { method: 'HEAD', path: '/anon-bucket', payload: hex('') });
    expect([object.status, bucket.status]).toEqual([404, 404]);
  });
});

/** What the gateway answers to `text` sent as is on its own connection. */
async function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
