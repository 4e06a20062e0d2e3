import type { ObjectManifest } from '../../src/meta/manifest.js';
import { sendXml, type Context } from '../context.js';
import type { ObjectAttribute } from '../router/endpoints.js';
import { el } from '../xml.js';
import { versionHeader } from './object-headers.js';
import { readingKey, requestCustomerKey } from './sse-c.js';

/**
 * GetObjectAttributes (`GET /bucket/key?attributes`): what `x-amz-object-attributes` names, in
 * AWS's order, of the newest version or the one `versionId` names. A delete marker answers as a
 * GET does (404 current, 405 named), from `ObjectStore.head`.
 *
 * ObjectParts (multipart objects only) gives the part count and the paging fields; no `Part`
 * element: AWS lists parts only with their additional checksums, and per-part checksums are not
 * kept here (the sizes are, for `partNumber` GETs).
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

/** The additional checksums the object was stored with (`x-amz-checksum-*`); nothing when none. */
function checksumXml(manifest: ObjectManifest): string {
  const entries = Object.entries(manifest.checksums);
  if (entries.length === 0) return '';
  const values = entries.map(([algorithm, value]) => el(`Checksum${algorithm.toUpperCase()}`, value)).join('');
  // A single PUT's checksum is of the whole object; multipart checksums are not kept per part.
  const type = manifest.parts ? '' : el('ChecksumType', 'FULL_OBJECT');
  return `<Checksum>${values}${type}</Checksum>`;
}

/** The page of parts after `marker`, at most `maxParts` of them, described by count and markers. */
function partsXml(manifest: ObjectManifest, maxParts: number, marker: number): string {
  if (!manifest.parts) return '';
  const total = manifest.parts.length;
  const last = Math.min(marker + maxParts, total);
  return (
    '<ObjectParts>' +
    el('IsTruncated', last < total) +
    el('MaxParts', maxParts) +
    el('NextPartNumberMarker', Math.max(last, marker)) +
    el('PartNumberMarker', marker) +
    el('PartsCount', total) +
    '</ObjectParts>'
  );
}
