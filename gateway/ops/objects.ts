import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { NULL_VERSION, type DeleteCondition } from '../../src/meta/meta-store.js';
import type { ObjectManifest } from '../../src/meta/manifest.js';
import type { Range } from '../../src/store/object-store.js';
import { bucketOf, contentMd5, header, keyOf, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error, toS3Error } from '../errors.js';
import type { ByteRange } from '../router.js';
import { el, malformed, text } from '../xml.js';
import { authorizeAccess } from '../auth/request-access.js';
import { versionAction } from '../auth/actions.js';
import { newObjectAcl } from './acl.js';
import { requestTags } from './tagging.js';
import { checkConditions, requestWriteCondition } from './conditions.js';
import {
  bareEtag,
  createdVersionHeaders,
  objectHeaders,
  objectResponseHeaders,
  versionHeader,
} from './object-headers.js';
import { bypassGovernance, lockFromHeaders, lockHeaders } from './object-lock.js';
import { expirationHeaders } from './lifecycle.js';
import { objectEncryptionHeaders } from './encryption.js';
import { readingKey, requestCustomerKey } from './sse-c.js';
import { writeKms } from './sse-kms.js';

/** S3's limit for a single PUT. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;
const MAX_DELETE_KEYS = 1000;

export async function putObject(ctx: Context<'PutObject'>): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const customer = requestCustomerKey(ctx);
  const headers = { ...objectHeaders(ctx), acl: await newObjectAcl(ctx, bucket, key), tags: requestTags(ctx) };
  const md5 = contentMd5(ctx);
  const condition = await requestWriteCondition(ctx);
  const target = await ctx.meta.getBucket(bucket);
  const lock = lockFromHeaders(ctx, target);
  const sseKms = await writeKms(ctx, (name) => header(ctx, name), target, customer !== undefined);
  const { body, length, checksums } = ctx.body();
  if (length === null) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (length > MAX_PUT_SIZE)
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  const result = await ctx.store.put(bucket, key, body, {
    ...headers,
    contentMd5: md5,
    checksums,
    condition,
    lock,
    customerKey: customer?.key,
    sseKms,
    bucketRecord: target,
  });
  sendEmpty(ctx, 200, {
    etag: `"${result.etag}"`,
    ...objectEncryptionHeaders(result.manifest, customer),
    ...checksumHeaders(checksums),
    ...createdVersionHeaders(target, key, result.manifest),
  });
}

function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(checksums).map(([algorithm, value]) => [`x-amz-checksum-${algorithm}`, value]),
  );
}

/** What a GET or HEAD sends: the manifest, the inclusive byte range, the status and headers. */
interface ReadPlan {
  manifest: ObjectManifest;
  start: number;
  end: number;
  status: 200 | 206;
  headers: Record<string, string | number>;
  /** The SSE-C key that reads it (none: not SSE-C). */
  customerKey?: Buffer;
}

async function planRead(ctx: Context<'GetObject' | 'HeadObject'>): Promise<ReadPlan> {
  const e = ctx.route.endpoint;
  const manifest = await ctx.store.head(bucketOf(ctx), keyOf(ctx), e.versionId);
  const customer = requestCustomerKey(ctx);
  const customerKey = readingKey(ctx.store, manifest.sseCustomer, customer);
  await ctx.store.requireKmsKey(manifest);
  checkConditions(
    {
      ifMatch: header(ctx, 'if-match'),
      ifNoneMatch: header(ctx, 'if-none-match'),
      ifModifiedSince: header(ctx, 'if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'if-unmodified-since'),
    },
    manifest,
    'NotModified',
  );
  const range =
    e.partNumber !== undefined ? partRange(e.partNumber, manifest) : e.range && byteRange(e.range, manifest.size);
  // The current version's bucket: a rule's expiry is the current version's, and in a bucket that
  // has had versioning the current null version is named `null`, as AWS does.
  const current = e.versionId === undefined ? await ctx.meta.getBucket(e.bucket) : null;
  const named = e.versionId ?? (current?.settings.versioning !== undefined ? NULL_VERSION : undefined);
  const headers = {
    ...objectResponseHeaders(ctx, manifest, !range),
    ...objectEncryptionHeaders(manifest, customer),
    ...versionHeader(manifest, named),
    ...lockHeaders(manifest),
    ...(current ? expirationHeaders(current, e.key, manifest) : {}),
  };
  if (!range) return { manifest, start: 0, end: manifest.size - 1, status: 200, headers, customerKey };
  headers['content-range'] = `bytes ${range.start}-${range.end}/${manifest.size}`;
  return { manifest, start: range.start, end: range.end, status: 206, headers, customerKey };
}

/** `partNumber=N`: the bytes of that part of a multipart object (part 1 of any other object). */
function partRange(n: number, manifest: ObjectManifest): Range {
  const parts = manifest.parts ?? [manifest.size];
  if (n > parts.length) throw new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416);
  const start = parts.slice(0, n - 1).reduce((sum, size) => sum + size, 0);
  return { start, end: start + parts[n - 1]! - 1 };
}

/** A Range header's range within an object of `size` bytes; 416 when it starts past the end. */
function byteRange(range: ByteRange, size: number): Range {
  const unsatisfiable = (): S3Error =>
    new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, { 'content-range': `bytes */${size}` });
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.first >= size) throw unsatisfiable();
  return { start: range.first, end: Math.min(range.last ?? size - 1, size - 1) };
}

export async function headObject(ctx: Context<'HeadObject'>): Promise<void> {
  const plan = await planRead(ctx);
  ctx.res.writeHead(plan.status, { ...plan.headers, 'content-length': plan.end - plan.start + 1 });
  ctx.res.end();
}

export async function getObject(ctx: Context<'GetObject'>): Promise<void> {
  const plan = await planRead(ctx);
  const chunks = ctx.store.readRange(plan.manifest, plan.start, plan.end + 1, plan.customerKey);
  // The first chunk is read before the status line: while nothing is sent, a failure to read it
  // is still an S3 error (503 when too few shards answer); after, only a cut connection says it.
  const first = await chunks.next();
  ctx.res.writeHead(plan.status, { ...plan.headers, 'content-length': plan.end - plan.start + 1 });
  await sendBody(ctx, startingWith(first, chunks));
}

/**
 * Writes a read to the response, each piece given back to the store once the socket took it
 * (its write callback). A client that goes away destroys the response: leaving the loop ends
 * the read (no more prefetch), and `finished` rejects with the premature close as pipeline did.
 */
async function sendBody(ctx: Context<'GetObject'>, body: AsyncGenerator<Buffer>): Promise<void> {
  const res = ctx.res;
  for await (const piece of body) {
    if (res.destroyed) break;
    const accepted = res.write(piece, (err) => {
      if (!err) ctx.store.recycle(piece);
    });
    if (!accepted) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end();
  await finished(res);
}

function drainedOrClosed(res: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The chunks of a read whose first step was already taken. */
export async function* startingWith(
  first: IteratorResult<Buffer>,
  rest: AsyncGenerator<Buffer>,
): AsyncGenerator<Buffer> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/**
 * A conditional delete as AWS documents it for general purpose buckets: `If-Match` (an ETag, or
 * `*` for any object) on the key's current version; no current object: 404 NoSuchKey; another
 * ETag: 412 (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html). The
 * modification-time and size conditions are for directory buckets only on AWS
 * (API_DeleteObject): refused rather than ignored, since ignoring one would turn a conditional
 * delete into an unconditional one.
 */
function deleteCondition(c: { ifMatch?: string; lastModified?: string; size?: string }): DeleteCondition | undefined {
  if (c.lastModified !== undefined || c.size !== undefined)
    throw new S3Error(
      'NotImplemented',
      'Conditional deletes by modification time or size are for directory buckets; use If-Match.',
    );
  if (c.ifMatch === undefined) return undefined;
  return c.ifMatch.trim() === '*' ? {} : { etag: bareEtag(c.ifMatch) };
}

/** DELETE: the object, or (versioned) a new delete marker, or the version named, for good. */
export async function deleteObject(ctx: Context<'DeleteObject'>): Promise<void> {
  const { versionId } = ctx.route.endpoint;
  const condition = deleteCondition({
    ifMatch: header(ctx, 'if-match'),
    lastModified: header(ctx, 'x-amz-if-match-last-modified-time'),
    size: header(ctx, 'x-amz-if-match-size'),
  });
  const result = await ctx.store.delete(bucketOf(ctx), keyOf(ctx), versionId, {
    bypassGovernance: await bypassGovernance(ctx),
    condition,
  });
  const headers: Record<string, string> = {};
  const id = result.versionId ?? versionId;
  if (id !== undefined) headers['x-amz-version-id'] = id;
  if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  sendEmpty(ctx, 204, headers);
}

export async function deleteObjects(ctx: Context<'DeleteObjects'>): Promise<void> {
  const bucket = bucketOf(ctx);
  const doc = await xmlBody(ctx, ['Object']);
  const request = doc['Delete'];
  if (typeof request !== 'object' || request === null) throw malformed();
  const objects = (request as Record<string, unknown>)['Object'];
  if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw malformed();
  const quiet =
    text(request as Record<string, unknown>, 'Quiet')
      ?.trim()
      .toLowerCase() === 'true';
  const targets = objects.map((o) => {
    const fields = typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {};
    const key = text(fields, 'Key');
    const versionId = text(fields, 'VersionId');
    if (key === undefined || key === '' || versionId === '') throw malformed();
    const condition = deleteCondition({
      ifMatch: text(fields, 'ETag'),
      lastModified: text(fields, 'LastModifiedTime'),
      size: text(fields, 'Size'),
    });
    return { key, versionId, condition };
  });
  if (!(await ctx.meta.getBucket(bucket))) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  const bypass = await bypassGovernance(ctx);
  let results = '';
  for (const { key, versionId, condition } of targets) {
    const named = versionId === undefined ? '' : el('VersionId', versionId);
    try {
      if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
      await authorizeAccess(
        ctx.meta,
        ctx.auth.identity,
        ctx.req,
        ctx.route.query,
        { action: versionAction('s3:DeleteObject', versionId), right: 'write', bucket, key },
        Date.now(),
      );
      const result = await ctx.store.delete(bucket, key, versionId, { bypassGovernance: bypass, condition });
      const marker = result.deleteMarker
        ? el('DeleteMarker', 'true') + el('DeleteMarkerVersionId', result.versionId ?? versionId ?? 'null')
        : '';
      if (!quiet) results += `<Deleted>${el('Key', key)}${named}${marker}</Deleted>`;
    } catch (e) {
      const error = toS3Error(e);
      results += `<Error>${el('Key', key)}${named}${el('Code', error.code)}${el('Message', error.message)}</Error>`;
    }
  }
  sendXml(ctx, 'DeleteResult', results);
}
