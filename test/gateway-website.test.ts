// Static website hosting: Put/Get/DeleteBucketWebsite on the S3 endpoint (AWS SDK) and the
// website endpoint (gateway/website/) over a real gateway, six zdb processes and anonymous HTTP.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketWebsiteCommand,
  GetBucketWebsiteCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
  UploadPartCommand,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSE_C_OVER_HTTP_ENV } from '../gateway/ops/sse-c.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import type { Gateway } from '../gateway/server.js';
import { createWebsite } from '../gateway/website/server.js';
import {
  errorCode,
  errorMessage,
  failure,
  gatewayForSuite,
  rawRequest,
  ROOT,
  type GatewayHarness,
  type RawResponse,
} from './helpers/gateway-harness.js';

const INDEX = '<html><body>home</body></html>';
const DOCS_INDEX = '<html><body>docs</body></html>';
const ERROR_PAGE = '<html><body>not here</body></html>';
const PUBLIC_READ = (bucket: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
  });

const SITE: WebsiteConfiguration = {
  IndexDocument: { Suffix: 'index.html' },
  ErrorDocument: { Key: 'error.html' },
  RoutingRules: [
    { Condition: { KeyPrefixEquals: 'old/' }, Redirect: { ReplaceKeyPrefixWith: 'docs/' } },
    {
      Condition: { KeyPrefixEquals: 'gone/', HttpErrorCodeReturnedEquals: '404' },
      Redirect: {
        HostName: 'archive.example',
        Protocol: 'https',
        ReplaceKeyWith: 'moved.html',
        HttpRedirectCode: '302',
      },
    },
    // Never reached for old/: the first rule that applies wins.
    { Condition: { KeyPrefixEquals: 'old/' }, Redirect: { HostName: 'wrong.example' } },
  ],
};

describe('gateway: static website hosting', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let website: Gateway;
  let port: number;
  const customerKey = crypto.randomBytes(32);

  beforeAll(() => {
    process.env[SSE_C_OVER_HTTP_ENV] = 'allow'; // the suite puts one SSE-C object over plain HTTP
  });
  afterAll(async () => {
    delete process.env[SSE_C_OVER_HTTP_ENV];
    await website?.close();
  });
  gatewayForSuite(
    {
      buckets: ['site', 'closed', 'elsewhere', 'plain'],
      objects: [
        ['site', 'docs/index.html', DOCS_INDEX],
        ['site', 'error.html', ERROR_PAGE],
        ['site', 'big.bin', Buffer.alloc(100_000, 7)],
        ['closed', 'secret.html', 'private'],
        ['closed', 'error.html', ERROR_PAGE],
        ['plain', 'index.html', INDEX],
      ],
      setup: async ({ g, s3 }) => {
        await s3.send(
          new PutObjectCommand({ Bucket: 'site', Key: 'index.html', Body: INDEX, ContentType: 'text/html' }),
        );
        await s3.send(
          new PutObjectCommand({ Bucket: 'site', Key: 'about', Body: 'x', WebsiteRedirectLocation: '/docs/' }),
        );
        await s3.send(
          new PutObjectCommand({
            Bucket: 'site',
            Key: 'sealed.html',
            Body: 'sealed',
            SSECustomerAlgorithm: 'AES256',
            SSECustomerKey: customerKey.toString('base64'),
            SSECustomerKeyMD5: crypto.createHash('md5').update(customerKey).digest('base64'),
          }),
        );
        // Public by ACL, not by policy: the same decision as the S3 endpoint's.
        await s3.send(new PutObjectCommand({ Bucket: 'closed', Key: 'open.html', Body: 'open', ACL: 'public-read' }));
        // Listable by everyone too, so a missing key is 404 (else 403), as on AWS.
        const listable = JSON.parse(PUBLIC_READ('site')) as { Statement: unknown[] };
        listable.Statement.push({
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::site',
        });
        await s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: JSON.stringify(listable) }));
        await s3.send(new PutBucketWebsiteCommand({ Bucket: 'site', WebsiteConfiguration: SITE }));
        await s3.send(new PutBucketWebsiteCommand({ Bucket: 'closed', WebsiteConfiguration: SITE }));
        await s3.send(
          new PutBucketWebsiteCommand({
            Bucket: 'elsewhere',
            WebsiteConfiguration: { RedirectAllRequestsTo: { HostName: 'www.example.org', Protocol: 'https' } },
          }),
        );
        website = createWebsite({
          store: g.h.store,
          meta: g.h.meta,
          masterKey: g.h.masterKey,
          rootAccessKey: ROOT.accessKeyId,
          rootSecretKey: ROOT.secretAccessKey,
          logger: pino({ level: 'silent' }),
          domain: 'web.test',
        });
        port = await website.listen(0);
      },
    },
    (t) => ({ g, s3 } = t),
  );

  /** An anonymous request to the website endpoint, the site named by its Host. */
  function visit(host: string, path: string, method = 'GET', headers: Record<string, string> = {}) {
    return rawRequest(port, { method, path, headers: { host, ...headers }, creds: null });
  }

  function htmlCode(res: RawResponse): string | undefined {
    return /<li>Code: ([^<]*)<\/li>/.exec(res.body.toString())?.[1];
  }

  it('puts, gets and deletes the configuration (s3:PutBucketWebsite ...), NoSuchWebsiteConfiguration when none', async () => {
    const got = await s3.send(new GetBucketWebsiteCommand({ Bucket: 'site' }));
    expect({
      IndexDocument: got.IndexDocument,
      ErrorDocument: got.ErrorDocument,
      RoutingRules: got.RoutingRules,
    }).toEqual(SITE);
    // In the bucket's encrypted metadata copies: `meta rebuild` restores it.
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-website.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      expect((await fresh.getBucket('site'))?.settings.website).toEqual(
        (await g.h.meta.getBucket('site'))?.settings.website,
      );
      expect((await fresh.getBucket('site'))?.settings.website?.routingRules).toHaveLength(3);
    } finally {
      await fresh.close();
    }
    const redirect = await s3.send(new GetBucketWebsiteCommand({ Bucket: 'elsewhere' }));
    expect(redirect.RedirectAllRequestsTo).toEqual({ HostName: 'www.example.org', Protocol: 'https' });
    expect(await failure(s3.send(new GetBucketWebsiteCommand({ Bucket: 'plain' })))).toBe('NoSuchWebsiteConfiguration');
    await s3.send(new PutBucketWebsiteCommand({ Bucket: 'plain', WebsiteConfiguration: SITE }));
    await s3.send(new DeleteBucketWebsiteCommand({ Bucket: 'plain' }));
    expect(await failure(s3.send(new GetBucketWebsiteCommand({ Bucket: 'plain' })))).toBe('NoSuchWebsiteConfiguration');
    // Anonymous: the bucket owner's configuration, unless a policy grants the action by AWS's name.
    const anonymous = await rawRequest(g.port, { method: 'GET', path: '/site?website', creds: null });
    expect([anonymous.status, errorCode(anonymous)]).toEqual([403, 'AccessDenied']);
    const put = await rawRequest(g.port, { method: 'PUT', path: '/plain?website', creds: null, body: '<x/>' });
    expect([put.status, errorCode(put)]).toEqual([403, 'AccessDenied']);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetBucketWebsite', Resource: 'arn:aws:s3:::closed' }],
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'closed', Policy: policy }));
    const allowed = await rawRequest(g.port, { method: 'GET', path: '/closed?website', creds: null });
    expect(allowed.status).toBe(200);
    expect(allowed.body.toString()).toContain('<Suffix>index.html</Suffix>');
  });

  it('refuses what AWS refuses: InvalidArgument for values, MalformedXML for the schema', async () => {
    const put = (inner: string) =>
      rawRequest(g.port, {
        method: 'PUT',
        path: '/plain?website',
        body: `<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</WebsiteConfiguration>`,
      });
    const index = '<IndexDocument><Suffix>index.html</Suffix></IndexDocument>';
    const cases: Array<[string, string, string?]> = [
      [
        '<IndexDocument><Suffix></Suffix></IndexDocument>',
        'InvalidArgument',
        'The IndexDocument Suffix is not well formed',
      ],
      ['<IndexDocument><Suffix>a/b.html</Suffix></IndexDocument>', 'InvalidArgument'],
      ['<ErrorDocument><Key>e.html</Key></ErrorDocument>', 'InvalidArgument'],
      [
        `<RedirectAllRequestsTo><HostName>x.example</HostName></RedirectAllRequestsTo>${index}`,
        'InvalidArgument',
        'RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.',
      ],
      ['<RedirectAllRequestsTo><Protocol>https</Protocol></RedirectAllRequestsTo>', 'MalformedXML'],
      [
        '<RedirectAllRequestsTo><HostName>x</HostName><Protocol>ftp</Protocol></RedirectAllRequestsTo>',
        'InvalidArgument',
      ],
      [
        `${index}<RoutingRules><RoutingRule><Redirect><ReplaceKeyPrefixWith>a</ReplaceKeyPrefixWith><ReplaceKeyWith>b</ReplaceKeyWith></Redirect></RoutingRule></RoutingRules>`,
        'InvalidArgument',
        'You can only define ReplaceKeyPrefix or ReplaceKey but not both.',
      ],
      [
        `${index}<RoutingRules><RoutingRule><Condition></Condition><Redirect><HostName>h</HostName></Redirect></RoutingRule></RoutingRules>`,
        'InvalidArgument',
      ],
      [
        `${index}<RoutingRules><RoutingRule><Redirect><HttpRedirectCode>200</HttpRedirectCode></Redirect></RoutingRule></RoutingRules>`,
        'InvalidArgument',
      ],
      [
        `${index}<RoutingRules><RoutingRule><Condition><HttpErrorCodeReturnedEquals>302</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>h</HostName></Redirect></RoutingRule></RoutingRules>`,
        'InvalidArgument',
      ],
      [`${index}<RoutingRules><RoutingRule></RoutingRule></RoutingRules>`, 'MalformedXML'],
      ['<IndexDocument>', 'MalformedXML'],
    ];
    for (const [inner, code, message] of cases) {
      const res = await put(inner);
      expect([inner, res.status, errorCode(res)]).toEqual([inner, 400, code]);
      if (message !== undefined) expect(errorMessage(res)).toBe(message);
    }
    expect(await failure(s3.send(new GetBucketWebsiteCommand({ Bucket: 'plain' })))).toBe('NoSuchWebsiteConfiguration');
  });

  it('serves the index document at / and in folders, the bytes and type stored', async () => {
    for (const host of ['site.web.test', 'site', 'SITE.web.test:8080']) {
      const home = await visit(host, '/');
      expect([host, home.status, home.body.toString()]).toEqual([host, 200, INDEX]);
      expect(home.headers['content-type']).toBe('text/html');
    }
    const docs = await visit('site.web.test', '/docs/');
    expect([docs.status, docs.body.toString()]).toEqual([200, DOCS_INDEX]);
    const head = await visit('site.web.test', '/docs/', 'HEAD');
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([
      200,
      0,
      String(DOCS_INDEX.length),
    ]);
    // The query string is not S3's: it names no subresource here.
    const query = await visit('site.web.test', '/?acl');
    expect(query.body.toString()).toBe(INDEX);
  });

  it('redirects a folder without its slash (302), and an object with a website redirect (301)', async () => {
    const folder = await visit('site.web.test', '/docs');
    expect([folder.status, folder.headers.location]).toEqual([302, '/docs/']);
    const about = await visit('site.web.test', '/about');
    expect([about.status, about.headers.location]).toEqual([301, '/docs/']);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'site', Key: 'about' }));
    expect(head.WebsiteRedirectLocation).toBe('/docs/');
    // A copy keeps its source's metadata but not its redirect, which is the request's (AWS).
    await s3.send(new CopyObjectCommand({ Bucket: 'site', Key: 'about-copy', CopySource: 'site/about' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'site', Key: 'about-copy' }))).WebsiteRedirectLocation).toBe(
      undefined,
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'site',
        Key: 'about-copy',
        CopySource: 'site/about-copy',
        WebsiteRedirectLocation: 'https://example.com/',
      }),
    );
    const copy = await visit('site.web.test', '/about-copy');
    expect([copy.status, copy.headers.location]).toEqual([301, 'https://example.com/']);
    // Kept through a multipart upload too.
    const upload = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'site', Key: 'big-move', WebsiteRedirectLocation: '/big.bin' }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'site', Key: 'big-move', UploadId: upload.UploadId, PartNumber: 1, Body: 'p' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'site',
        Key: 'big-move',
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const moved = await visit('site.web.test', '/big-move');
    expect([moved.status, moved.headers.location]).toEqual([301, '/big.bin']);
    const bad = await rawRequest(g.port, {
      method: 'PUT',
      path: '/site/bad',
      body: 'x',
      headers: { 'x-amz-website-redirect-location': 'example.com' },
    });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'InvalidRedirectLocation']);
  });

  it('serves the error document with the 404 status, HTML pages for other errors', async () => {
    const missing = await visit('site.web.test', '/nothing.html');
    expect([missing.status, missing.body.toString()]).toEqual([404, ERROR_PAGE]);
    const head = await visit('site.web.test', '/nothing.html', 'HEAD');
    expect([head.status, head.body.length]).toEqual([404, 0]);
    // Without an error document: AWS's HTML page.
    await s3.send(
      new PutBucketWebsiteCommand({
        Bucket: 'plain',
        WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } },
      }),
    );
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'plain', Policy: PUBLIC_READ('plain') }));
    const page = await visit('plain', '/nothing.html');
    expect([page.status, page.headers['content-type'], htmlCode(page)]).toEqual([
      403, // not listable by everyone: a missing key is 403, as the S3 endpoint answers
      'text/html; charset=utf-8',
      'AccessDenied',
    ]);
    const nobucket = await visit('absent.web.test', '/');
    expect([nobucket.status, htmlCode(nobucket)]).toEqual([404, 'NoSuchBucket']);
    await s3.send(new DeleteBucketWebsiteCommand({ Bucket: 'plain' }));
    const none = await visit('plain', '/');
    expect([none.status, htmlCode(none)]).toEqual([404, 'NoSuchWebsiteConfiguration']);
  });

  it('serves only what an anonymous GET may read: 403 as HTML for a private object', async () => {
    const secret = await visit('closed.web.test', '/secret.html');
    expect(secret.status).toBe(403);
    expect(htmlCode(secret)).toBe('AccessDenied');
    // The error document is private too: the page says so, as AWS's.
    expect(secret.body.toString()).toContain('An Error Occurred While Attempting to Retrieve a Custom Error Document');
    expect(secret.body.toString()).not.toContain('private');
    const open = await visit('closed.web.test', '/open.html');
    expect([open.status, open.body.toString()]).toEqual([200, 'open']);
    // PublicAccessBlock applies as on the S3 endpoint: public ACLs ignored, the object is private again.
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'closed',
        PublicAccessBlockConfiguration: { IgnorePublicAcls: true },
      }),
    );
    const ignored = await visit('closed.web.test', '/open.html');
    expect([ignored.status, htmlCode(ignored)]).toEqual([403, 'AccessDenied']);
    // An SSE-C object is never served: its key cannot come with the request.
    const sealed = await visit('site.web.test', '/sealed.html');
    expect(sealed.status).toBe(400);
    expect(sealed.body.toString()).not.toContain('sealed');
  });

  it('answers GET and HEAD only', async () => {
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const res = await visit('site.web.test', '/index.html', method);
      expect([method, res.status, htmlCode(res)]).toEqual([method, 405, 'MethodNotAllowed']);
    }
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'site', Key: 'index.html' }))).ContentLength).toBe(
      INDEX.length,
    );
  });

  it('applies routing rules in order: by key prefix before the lookup, by error code after it', async () => {
    const old = await visit('site.web.test', '/old/guide.html');
    expect([old.status, old.headers.location]).toEqual([301, 'http://site.web.test/docs/guide.html']);
    const gone = await visit('site.web.test', '/gone/page.html');
    expect([gone.status, gone.headers.location]).toEqual([302, 'https://archive.example/moved.html']);
    // The error-code rule needs the error: an object that exists is served.
    await s3.send(new PutObjectCommand({ Bucket: 'site', Key: 'gone/here.html', Body: 'here' }));
    const here = await visit('site.web.test', '/gone/here.html');
    expect([here.status, here.body.toString()]).toEqual([200, 'here']);
  });

  it('redirects every request with RedirectAllRequestsTo', async () => {
    const res = await visit('elsewhere.web.test', '/a/b%20c.html');
    expect([res.status, res.headers.location]).toEqual([301, 'https://www.example.org/a/b%20c.html']);
  });

  it('serves ranges and conditional GETs as the S3 endpoint', async () => {
    const range = await visit('site.web.test', '/big.bin', 'GET', { range: 'bytes=10-19' });
    expect([range.status, range.headers['content-range'], range.body]).toEqual([
      206,
      'bytes 10-19/100000',
      Buffer.alloc(10, 7),
    ]);
    const full = await visit('site.web.test', '/index.html');
    const etag = full.headers.etag!;
    const unchanged = await visit('site.web.test', '/index.html', 'GET', { 'if-none-match': etag });
    expect([unchanged.status, unchanged.body.length]).toEqual([304, 0]);
  });
});
