import type { ListObjectsResult } from '../../src/meta/meta-store.js';
import { bucketOf, OWNER, pageSize, sendXml, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { el, isoTime } from '../xml.js';

const MAX_KEYS = 1000;
const OWNER_XML = `<Owner>${el('ID', OWNER.id)}${el('DisplayName', OWNER.displayName)}</Owner>`;

/**
 * encoding-type=url: keys as S3 encodes them, percent-encoding all but unreserved characters and
 * `/`, a space as %20 (decoded right by both unquote and unquote_plus).
 */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function keyEncoder(ctx: Context): (text: string) => string {
  const encoding = ctx.route.query.get('encoding-type');
  if (encoding === undefined) return (text) => text;
  if (encoding !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  return urlEncodeKey;
}

/** Contents and CommonPrefixes, built by hand: a 1000-key page is the hot path of listing. */
function entriesXml(page: ListObjectsResult, encode: (text: string) => string, owner: boolean): string {
  let xml = '';
  for (const e of page.entries) {
    xml +=
      `<Contents>${el('Key', encode(e.key))}${el('LastModified', isoTime(e.lastModified))}${el('ETag', `"${e.etag}"`)}` +
      `${el('Size', e.size)}${owner ? OWNER_XML : ''}<StorageClass>STANDARD</StorageClass></Contents>`;
  }
  for (const prefix of page.commonPrefixes) xml += `<CommonPrefixes>${el('Prefix', encode(prefix))}</CommonPrefixes>`;
  return xml;
}

async function listing(ctx: Context, startAfter: string | undefined): Promise<{ page: ListObjectsResult; maxKeys: number; prefix: string; delimiter: string | undefined }> {
  const maxKeys = pageSize(ctx, 'max-keys', MAX_KEYS);
  const prefix = ctx.route.query.get('prefix') ?? '';
  const delimiter = ctx.route.query.get('delimiter') || undefined;
  const page = await ctx.meta.listObjects({ bucket: bucketOf(ctx), prefix, delimiter, startAfter: startAfter || undefined, maxKeys });
  return { page, maxKeys, prefix, delimiter };
}

export async function listObjects(ctx: Context): Promise<void> {
  const encode = keyEncoder(ctx);
  const marker = ctx.route.query.get('marker') ?? '';
  const { page, maxKeys, prefix, delimiter } = await listing(ctx, marker);
  let xml = el('Name', bucketOf(ctx)) + el('Prefix', encode(prefix)) + el('Marker', encode(marker)) + el('MaxKeys', maxKeys);
  if (delimiter !== undefined) xml += el('Delimiter', encode(delimiter));
  xml += el('IsTruncated', page.isTruncated);
  // AWS sends NextMarker only with a delimiter; without one the last key is the next marker.
  if (page.isTruncated && delimiter !== undefined && page.nextMarker !== null) xml += el('NextMarker', encode(page.nextMarker));
  xml += entriesXml(page, encode, true);
  if (ctx.route.query.has('encoding-type')) xml += el('EncodingType', 'url');
  sendXml(ctx, 'ListBucketResult', xml);
}

export async function listObjectsV2(ctx: Context): Promise<void> {
  const encode = keyEncoder(ctx);
  const token = ctx.route.query.get('continuation-token');
  const startAfter = ctx.route.query.get('start-after');
  const { page, maxKeys, prefix, delimiter } = await listing(ctx, token !== undefined ? decodeToken(token) : startAfter);
  let xml = el('Name', bucketOf(ctx)) + el('Prefix', encode(prefix));
  if (startAfter !== undefined) xml += el('StartAfter', encode(startAfter));
  if (token !== undefined) xml += el('ContinuationToken', token);
  xml += el('KeyCount', page.entries.length + page.commonPrefixes.length) + el('MaxKeys', maxKeys);
  if (delimiter !== undefined) xml += el('Delimiter', encode(delimiter));
  xml += el('IsTruncated', page.isTruncated);
  if (page.isTruncated && page.nextMarker !== null) xml += el('NextContinuationToken', Buffer.from(page.nextMarker).toString('base64url'));
  xml += entriesXml(page, encode, ctx.route.query.get('fetch-owner') === 'true');
  if (ctx.route.query.has('encoding-type')) xml += el('EncodingType', 'url');
  sendXml(ctx, 'ListBucketResult', xml);
}

/** Continuation tokens are opaque to clients: the base64url of the last key or prefix returned. */
function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url');
  if (token === '' || decoded.toString('base64url') !== token) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  return decoded.toString('utf8');
}
