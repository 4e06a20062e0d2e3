import { CreateBucketCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import http from 'node:http';
import { NodeSha256 } from '../../src/util/node-sha256.js';
import { S3Client } from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createGateway, type Gateway, type GatewayOptions, type RequestRecord } from '../../gateway/server.js';
import { sealSecret } from '../../src/pipeline/keys.js';
import { startStore, type Harness } from './store-harness.js';

export const ROOT = { accessKeyId: 'QSTORROOTKEY', secretAccessKey: 'root-secret-0123456789abcdefghijklmnopqrst' };

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface GatewayHarness {
  h: Harness;
  gateway: Gateway;
  port: number;
  endpoint: string;
  /** An SDK client (path-style) with the given credentials, root by default. */
  client(creds?: Creds): S3Client;
  /** Resolves with the record of the next finished request that `match` accepts. */
  nextRequest(match: (r: RequestRecord) => boolean): Promise<RequestRecord>;
  close(): Promise<void>;
}

/** A real gateway on a free port over a real store (6 zdb processes, sqlite, workers); see also gatewayForSuite. */
export async function startGateway(
  options: Partial<GatewayOptions> = {},
  chunkSize = 1024 * 1024,
): Promise<GatewayHarness> {
  const h = await startStore(6, { chunkSize });
  const waiters: Array<{ match: (r: RequestRecord) => boolean; resolve: (r: RequestRecord) => void }> = [];
  const gateway = createGateway({
    store: h.store,
    meta: h.meta,
    masterKey: h.masterKey,
    rootAccessKey: ROOT.accessKeyId,
    rootSecretKey: ROOT.secretAccessKey,
    region: 'us-east-1',
    logger: pino({ level: 'silent' }),
    onRequest: (record) => {
      const i = waiters.findIndex((w) => w.match(record));
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(record);
    },
    ...options,
  });
  const port = await gateway.listen(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    h,
    gateway,
    port,
    endpoint,
    client(creds = ROOT) {
      const c = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: creds,
        maxAttempts: 1,
      });
      clients.push(c);
      return c;
    },
    nextRequest(match) {
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    async close() {
      for (const c of clients) c.destroy();
      await gateway.close();
      await h.close();
    },
  };
}

/** A suite's gateway and its root SDK client. */
export interface GatewaySuite {
  g: GatewayHarness;
  s3: S3Client;
}

export interface GatewaySuiteOptions {
  /** createGateway options over the harness's. */
  gateway?: Partial<GatewayOptions>;
  /** The store's chunk size, 1 MiB by default. */
  chunkSize?: number;
  /** Buckets made before the tests. */
  buckets?: string[];
  /** Objects put before the tests, as [bucket, key, body]. */
  objects?: Array<[string, string, string | Buffer]>;
  /** Anything else to prepare, after the buckets and objects. */
  setup?: (t: GatewaySuite) => Promise<void>;
}

/**
 * The gateway of the enclosing `describe`: started with its buckets and objects before its
 * tests, closed after them. `started` hands it to the suite's variables:
 * `gatewayForSuite({ buckets: ['b'] }, (t) => ({ g, s3 } = t));`
 */
export function gatewayForSuite(o: GatewaySuiteOptions, started: (t: GatewaySuite) => void): void {
  let g: GatewayHarness | undefined;
  beforeAll(async () => {
    g = await startGateway(o.gateway, o.chunkSize);
    const t = { g, s3: g.client() };
    for (const Bucket of o.buckets ?? []) await t.s3.send(new CreateBucketCommand({ Bucket }));
    for (const [Bucket, Key, Body] of o.objects ?? []) await t.s3.send(new PutObjectCommand({ Bucket, Key, Body }));
    await o.setup?.(t);
    started(t);
  });
  afterAll(async () => {
    await g?.close();
  });
}

/** A second access key, granted `rights` on each listed bucket. */
export async function grantKey(
  g: GatewayHarness,
  id: string,
  grants: Record<string, { read?: boolean; write?: boolean }>,
): Promise<Creds> {
  const creds = { accessKeyId: id, secretAccessKey: `${id}-secret-0123456789abcdefghijkl` };
  await g.h.meta.createAccessKey(id, sealSecret(g.h.masterKey, id, creds.secretAccessKey), id);
  for (const [bucket, rights] of Object.entries(grants)) await g.h.meta.allow(id, bucket, rights);
  return creds;
}

export const md5 = (b: Buffer): Buffer => crypto.createHash('md5').update(b).digest();
/** An ETag as S3 sends it: the quoted hex MD5. */
export const quotedMd5 = (b: Buffer): string => `"${md5(b).toString('hex')}"`;

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** Path as sent, already encoded, with any query string. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Sign with SigV4 in the Authorization header (default root); null sends it unsigned. */
  creds?: Creds | null;
  /** x-amz-content-sha256 to sign; default the hex sha256 of the body. */
  payload?: string;
  signingDate?: Date;
}

/** SigV4 headers for a request as the SDKs compute them (client side). */
export async function signHeaders(port: number, r: RawRequest): Promise<Record<string, string>> {
  const url = new URL(`http://127.0.0.1:${port}${r.path}`);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...r.headers };
  if (r.payload !== undefined) headers['x-amz-content-sha256'] = r.payload;
  const signer = new SignatureV4({
    credentials: r.creds ?? ROOT,
    region: 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const request = new HttpRequest({
    method: r.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: url.pathname,
    query,
    headers,
    body: r.body,
  });
  const signed = await signer.sign(request, { signingDate: r.signingDate });
  return signed.headers;
}

/** One HTTP request over its own connection; signed unless `creds` is null. */
export async function rawRequest(port: number, r: RawRequest): Promise<RawResponse> {
  const headers = r.creds === null ? { ...r.headers } : await signHeaders(port, r);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  if (body && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)
    headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The <Code> of an S3 XML error body. */
export function errorCode(res: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(res.body.toString())?.[1];
}

const ENTITIES: Record<string, string> = { '&quot;': '"', '&apos;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/** The <Message> of an S3 XML error body, unescaped. */
export function errorMessage(res: RawResponse): string | undefined {
  return /<Message>([^<]*)<\/Message>/
    .exec(res.body.toString())?.[1]
    ?.replace(/&(quot|apos|lt|gt|amp);/g, (e) => ENTITIES[e]!);
}

export interface ChunkedOptions {
  chunkSize: number;
  /** Trailing checksum header, e.g. ['x-amz-checksum-crc32', base64]. */
  trailer?: [string, string];
  /** Sign the chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]); unsigned needs a trailer. */
  signed: boolean;
  /** Index of a chunk whose signature is sent wrong. */
  badSignatureAt?: number;
}

/**
 * A PUT with an aws-chunked body built here, independently of the gateway's decoder: the
 * chunk and trailer signatures are computed from the SigV4 spec with node:crypto.
 */
export async function chunkedPut(port: number, path: string, data: Buffer, o: ChunkedOptions): Promise<RawResponse> {
  const mode = o.signed
    ? `STREAMING-AWS4-HMAC-SHA256-PAYLOAD${o.trailer ? '-TRAILER' : ''}`
    : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
  const date = new Date();
  const headers: Record<string, string> = {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
  };
  if (o.trailer) headers['x-amz-trailer'] = o.trailer[0];
  const signed = await signHeaders(port, { method: 'PUT', path, headers, payload: mode, signingDate: date });
  const seed = /Signature=([0-9a-f]+)/.exec(signed.authorization!)![1]!;
  const longDate = signed['x-amz-date']!;
  const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  let key: Buffer = Buffer.from(`AWS4${ROOT.secretAccessKey}`);
  for (const part of [longDate.slice(0, 8), 'us-east-1', 's3', 'aws4_request'])
    key = crypto.createHmac('sha256', key).update(part).digest();
  const hex = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');
  const empty = hex('');
  let previous = seed;
  const parts: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += o.chunkSize) pieces.push(data.subarray(i, i + o.chunkSize));
  pieces.push(Buffer.alloc(0));
  pieces.forEach((piece, i) => {
    let ext = '';
    if (o.signed) {
      let sig = crypto
        .createHmac('sha256', key)
        .update(['AWS4-HMAC-SHA256-PAYLOAD', longDate, scope, previous, empty, hex(piece)].join('\n'))
        .digest('hex');
      previous = sig;
      if (i === o.badSignatureAt) sig = sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      ext = `;chunk-signature=${sig}`;
    }
    parts.push(Buffer.from(`${piece.length.toString(16)}${ext}\r\n`), piece);
    if (piece.length > 0) parts.push(Buffer.from('\r\n'));
  });
  if (o.trailer) {
    const line = `${o.trailer[0]}:${o.trailer[1]}`;
    parts.push(Buffer.from(`${line}\r\n`));
    if (o.signed) {
      const sig = crypto
        .createHmac('sha256', key)
        .update(['AWS4-HMAC-SHA256-TRAILER', longDate, scope, previous, hex(`${line}\n`)].join('\n'))
        .digest('hex');
      parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  parts.push(Buffer.from('\r\n'));
  return rawRequest(port, { method: 'PUT', path, headers: signed, body: Buffer.concat(parts), creds: null });
}

/** The S3 error code an SDK call fails with (it must fail). */
export async function failure(p: Promise<unknown>): Promise<string> {
  return (await failureWithStatus(p)).code;
}

/** The S3 error code and HTTP status an SDK call fails with (it must fail). */
export async function failureWithStatus(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { code: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('the call succeeded');
}
