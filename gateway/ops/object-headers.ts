import type { Bucket, ObjectHeaders } from '../../src/meta/meta-store.js';
import { checksumHeaders } from './checksum-fields.js';
import type { ObjectManifest } from '../../src/meta/manifest.js';
import { header, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { checkHeader } from '../header-value.js';
import { expirationHeaders } from './lifecycle.js';

/** `x-amz-version-id` of a version that has an id: one a versioned bucket gave it, or the null version named. */
export function versionHeader(manifest: ObjectManifest, named?: string): Record<string, string> {
  return manifest.versionId !== undefined || named !== undefined
    ? { 'x-amz-version-id': manifest.versionId ?? 'null' }
    : {};
}

/**
 * The headers answering a write that created a version (PUT, POST, CopyObject,
 * CompleteMultipartUpload): its `x-amz-version-id` when versioning is Enabled (none when it is
 * Suspended, though the write is the `null` version: AWS's PutObject sample responses), and the
 * `x-amz-expiration` of the lifecycle rule that will expire it.
 */
export function createdVersionHeaders(
  bucket: Bucket | null,
  key: string,
  manifest: ObjectManifest,
): Record<string, string> {
  return {
    ...versionHeader(manifest),
    ...expirationHeaders(bucket, key, manifest),
  };
}

/** Standard headers S3 stores with an object and returns on GET/HEAD. */
const STORED = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

/** S3's limit on user metadata: names and values of x-amz-meta-* together. */
const MAX_USER_METADATA = 2048;

/**
 * Where the website endpoint redirects (301) a request for the object: kept with the object and
 * answered on GET/HEAD as its other stored headers. AWS's limits: a path on the same site or an
 * absolute http(s) URL, 2 KiB at most.
 */
export const WEBSITE_REDIRECT = 'x-amz-website-redirect-location';
const MAX_WEBSITE_REDIRECT = 2048;

/** The headers of a PUT, copy (REPLACE) or new multipart upload that the object keeps. */
export function objectHeaders(ctx: Context): ObjectHeaders {
  return headersToStore(Object.keys(ctx.req.headers).map((name) => [name, header(ctx, name)!]));
}

/** What an object keeps of a request's headers or of a POST form's fields (lower-case names). */
export function headersToStore(fields: Iterable<[string, string]>): ObjectHeaders {
  const metadata: Record<string, string> = {};
  let contentType: string | undefined;
  let userBytes = 0;
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-meta-') || STORED.includes(name) || name === 'content-type' || name === WEBSITE_REDIRECT)
      checkHeader(name, value);
    if (name.startsWith('x-amz-meta-')) {
      metadata[name] = value;
      userBytes += Buffer.byteLength(name) - 'x-amz-meta-'.length + Buffer.byteLength(value);
    } else if (name === WEBSITE_REDIRECT) {
      metadata[name] = websiteRedirect(value);
    } else if (STORED.includes(name)) {
      const kept = name === 'content-encoding' ? withoutAwsChunked(value) : value;
      if (kept) metadata[name] = kept;
    } else if (name === 'content-type') {
      contentType = value;
    }
  }
  if (userBytes > MAX_USER_METADATA)
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_USER_METADATA} bytes).`,
    );
  return { contentType, metadata };
}

function websiteRedirect(value: string): string {
  if (!/^(\/|https?:\/\/)/.test(value) || Buffer.byteLength(value) > MAX_WEBSITE_REDIRECT)
    throw new S3Error(
      'InvalidRedirectLocation',
      "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
    );
  return value;
}

/**
 * A copy's stored headers under `x-amz-metadata-directive: COPY`: the source's, but its website
 * redirect, which AWS does not copy: the request's, when it names one.
 */
export function copiedMetadata(ctx: Context, source: Record<string, string>): Record<string, string> {
  const rest = { ...source };
  delete rest[WEBSITE_REDIRECT];
  const requested = header(ctx, WEBSITE_REDIRECT);
  return requested === undefined ? rest : { ...rest, [WEBSITE_REDIRECT]: websiteRedirect(requested) };
}

/**
 * The headers a GET or HEAD answers with, response-* overrides applied. Checksums describe the
 * whole object or a part (`partNumber`), so a ranged read (`whole` false) does not send them.
 */
export function objectResponseHeaders(
  ctx: Context<'GetObject' | 'HeadObject'>,
  manifest: ObjectManifest,
  whole: boolean,
): Record<string, string | number> {
  const out: Record<string, string | number> = {
    etag: `"${manifest.etag}"`,
    'last-modified': new Date(manifest.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': manifest.contentType ?? 'binary/octet-stream',
  };
  for (const [name, value] of Object.entries(manifest.metadata)) out[name] = value;
  if (manifest.parts) out['x-amz-mp-parts-count'] = manifest.parts.length;
  const tagCount = Object.keys(manifest.tags ?? {}).length;
  if (tagCount > 0) out['x-amz-tagging-count'] = tagCount;
  const { partNumber } = ctx.route.endpoint;
  if ((whole || partNumber !== undefined) && header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    Object.assign(out, checksumHeaders(manifest, partNumber));
  }
  return { ...out, ...ctx.route.endpoint.overrides };
}

/** Strips quotes and a weak marker so ETags compare as S3 compares them. */
export function bareEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** aws-chunked describes this request's framing, not the object; other values stay as sent. */
function withoutAwsChunked(value: string): string {
  const codings = value.split(',').map((s) => s.trim());
  return codings.includes('aws-chunked') ? codings.filter((s) => s !== 'aws-chunked').join(', ') : value;
}
