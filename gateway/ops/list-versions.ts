import { requireBucket, sendXml, type Context } from '../context.js';
import { el, isoTime } from '../xml.js';
import { bucketOwnerOf } from './acl.js';
import { keyEncoder } from './list.js';

/**
 * ListObjectVersions: every version and delete marker, by key then newest first, interleaved as
 * they are stored (S3 returns them in that one order too). On a bucket that never had
 * versioning, every object is its key's null version.
 */
export async function listObjectVersions(ctx: Context<'ListObjectVersions'>): Promise<void> {
  const e = ctx.route.endpoint;
  const encode = keyEncoder(e.encodingType);
  // Each version names the bucket's owner (a version's own ACL owner would need its manifest read).
  const owner = bucketOwnerOf(await requireBucket(ctx));
  const ownerXml = `<Owner>${el('ID', owner.id)}${el('DisplayName', owner.displayName)}</Owner>`;
  const page = await ctx.meta.listVersions({
    bucket: e.bucket,
    prefix: e.prefix,
    delimiter: e.delimiter,
    keyMarker: e.keyMarker || undefined,
    versionIdMarker: e.versionIdMarker,
    maxKeys: e.maxKeys,
  });
  let xml =
    el('Name', e.bucket) +
    el('Prefix', encode(e.prefix)) +
    el('KeyMarker', encode(e.keyMarker)) +
    el('VersionIdMarker', e.versionIdMarker ?? '') +
    el('MaxKeys', e.maxKeys);
  if (e.delimiter !== undefined) xml += el('Delimiter', encode(e.delimiter));
  xml += el('IsTruncated', page.isTruncated);
  if (page.isTruncated && page.nextKeyMarker !== null) {
    xml += el('NextKeyMarker', encode(page.nextKeyMarker));
    if (page.nextVersionIdMarker !== null) xml += el('NextVersionIdMarker', page.nextVersionIdMarker);
  }
  for (const v of page.versions) {
    const common =
      el('Key', encode(v.key)) +
      el('VersionId', v.versionId) +
      el('IsLatest', v.isLatest) +
      el('LastModified', isoTime(v.lastModified));
    xml += v.object
      ? `<Version>${common}${el('ETag', `"${v.object.etag}"`)}${el('Size', v.object.size)}${ownerXml}<StorageClass>STANDARD</StorageClass></Version>`
      : `<DeleteMarker>${common}${ownerXml}</DeleteMarker>`;
  }
  for (const prefix of page.commonPrefixes) xml += `<CommonPrefixes>${el('Prefix', encode(prefix))}</CommonPrefixes>`;
  if (e.encodingType) xml += el('EncodingType', e.encodingType);
  sendXml(ctx, 'ListVersionsResult', xml);
}
