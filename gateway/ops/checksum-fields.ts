import type { ObjectManifest } from '../../src/meta/manifest.js';
import { el } from '../xml.js';

/**
 * An object's additional checksums as GET/HEAD headers and as the XML elements of
 * CompleteMultipartUpload and GetObjectAttributes: `Checksum<ALGORITHM>` then `ChecksumType`.
 */

/** The type of the object's checksum: a single PUT's is of the whole object. */
function typeOf(manifest: ObjectManifest): string {
  return manifest.checksumType ?? 'FULL_OBJECT';
}

/** The algorithm a multipart object's parts were checksummed with, if they were. */
function partAlgorithm(manifest: ObjectManifest): string | undefined {
  return manifest.partChecksums ? Object.keys(manifest.checksums)[0] : undefined;
}

/**
 * `x-amz-checksum-*` of the object, or of part `partNumber` of a multipart object (only the
 * part's own: a range has none).
 */
export function checksumHeaders(manifest: ObjectManifest, partNumber?: number): Record<string, string> {
  const entries =
    partNumber !== undefined && manifest.parts
      ? [[partAlgorithm(manifest), manifest.partChecksums?.[partNumber - 1]]]
      : Object.entries(manifest.checksums);
  const out: Record<string, string> = {};
  for (const [algorithm, value] of entries) if (algorithm && value) out[`x-amz-checksum-${algorithm}`] = value;
  if (Object.keys(out).length > 0) out['x-amz-checksum-type'] = typeOf(manifest);
  return out;
}

/** `<ChecksumSHA256>…</ChecksumSHA256><ChecksumType>…</ChecksumType>`; nothing without a checksum. */
export function checksumElements(manifest: ObjectManifest): string {
  const entries = Object.entries(manifest.checksums);
  if (entries.length === 0) return '';
  return (
    entries.map(([algorithm, value]) => checksumElement(algorithm, value)).join('') +
    el('ChecksumType', typeOf(manifest))
  );
}

/** `<ChecksumCRC32>value</ChecksumCRC32>` (AWS's element names are the algorithms upper-cased). */
export function checksumElement(algorithm: string, value: string): string {
  return el(`Checksum${algorithm.toUpperCase()}`, value);
}

/** Part `index` (from 0) of a multipart object as GetObjectAttributes lists it, with its checksum. */
export function objectPartXml(manifest: ObjectManifest, index: number): string {
  const algorithm = partAlgorithm(manifest);
  const sum = manifest.partChecksums?.[index];
  return (
    `<Part>${el('PartNumber', index + 1)}${el('Size', manifest.parts![index]!)}` +
    `${algorithm && sum ? checksumElement(algorithm, sum) : ''}</Part>`
  );
}
