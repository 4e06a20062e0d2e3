/**
 * Property-based fuzzing of the gateway's parsers: the aws-chunked decoder, SigV4, the XML
 * reader, the router and the stored-header filter. Random and mutated inputs must end in a
 * value or an S3Error (never another exception, never a hang), reading no more than the bounds.
 * Pure and fast: no server, no store.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAwsChunked } from '../../gateway/auth/aws-chunked.js';
import { Credentials } from '../../gateway/auth/credentials.js';
import { signingKey, type SigningChain } from '../../gateway/auth/signing.js';
import { authenticate } from '../../gateway/auth/sigv4.js';
import { S3Error } from '../../gateway/errors.js';
import { headersToStore } from '../../gateway/ops/object-headers.js';
import { parseWebsite } from '../../gateway/ops/website.js';
import { route } from '../../gateway/router.js';
import { child, MAX_XML_BODY, readXml } from '../../gateway/xml.js';
import { SqliteMetaStore } from '../../src/meta/sqlite/sqlite-meta-store.js';
import { NodeSha256 } from '../../src/util/node-sha256.js';

const RUNS = { numRuns: 300, timeout: 2000 };

/** Runs `f`; its outcome must be a value or an S3Error. Returns the error (or null). */
async function outcome(f: () => Promise<unknown>): Promise<S3Error | null> {
  try {
    await f();
    return null;
  } catch (e) {
    if (e instanceof S3Error) return e;
    throw e;
  }
}

async function drain(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/** `bytes` cut at the given points, as a socket would deliver them. */
async function* pieces(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
    if (cut > at) yield bytes.subarray(at, cut);
    at = Math.max(at, cut);
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

/**
 * An endless body (the pattern repeated) that counts what was pulled from it. Past 4 MiB it
 * fails the test: a reader that has not stopped by then never would.
 */
function endless(pattern: string): { body: AsyncGenerator<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const piece = Buffer.from(pattern.repeat(Math.ceil(1024 / pattern.length)));
  async function* body(): AsyncGenerator<Uint8Array> {
    while (true) {
      if (pulled > 4 * 1024 * 1024) throw new Error(`unbounded read of "${pattern}"`);
      pulled += piece.length;
      yield piece;
    }
  }
  return { body: body(), pulled: () => pulled };
}

/** Random edits of a valid input: flips, deletions, insertions of `tokens`, truncation. */
function mutated(valid: fc.Arbitrary<string>, tokens: string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
    fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 8 })),
    fc.tuple(fc.constant('insert' as const), fc.nat(), fc.constantFrom(...tokens)),
    fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(0)),
  );
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let s = text;
    for (const [kind, at, arg] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (kind === 'flip') s = s.slice(0, i) + String.fromCharCode(arg as number) + s.slice(i + 1);
      else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + (arg as number));
      else if (kind === 'insert') s = s.slice(0, i) + (arg as string) + s.slice(i);
      else s = s.slice(0, i);
    }
    return s;
  });
}

describe('fuzz: aws-chunked decoder', () => {
  const chain: SigningChain = {
    key: signingKey('secret', '20260101', 'us-east-1', 's3'),
    longDate: '20260101T000000Z',
    scope: '20260101/us-east-1/s3/aws4_request',
    seed: 'a'.repeat(64),
  };
  const CHUNKED_TOKENS = [
    '\r\n',
    '0\r\n',
    ';chunk-signature=',
    'ffffffff',
    '\r\n\r\n',
    'x-amz-checksum-crc32:AAAAAA==\r\n',
    ':',
    ';',
  ];
  /** A valid unsigned encoding of some chunks and maybe a trailer. */
  const encoding = fc
    .tuple(fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 }), fc.boolean())
    .map(([chunks, trailer]) => {
      const body = chunks
        .filter((c) => c !== '')
        .map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`)
        .join('');
      return `${body}0\r\n${trailer ? 'x-amz-checksum-crc32:AAAAAA==\r\n' : ''}\r\n`;
    });

  it('decodes what it was given, and random or mutated bodies end in an S3Error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(encoding, mutated(encoding, CHUNKED_TOKENS), fc.string({ unit: 'binary', maxLength: 300 })),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (text, cuts, signed) => {
          const bytes = Buffer.from(text, 'latin1');
          let out: Buffer = Buffer.alloc(0);
          const error = await outcome(async () => {
            out = await drain(decodeAwsChunked(pieces(bytes, cuts), signed ? { signing: chain } : {}));
          });
          if (error === null) expect(out.length).toBeLessThanOrEqual(bytes.length);
        },
      ),
      RUNS,
    );
  });

  it('an endless line, chunk or trailer section is refused after bounded reading', async () => {
    // (A chunk's data is streamed on as it comes, never held: the caller's length check ends it.)
    for (const pattern of ['a', '1;chunk-signature=', '0\r\nx-amz-meta-a:b\r\n', 'x-a:b\r\n']) {
      // The last pattern is an endless trailer section after the last chunk.
      const source = endless(pattern);
      const body = pattern.startsWith('x-a') ? prefixed('0\r\n', source.body) : source.body;
      const error = await outcome(() => drain(decodeAwsChunked(body)));
      expect(error, pattern).toBeInstanceOf(S3Error);
      expect(source.pulled(), pattern).toBeLessThan(64 * 1024);
    }
  });
});

async function* prefixed(first: string, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield Buffer.from(first);
  yield* rest;
}

describe('fuzz: SigV4 request authentication', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-fuzz-'));
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  const ROOT = { accessKeyId: 'FUZZROOT', secretAccessKey: 'fuzz-root-secret' };
  const credentials = new Credentials(meta, crypto.randomBytes(32), ROOT.accessKeyId, ROOT.secretAccessKey);
  const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
  afterAll(async () => {
    await meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A request signed as the SDKs sign it: method, path and headers. */
  async function signed(method: string, url: string): Promise<IncomingHttpHeaders> {
    const u = new URL(`http://localhost${url}`);
    const signer = new SignatureV4({
      credentials: ROOT,
      region: 'us-east-1',
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
    });
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const request = new HttpRequest({
      method,
      protocol: 'http:',
      hostname: 'localhost',
      path: u.pathname,
      query,
      headers: { host: 'localhost', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const out = await signer.sign(request, { signingDate: new Date(NOW) });
    return Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  }

  async function check(method: string, url: string, headers: IncomingHttpHeaders): Promise<S3Error | null> {
    return outcome(async () => {
      const r = route(method, url, headers, ['localhost']);
      const { identity } = await authenticate({ method, headers } as IncomingMessage, r, {
        credentials,
        region: 'us-east-1',
        now: NOW,
      });
      // An emptied Authorization header makes the request anonymous: it carries no key, and
      // authorisation refuses it unless the bucket is public.
      if (identity.anonymous) throw new S3Error('AccessDenied', 'anonymous');
    });
  }

  const PATHS = ['/b/k', '/b', '/b/a%20b?list-type=2&prefix=x', '/b/k?uploadId=1&partNumber=2'];
  const AUTH_TOKENS = [
    'Credential=',
    'SignedHeaders=',
    'Signature=',
    ',',
    ';',
    '/',
    '=',
    'host',
    'AWS4-HMAC-SHA256 ',
    ' ',
    'aws4_request',
  ];

  it('a signed request passes, and a mutated Authorization or date passes only if its signature and date are intact', async () => {
    const valid = await signed('GET', '/b/k');
    expect(await check('GET', '/b/k', valid)).toBeNull();
    const signature = /Signature=[0-9a-f]{64}/.exec(valid.authorization as string)![0];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PATHS),
        mutated(fc.constant(valid.authorization as string), AUTH_TOKENS),
        fc.option(mutated(fc.constant(valid['x-amz-date'] as string), ['Z', 'T', '9', '0']), { nil: undefined }),
        async (url, authorization, date) => {
          const headers = {
            ...(await signed('GET', url)),
            authorization,
            ...(date === undefined ? {} : { 'x-amz-date': date }),
          };
          const error = await check('GET', url, headers);
          if (error === null) {
            // Only edits the parser ignores (spaces, empty parts) leave a request that passes.
            expect([url, authorization.includes(signature), date ?? valid['x-amz-date']]).toEqual([
              '/b/k',
              true,
              valid['x-amz-date'],
            ]);
          }
        },
      ),
      { ...RUNS, numRuns: 150 },
    );
  });

  it('random presigned queries and headers end in an S3Error', async () => {
    const param = fc.constantFrom(
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-SignedHeaders',
      'X-Amz-Signature',
      'X-Amz-Content-Sha256',
      'AWSAccessKeyId',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        'AWS4-HMAC-SHA256',
        'FUZZROOT/20260102/us-east-1/s3/aws4_request',
        '20260102T030405Z',
        '3600',
        'host',
        '0'.repeat(64),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(param, value), { maxLength: 8 }),
        fc.dictionary(
          fc.constantFrom('authorization', 'x-amz-date', 'x-amz-content-sha256', 'host'),
          fc.string({ maxLength: 60 }),
        ),
        async (params, headers) => {
          const query = params.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join('&');
          await check('PUT', `/b/k?${query}`, headers);
        },
      ),
      RUNS,
    );
  });
});

describe('fuzz: XML request bodies', () => {
  const XML_TOKENS = [
    '<!DOCTYPE d [<!ENTITY e "x">]>',
    '&e;',
    '<![CDATA[',
    ']]>',
    '<!--',
    '-->',
    '<Object>',
    '</Object>',
    '<Key>',
    '</Key>',
    '&#0;',
    '&#xD;',
    '&amp;',
    '<?x ?>',
    '<a b="c">',
    '/>',
    '<',
    '>',
  ];
  const doc = fc
    .array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 5 })
    .map(
      (keys) =>
        `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${keys.map((k) => `<Object><Key>${k.replace(/[&<>]/g, '')}</Key></Object>`).join('')}</Delete>`,
    );
  const body = (text: string): AsyncGenerator<Uint8Array> => pieces(Buffer.from(text), [7, 100]);

  it('random and mutated documents parse or end in MalformedXML; a DTD is never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(doc, mutated(doc, XML_TOKENS), fc.string({ maxLength: 200 })), async (text) => {
        const error = await outcome(() => readXml(body(text), ['Object']));
        if (error) expect(error.code).toBe('MalformedXML');
        if (/<!DOCTYPE|<!ENTITY/.test(text) && !text.includes('<![CDATA[') && !text.includes('<!--'))
          expect(error?.code).toBe('MalformedXML');
      }),
      RUNS,
    );
  });

  it('nesting is bounded, and an endless body is refused after the size limit', async () => {
    for (const depth of [40, 1000, 100_000]) {
      const error = await outcome(() => readXml(body(`${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`)));
      expect(error?.code, String(depth)).toBe('MalformedXML');
    }
    expect(await outcome(() => readXml(body(`${'<a>'.repeat(30)}${'</a>'.repeat(30)}`)))).toBeNull();
    const source = endless('<a>');
    const error = await outcome(() => readXml(source.body));
    expect(error?.code).toBe('MaxMessageLengthExceeded');
    expect(source.pulled()).toBeLessThanOrEqual(MAX_XML_BODY + 2048);
  });
});

describe('fuzz: router', () => {
  it('any method, URL and Host header gives a route or an S3Error', () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '%',
        '%zz',
        '%2F',
        '%00',
        '%C3%A9',
        '..',
        '?',
        '&',
        '=',
        'uploads',
        'uploadId=1',
        'partNumber=',
        'delete',
        'cors',
        'acl',
        'list-type=2',
      ),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
          fc.string({ maxLength: 8 }),
        ),
        fc
          .array(fc.tuple(segment, fc.constantFrom('/', '?', '&', '=')), { maxLength: 6 })
          .map((parts) => parts.flat().join('')),
        fc.option(
          fc.oneof(
            fc.string({ maxLength: 20 }),
            fc.constantFrom('b.localhost', 'localhost:9000', 'a.b.localhost', '.localhost'),
          ),
          { nil: undefined },
        ),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (method, url, host, copySource) => {
          const headers: IncomingHttpHeaders = { host, 'x-amz-copy-source': copySource };
          for (const u of [url, `/${url}`]) {
            try {
              const r = route(method, u, headers, ['localhost']);
              expect(typeof r.endpoint.kind).toBe('string');
            } catch (e) {
              if (!(e instanceof S3Error)) throw e;
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: headers an object keeps', () => {
  it('whatever a request or form carries, what is stored can be sent back as a header', () => {
    const name = fc.oneof(
      fc.constantFrom(
        'content-type',
        'cache-control',
        'content-disposition',
        'content-encoding',
        'expires',
        'x-amz-website-redirect-location',
      ),
      fc.string({ maxLength: 10 }).map((s) => `x-amz-meta-${s.toLowerCase()}`),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ unit: 'binary', maxLength: 20 })), { maxLength: 6 }),
        (fields) => {
          let stored: ReturnType<typeof headersToStore>;
          try {
            stored = headersToStore(fields);
          } catch (e) {
            if (
              !(e instanceof S3Error) ||
              !['InvalidArgument', 'MetadataTooLarge', 'InvalidRedirectLocation'].includes(e.code)
            )
              throw e;
            return;
          }
          for (const [n, v] of [
            ...Object.entries(stored.metadata),
            ['content-type', stored.contentType ?? 'x'] as const,
          ]) {
            // What node:http would refuse to send (the same checks as its validateHeader*).
            expect(n).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/i);
            expect(v).toMatch(/^[\t\x20-\x7e\x80-\xff]*$/);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: website configurations', () => {
  const TOKENS = [
    '<IndexDocument>',
    '</IndexDocument>',
    '<Suffix>',
    '</Suffix>',
    '<RoutingRules>',
    '<RoutingRule>',
    '</RoutingRule>',
    '<Condition>',
    '</Condition>',
    '<Redirect>',
    '</Redirect>',
    '<HttpRedirectCode>',
    '<RedirectAllRequestsTo>',
    '<HostName>',
    '</HostName>',
    '/',
    '',
  ];
  const rule = fc
    .tuple(fc.string({ maxLength: 6 }), fc.constantFrom('301', '302', '404', '200', 'x'))
    .map(
      ([prefix, code]) =>
        `<RoutingRule><Condition><KeyPrefixEquals>${prefix.replace(/[&<>]/g, '')}</KeyPrefixEquals></Condition><Redirect><HttpRedirectCode>${code}</HttpRedirectCode></Redirect></RoutingRule>`,
    );
  const doc = fc
    .array(rule, { maxLength: 3 })
    .map(
      (rules) =>
        `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument>${rules.length ? `<RoutingRules>${rules.join('')}</RoutingRules>` : ''}</WebsiteConfiguration>`,
    );

  it('random and mutated documents give a configuration or MalformedXML / InvalidArgument', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(doc, mutated(doc, TOKENS)), async (text) => {
        const error = await outcome(async () => {
          const parsed = await readXml(pieces(Buffer.from(text), [50]), ['RoutingRule']);
          const website = parseWebsite(child(parsed, 'WebsiteConfiguration'));
          expect(website.indexSuffix ?? website.redirectAll?.hostName).toBeTruthy();
        });
        if (error) expect(['MalformedXML', 'InvalidArgument']).toContain(error.code);
      }),
      RUNS,
    );
  });
});
