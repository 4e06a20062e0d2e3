// Bucket CORS (gateway/ops/cors.ts): the rules, preflights, and headers on responses.
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  errorMessage,
  failure,
  gatewayForSuite,
  rawRequest,
  type GatewayHarness,
  type RawResponse,
} from './helpers/gateway-harness.js';

describe('gateway: bucket CORS', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  const RULES = [
    {
      ID: 'app',
      AllowedOrigins: ['https://app.example', 'https://*.preview.example'],
      AllowedMethods: ['GET', 'PUT'],
      AllowedHeaders: ['content-type', 'x-amz-*'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 600,
    },
    { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
  ];
  gatewayForSuite({ buckets: ['web', 'closed'], objects: [['web', 'page.html', '<p>hi</p>']] }, (t) => ({ g, s3 } = t));

  function preflight(
    path: string,
    origin: string | null,
    method: string | null,
    headers?: string,
  ): Promise<RawResponse> {
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
    const put = (xml: string) =>
      rawRequest(g.port, {
        method: 'PUT',
        path: '/closed?cors',
        body: `<CORSConfiguration>${xml}</CORSConfiguration>`,
      });
    const rule = (inner: string) => put(`<CORSRule>${inner}</CORSRule>`);
    const cases: Array<[Promise<RawResponse>, string]> = [
      [put(''), 'MalformedXML'],
      [rule('<AllowedMethod>GET</AllowedMethod>'), 'MalformedXML'],
      [rule('<AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'],
      [
        rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds>'),
        'MalformedXML',
      ],
      [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'), 'InvalidRequest'],
      [rule('<AllowedOrigin>https://*.*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'), 'InvalidRequest'],
      [
        rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>'),
        'InvalidRequest',
      ],
      [put('<CORSRule><AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'],
    ];
    for (const [res, code] of cases) expect(errorCode(await res)).toBe(code);
    const unsupported = await rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>');
    expect([unsupported.status, errorMessage(unsupported)]).toEqual([
      400,
      'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
    ]);
    expect((await g.h.meta.getBucket('closed'))!.settings.cors).toBeUndefined();
  });

  it('answers preflights from the rules, without credentials', async () => {
    const ok = await preflight(
      '/web/some/key',
      'https://pr-7.preview.example',
      'PUT',
      'Content-Type, X-Amz-Meta-Owner',
    );
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
    expect([
      any.status,
      any.headers['access-control-allow-origin'],
      any.headers['access-control-allow-methods'],
    ]).toEqual([200, '*', 'GET, HEAD']);
    const refused: Array<[string, string, string | undefined]> = [
      ['https://elsewhere.example', 'PUT', undefined], // only the first rule allows PUT, not for this origin
      ['https://app.example', 'DELETE', undefined],
      ['https://app.example', 'PUT', 'authorization'],
      ['https://a.b.preview.example.evil', 'GET', 'content-type'],
    ];
    for (const [origin, method, headers] of refused) {
      const res = await preflight('/web/page.html', origin, method, headers);
      expect(
        [res.status, errorCode(res), errorMessage(res)?.startsWith('CORSResponse: This CORS request is not allowed.')],
        `${origin} ${method}`,
      ).toEqual([403, 'AccessForbidden', true]);
    }
    const closed = await preflight('/closed/x', 'https://app.example', 'GET');
    expect([closed.status, errorCode(closed)]).toEqual([403, 'AccessForbidden']);
    const noOrigin = await preflight('/web/x', null, 'GET');
    expect([noOrigin.status, errorCode(noOrigin)]).toEqual([400, 'BadRequest']);
    const noMethod = await preflight('/web/x', 'https://app.example', null);
    expect([noMethod.status, errorCode(noMethod)]).toEqual([400, 'BadRequest']);
  });

  it('adds CORS headers to responses (errors included) when the Origin and method match', async () => {
    const get = (origin: string, path = '/web/page.html') =>
      rawRequest(g.port, { method: 'GET', path, headers: { origin } });
    const app = await get('https://app.example');
    expect([
      app.status,
      app.headers['access-control-allow-origin'],
      app.headers['access-control-expose-headers'],
    ]).toEqual([200, 'https://app.example', 'ETag']);
    const other = await get('https://other.example');
    expect([other.headers['access-control-allow-origin'], other.headers['access-control-allow-credentials']]).toEqual([
      '*',
      undefined,
    ]);
    const missing = await get('https://app.example', '/web/absent');
    expect([missing.status, missing.headers['access-control-allow-origin']]).toEqual([404, 'https://app.example']);
    const del = await rawRequest(g.port, {
      method: 'DELETE',
      path: '/web/absent',
      headers: { origin: 'https://app.example' },
    });
    expect([del.status, del.headers['access-control-allow-origin']]).toEqual([204, undefined]); // DELETE is allowed by no rule
    const closed = await rawRequest(g.port, {
      method: 'GET',
      path: '/closed?list-type=2',
      headers: { origin: 'https://app.example' },
    });
    expect([closed.status, closed.headers['access-control-allow-origin']]).toEqual([200, undefined]);
  });
});
