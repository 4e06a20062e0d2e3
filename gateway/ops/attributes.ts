import type { ObjectManifest } from '../../src/meta/manifest.js';
import { sendXml, type Context } from '../context.js';
import type { ObjectAttribute } from '../router/endpoints.js';
import { el } from '../xml.js';
import { checksumElements, objectPartXml } from './checksum-fields.js';
import { versionHeader } from './object-headers.js';
import { readingKey, requestCustomerKey } from './sse-c.js';

/**
 * GetObjectAttributes (`GET /bucket/key?attributes`): what `x-amz-object-attributes` names, in
 * AWS's order, of the newest version or the one `versionId` names. A delete marker answers as a
 * GET does (404 current, 405 named), from `ObjectStore.head`.
 *
 * ObjectParts (multipart objects only) gives the part count and the paging fields, and the
 * page's `Part` elements (number, size, checksum) when the object was uploaded with a checksum:
 * AWS lists parts only with their additional checksums.
 */

/** The one storage class there is. */
const STORAGE_CLASS = 'STANDARD';

export async function getObjectAttributes(ctx: Context<'GetObjectAttributes'>): Promise<void> {
  const e = ctx.route.endpoint;
  const manifest = await ctx.store.head(e.bucket, e.key, e.versionId);
  // An SSE-C object's attributes need its key, as its HEAD does.
  readingKey(ctx.store, manifest.sseCustomer, requestCustomerKey(ctx));
  const xml: Record<ObjectAttribute, () => string> = {
    // Unquoted, unlike the ETag header of a GET (AWS's answer).
    ETag: () => el('ETag', manifest.etag),
    Checksum: () => checksumXml(manifest),
    ObjectParts: () => partsXml(manifest, e.maxParts, e.partNumberMarker),
    StorageClass: () => el('StorageClass', STORAGE_CLASS),
    ObjectSize: () => el('ObjectSize', manifest.size),
  };
  const ordered = (Object.keys(xml) as ObjectAttribute[]).filter((name) => e.attributes.includes(name));
  sendXml(ctx, 'GetObjectAttributesResponse', ordered.map((name) => xml[name]()).join(''), 200, {
    'last-modified': new Date(manifest.lastModified).toUTCString(),
    ...versionHeader(manifest, e.versionId),
  });
}

/** The additional checksum the object was stored with (`x-amz-checksum-*`) and its type; nothing when none. */
function checksumXml(manifest: ObjectManifest): string {
  const elements = checksumElements(manifest);
  return elements ? `<Checksum>${elements}</Checksum>` : '';
}

/**
 * The page of parts after `marker`, at most `maxParts` of them: `Part` elements only for an
 * object uploaded with a checksum (AWS's note on GetObjectAttributes' Parts).
 */
function partsXml(manifest: ObjectManifest, maxParts: number, marker: number): string {
  if (!manifest.parts) return '';
  const total = manifest.parts.length;
  const last = Math.min(marker + maxParts, total);
  let parts = '';
  if (manifest.partChecksums) for (let i = marker; i < last; i++) parts += objectPartXml(manifest, i);
  return (
    '<ObjectParts>' +
    el('IsTruncated', last < total) +
    el('MaxParts', maxParts) +
    el('NextPartNumberMarker', Math.max(last, marker)) +
    el('PartNumberMarker', marker) +
    el('PartsCount', total) +
    parts +
    '</ObjectParts>'
  );
}
