import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bucket, MetaStore } from '../src/meta/meta-store.js';
import type { ObjectStore } from '../src/store/object-store.js';
import type { Credentials } from './auth/credentials.js';
import type { VerifiedBody } from './auth/payload.js';
import type { Authenticated } from './auth/sigv4.js';
import { S3Error } from './errors.js';
import type { BucketOperation, ObjectOperation, Operation, Route } from './router.js';
import { readXml, xmlDocument } from './xml.js';

/** Everything an operation needs about its request; `route.endpoint` is the operation's, typed. */
export interface Context<out K extends Operation = Operation> {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route<K>;
  auth: Authenticated;
  /** The access keys (a POST form is signed by one named in its fields). */
  credentials: Credentials;
  store: ObjectStore;
  meta: MetaStore;
  region: string;
  /** The request body, verified as it streams (call once). */
  body(): VerifiedBody;
}

export function bucketOf(ctx: Context<BucketOperation>): string {
  return ctx.route.endpoint.bucket;
}

export function keyOf(ctx: Context<ObjectOperation>): string {
  return ctx.route.endpoint.key;
}

export async function requireBucket(ctx: Context<BucketOperation>): Promise<Bucket> {
  const bucket = await ctx.meta.getBucket(bucketOf(ctx));
  if (!bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  return bucket;
}

export function header(ctx: Context, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function sendXml(
  ctx: Context,
  root: string,
  inner: string,
  status = 200,
  headers: Record<string, string | number> = {},
): void {
  const body = Buffer.from(xmlDocument(root, inner));
  ctx.res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': body.length });
  ctx.res.end(body);
}

export function sendEmpty(ctx: Context, status = 200, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'content-length': 0 });
  ctx.res.end();
}

/** Content-MD5 as the store wants it (base64 of 16 bytes); InvalidDigest when it is not that. */
export function contentMd5(ctx: Context): string | undefined {
  const value = header(ctx, 'content-md5');
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value)
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
  return value;
}

/** The request's XML document, its Content-MD5 (when sent) verified. */
export async function xmlBody(ctx: Context, arrays: readonly string[] = []): Promise<Record<string, unknown>> {
  return readXml(ctx.body().body, arrays, contentMd5(ctx));
}
