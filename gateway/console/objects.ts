import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectHeaders } from '../../src/meta/meta-store.js';
import { NodeSha256 } from '../../src/util/node-sha256.js';
import { S3Error } from '../errors.js';
import { checkHeader } from '../header-value.js';
import { writeKms } from '../ops/sse-kms.js';
import { allow, type ApiContext } from './context.js';
import { ConsoleError, param, readJson, sendJson, stringField } from './http.js';

const MAX_PAGE = 1000;
const VERSIONS_PAGE = 100;
const MAX_KEY_BYTES = 1024;
/** S3's limit for a presigned URL: 7 days. */
const MAX_SHARE_SECONDS = 604_800;

function objectKey(value: string): string {
  if (Buffer.byteLength(value) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 'Your key is too long');
  return value;
}

/** RFC 3986 encoding as SigV4 wants it: encodeURIComponent leaves !'()* alone. */
function uriEncode(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** GET /api/buckets/B/objects?prefix=&startAfter=&maxKeys=&flat=1: one page, folders by '/'. */
export async function listObjects(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'ListObjectsV2', bucket);
  if (!(await ctx.meta.getBucket(bucket))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  const q = ctx.url.searchParams;
  const maxKeys = Math.min(Math.max(Number(q.get('maxKeys') ?? 100) || 100, 1), MAX_PAGE);
  const page = await ctx.meta.listObjects({
    bucket,
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('flat') === '1' ? undefined : '/',
    startAfter: q.get('startAfter') || undefined,
    maxKeys,
  });
  sendJson(ctx.res, 200, {
    objects: page.entries,
    folders: page.commonPrefixes,
    nextStartAfter: page.isTruncated ? page.nextMarker : null,
  });
}

/** GET /api/buckets/B/object?key=K: what HEAD answers. */
export async function objectDetails(ctx: ApiContext, bucket: string): Promise<void> {
  const key = objectKey(param(ctx.url, 'key'));
  await allow(ctx, 'HeadObject', bucket, { key });
  const m = await ctx.store.head(bucket, key);
  sendJson(ctx.res, 200, {
    key,
    size: m.size,
    etag: m.etag,
    lastModified: m.lastModified,
    contentType: m.contentType ?? 'binary/octet-stream',
    metadata: m.metadata,
  });
}

/** The `versionId` parameter, when the call names a version. */
function versionParam(url: URL): string | undefined {
  return url.searchParams.get('versionId') || undefined;
}

/**
 * GET /api/buckets/B/versions?key=K&after=V: the key's versions and delete markers, newest
 * first, a page of 100 (`nextAfter` continues), as ListObjectVersions with the key as prefix:
 * the key's own versions sort before those of every longer key it prefixes.
 */
export async function objectVersions(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'ListObjectVersions', bucket);
  const key = objectKey(param(ctx.url, 'key'));
  if (!(await ctx.meta.getBucket(bucket))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  const after = ctx.url.searchParams.get('after') || undefined;
  const page = await ctx.meta.listVersions({
    bucket,
    prefix: key,
    keyMarker: after === undefined ? undefined : key,
    versionIdMarker: after,
    maxKeys: VERSIONS_PAGE,
  });
  const versions = page.versions.filter((v) => v.key === key);
  // Truncated within this key's versions: more of them follow.
  const more = page.isTruncated && versions.length === page.versions.length && versions.length > 0;
  sendJson(ctx.res, 200, {
    versions: versions.map((v) => ({
      versionId: v.versionId,
      lastModified: v.lastModified,
      isLatest: v.isLatest,
      deleteMarker: v.object === null,
      size: v.object?.size ?? 0,
      etag: v.object?.etag ?? null,
    })),
    nextAfter: more ? versions[versions.length - 1]!.versionId : null,
  });
}

/** GET /api/buckets/B/download?key=K[&versionId=V]: the object (or that version) as an attachment. */
export async function download(ctx: ApiContext, bucket: string): Promise<void> {
  const key = objectKey(param(ctx.url, 'key'));
  const versionId = versionParam(ctx.url);
  await allow(ctx, 'GetObject', bucket, { key, versionId });
  const manifest = await ctx.store.head(bucket, key, versionId);
  const name = key.slice(key.lastIndexOf('/') + 1) || 'download';
  ctx.res.writeHead(200, {
    'content-type': manifest.contentType ?? 'application/octet-stream',
    'content-length': manifest.size,
    etag: `"${manifest.etag}"`,
    // The filename* form carries any character; the page never interprets the body.
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    'x-content-type-options': 'nosniff',
  });
  await pipeline(Readable.from(ctx.store.readRange(manifest, 0, manifest.size)), ctx.res);
}

/**
 * DELETE /api/buckets/B/versions?key=K&versionId=V: that version (or delete marker) removed for
 * good, as DeleteObject with a versionId (s3:DeleteObjectVersion; object lock holds as in S3).
 */
export async function deleteVersion(ctx: ApiContext, bucket: string): Promise<void> {
  const key = objectKey(param(ctx.url, 'key'));
  const versionId = param(ctx.url, 'versionId');
  await allow(ctx, 'DeleteObject', bucket, { key, versionId });
  const result = await ctx.store.delete(bucket, key, versionId);
  sendJson(ctx.res, 200, { key, versionId, deleteMarker: result.deleteMarker });
}

/** POST /api/buckets/B/delete {keys}: as DeleteObject of each key, each checked as S3 checks it. */
export async function deleteObjects(ctx: ApiContext, bucket: string): Promise<void> {
  const keys = (await readJson(ctx.req)).keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.length > MAX_PAGE ||
    !keys.every((k) => typeof k === 'string' && k !== '')
  ) {
    throw new ConsoleError('BadRequest', 'keys must be a list of 1 to 1000 object keys');
  }
  const deleted: string[] = [];
  for (const key of keys as string[]) {
    await allow(ctx, 'DeleteObject', bucket, { key: objectKey(key) });
    await ctx.store.delete(bucket, key);
    deleted.push(key);
  }
  sendJson(ctx.res, 200, { deleted });
}

/** The Content-Type a browser sent for the file, checked as S3 checks stored headers. */
function contentType(ctx: ApiContext): string | undefined {
  const value = ctx.req.headers['content-type'];
  if (value === undefined || value === '') return undefined;
  checkHeader('content-type', value);
  return value;
}

/** What an upload stores besides its bytes: its Content-Type, and the bucket's default SSE-KMS as a PutObject gets it. */
async function uploadHeaders(ctx: ApiContext, bucket: string): Promise<ObjectHeaders> {
  const sseKms = await writeKms(ctx, () => undefined, await ctx.meta.getBucket(bucket), false);
  return { contentType: contentType(ctx), metadata: {}, ...(sseKms ? { sseKms } : {}) };
}

/** PUT /api/buckets/B/upload?key=K: the body streamed into the store, as PutObject. */
export async function upload(ctx: ApiContext, bucket: string): Promise<void> {
  const key = objectKey(param(ctx.url, 'key'));
  await allow(ctx, 'PutObject', bucket, { key });
  const result = await ctx.store.put(bucket, key, ctx.req, await uploadHeaders(ctx, bucket));
  sendJson(ctx.res, 200, { key, etag: result.etag, size: result.size });
}

/** POST /api/buckets/B/uploads?key=K: a multipart upload, as CreateMultipartUpload. */
export async function createUpload(ctx: ApiContext, bucket: string): Promise<void> {
  const key = objectKey(param(ctx.url, 'key'));
  await allow(ctx, 'CreateMultipartUpload', bucket, { key });
  const uploadId = await ctx.store.createUpload(bucket, key, await uploadHeaders(ctx, bucket));
  sendJson(ctx.res, 200, { uploadId });
}

/** The upload, which must belong to this bucket: a grant on one bucket writes into no other. */
async function ownUpload(ctx: ApiContext, bucket: string, uploadId: string): Promise<void> {
  const upload = await ctx.meta.getUpload(uploadId);
  if (!upload || upload.bucket !== bucket) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
}

/** PUT /api/buckets/B/uploads/ID?part=N: one part, as UploadPart. */
export async function uploadPart(ctx: ApiContext, bucket: string, uploadId: string): Promise<void> {
  await allow(ctx, 'UploadPart', bucket);
  const part = Number(param(ctx.url, 'part'));
  if (!Number.isInteger(part) || part < 1 || part > 10_000)
    throw new ConsoleError('BadRequest', 'part must be between 1 and 10000');
  await ownUpload(ctx, bucket, uploadId);
  const { etag, size } = await ctx.store.uploadPart(uploadId, part, ctx.req);
  sendJson(ctx.res, 200, { part, etag, size });
}

/** POST /api/buckets/B/uploads/ID/complete {parts: [{partNumber, etag}]}: as CompleteMultipartUpload. */
export async function completeUpload(ctx: ApiContext, bucket: string, uploadId: string): Promise<void> {
  await allow(ctx, 'CompleteMultipartUpload', bucket);
  await ownUpload(ctx, bucket, uploadId);
  const parts = (await readJson(ctx.req)).parts;
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > 10_000)
    throw new ConsoleError('BadRequest', 'parts must list 1 to 10000 parts');
  const list = parts.map((p: { partNumber?: unknown; etag?: unknown }) => {
    if (!Number.isInteger(p?.partNumber) || typeof p?.etag !== 'string')
      throw new ConsoleError('BadRequest', 'each part needs partNumber and etag');
    return { partNumber: p.partNumber as number, etag: p.etag };
  });
  const manifest = await ctx.store.completeUpload(uploadId, list);
  sendJson(ctx.res, 200, { etag: manifest.etag, size: manifest.size });
}

/** DELETE /api/buckets/B/uploads/ID: a cancelled upload, as AbortMultipartUpload. */
export async function abortUpload(ctx: ApiContext, bucket: string, uploadId: string): Promise<void> {
  await allow(ctx, 'AbortMultipartUpload', bucket);
  await ownUpload(ctx, bucket, uploadId);
  await ctx.store.abortUpload(uploadId);
  sendJson(ctx.res, 200, {});
}

/**
 * POST /api/buckets/B/share {key, expiresSeconds}: a presigned GET URL of the S3 endpoint,
 * signed with the logged-in key, so that the link carries that key's rights and no more.
 */
export async function share(ctx: ApiContext, bucket: string): Promise<void> {
  const body = await readJson(ctx.req);
  const key = objectKey(stringField(body, 'key'));
  await allow(ctx, 'GetObject', bucket, { key });
  const expires = body.expiresSeconds;
  if (!Number.isInteger(expires) || (expires as number) < 1 || (expires as number) > MAX_SHARE_SECONDS) {
    throw new ConsoleError('BadRequest', 'expiresSeconds must be between 1 and 604800 (7 days)');
  }
  await ctx.store.head(bucket, key);
  const known = await ctx.credentials.lookup(ctx.identity.accessKeyId);
  if (!known) throw new ConsoleError('Unauthenticated', 'this access key no longer exists');
  const signer = new SignatureV4({
    credentials: { accessKeyId: known.accessKeyId, secretAccessKey: known.secret },
    region: ctx.region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const endpoint = new URL(ctx.s3Endpoint);
  const path = `/${bucket}/${key.split('/').map(uriEncode).join('/')}`;
  const request = new HttpRequest({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: Number(endpoint.port) || undefined,
    path,
    headers: { host: endpoint.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  // As S3 presigners do: the body is not signed (x-amz-content-sha256 only names that mode).
  const signed = await signer.presign(request, {
    expiresIn: expires as number,
    unsignableHeaders: new Set(['x-amz-content-sha256']),
  });
  const query = new URLSearchParams(signed.query as Record<string, string>).toString().replace(/\+/g, '%20');
  sendJson(ctx.res, 200, { url: `${endpoint.origin}${path}?${query}`, expiresSeconds: expires });
}
