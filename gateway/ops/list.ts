import type { ListObjectsResult, ObjectEntry } from '../../src/meta/meta-store.js';
import { requireBucket, sendXml, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import type { EncodingType, Endpoint } from '../router.js';
import { el, isoTime } from '../xml.js';
import { bucketOwnerOf } from './acl.js';

type Owner = NonNullable<ObjectEntry['owner']>;

/**
 * encoding-type=url: keys as S3 encodes them, percent-encoding all but unreserved characters and
 * `/`, a space as %20 (decoded right by both unquote and unquote_plus).
 */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** How a listing spells keys and prefixes: as they are, or url-encoded on request. */
export function keyEncoder(encodingType: EncodingType | undefined): (text: string) => string {
  return encodingType === 'url' ? urlEncodeKey : (text) => text;
}

function ownerXml(owner: Owner): string {
  return `<Owner>${el('ID', owner.id)}${el('DisplayName', owner.displayName)}</Owner>`;
}

/**
 * Contents and CommonPrefixes, built by hand: a 1000-key page is the hot path of listing. With
 * `bucketOwner`, each object names its owner (the bucket's for an object without an ACL).
 */
function entriesXml(page: ListObjectsResult, encode: (text: string) => string, bucketOwner: Owner | null): string {
  let xml = '';
  const bucketOwnerXml = bucketOwner ? ownerXml(bucketOwner) : '';
  for (const e of page.entries) {
    const owner = bucketOwner ? (e.owner ? ownerXml(e.owner) : bucketOwnerXml) : '';
    xml +=
      `<Contents>${el('Key', encode(e.key))}${el('LastModified', isoTime(e.lastModified))}${el('ETag', `"${e.etag}"`)}` +
      `${el('Size', e.size)}${owner}<StorageClass>STANDARD</StorageClass></Contents>`;
  }
  for (const prefix of page.commonPrefixes) xml += `<CommonPrefixes>${el('Prefix', encode(prefix))}</CommonPrefixes>`;
  return xml;
}

type Listing = Endpoint<'ListObjects'> | Endpoint<'ListObjectsV2'>;

function listing(
  ctx: Context,
  e: Listing,
  startAfter: string | undefined,
  owners: boolean,
): Promise<ListObjectsResult> {
  return ctx.meta.listObjects({
    bucket: e.bucket,
    prefix: e.prefix,
    delimiter: e.delimiter,
    startAfter: startAfter || undefined,
    maxKeys: e.maxKeys,
    owners,
  });
}

export async function listObjects(ctx: Context<'ListObjects'>): Promise<void> {
  const e = ctx.route.endpoint;
  const encode = keyEncoder(e.encodingType);
  // V1 always names each object's owner, as AWS does.
  const bucketOwner = bucketOwnerOf(await requireBucket(ctx));
  const page = await listing(ctx, e, e.marker, true);
  // V1's own Prefix comes back as sent, even with encoding-type=url: so AWS answers (botocore,
  // built against it, decodes every other v1 field but not this one; ceph/s3-tests agrees).
  let xml = el('Name', e.bucket) + el('Prefix', e.prefix) + el('Marker', encode(e.marker)) + el('MaxKeys', e.maxKeys);
  if (e.delimiter !== undefined) xml += el('Delimiter', encode(e.delimiter));
  xml += el('IsTruncated', page.isTruncated);
  // AWS sends NextMarker only with a delimiter; without one the last key is the next marker.
  if (page.isTruncated && e.delimiter !== undefined && page.nextMarker !== null)
    xml += el('NextMarker', encode(page.nextMarker));
  xml += entriesXml(page, encode, bucketOwner);
  if (e.encodingType) xml += el('EncodingType', e.encodingType);
  sendXml(ctx, 'ListBucketResult', xml);
}

export async function listObjectsV2(ctx: Context<'ListObjectsV2'>): Promise<void> {
  const e = ctx.route.endpoint;
  const encode = keyEncoder(e.encodingType);
  const token = e.continuationToken;
  const bucketOwner = e.fetchOwner ? bucketOwnerOf(await requireBucket(ctx)) : null;
  // An empty token is no token: the listing starts where it would without one, and echoes it.
  const page = await listing(ctx, e, token ? decodeToken(token) : e.startAfter, e.fetchOwner);
  let xml = el('Name', e.bucket) + el('Prefix', encode(e.prefix));
  if (e.startAfter !== undefined) xml += el('StartAfter', encode(e.startAfter));
  if (token !== undefined) xml += el('ContinuationToken', token);
  xml += el('KeyCount', page.entries.length + page.commonPrefixes.length) + el('MaxKeys', e.maxKeys);
  if (e.delimiter !== undefined) xml += el('Delimiter', encode(e.delimiter));
  xml += el('IsTruncated', page.isTruncated);
  if (page.isTruncated && page.nextMarker !== null) xml += el('NextContinuationToken', encodeToken(page.nextMarker));
  xml += entriesXml(page, encode, bucketOwner);
  if (e.encodingType) xml += el('EncodingType', e.encodingType);
  sendXml(ctx, 'ListBucketResult', xml);
}

/** Continuation tokens are opaque to clients: the base64url of the last key, prefix or bucket returned. */
export function encodeToken(last: string): string {
  return Buffer.from(last).toString('base64url');
}

export function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url');
  if (decoded.toString('base64url') !== token)
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  return decoded.toString('utf8');
}
