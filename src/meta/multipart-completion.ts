import { MetaError } from './errors.js';
import type { ChunkRef, ObjectManifest } from './manifest.js';
import type { CompletedPart, FinalManifestFields, ObjectHeaders, PartInfo } from './meta-store.js';

/** S3's smallest part but the last. */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** A part as an engine stores it: its chunks as JSON. */
export interface StoredPart {
  partNumber: number;
  etag: string;
  size: number;
  chunks: string;
  /** Null: uploaded without a checksum (an upload without one, or stored before parts kept one). */
  checksum: string | null;
}

/** A part as listed: its checksum only when it has one. */
export function partInfo({ checksum, ...part }: PartInfo & { checksum: string | null }): PartInfo {
  return checksum === null ? part : { ...part, checksum };
}

export interface CompletionPlan {
  /** The object the upload becomes. */
  manifest: ObjectManifest;
  /** Every stored part's chunks, chosen or not: the parts release them all once the object holds its own. */
  chunksOf: Map<number, ChunkRef[]>;
}

/**
 * The parts a completion lists, one per part number: the numbers must not decrease
 * (InvalidPartOrder), and a number listed more than once is its LAST entry, the others ignored.
 * A client that sent part 1 twice at once lists both answers in the order they came, and the
 * upload that finished last is the part stored (s3-tests test_multipart_resend_first_finishes_last).
 */
export function chosenParts<P extends CompletedPart>(parts: P[]): P[] {
  const chosen: P[] = [];
  for (const part of parts) {
    const last = chosen.at(-1);
    if (last && part.partNumber < last.partNumber)
      throw new MetaError('InvalidPartOrder', 'parts must be listed in ascending order of part number');
    if (last?.partNumber === part.partNumber) chosen[chosen.length - 1] = part;
    else chosen.push(part);
  }
  return chosen;
}

/**
 * CompleteMultipartUpload's rules, the same in every engine: the parts listed in ascending
 * order (see `chosenParts`), each uploaded with that ETag, all but the last at least 5 MiB; the
 * object is the chosen parts' chunks in order, with the headers the upload was created with.
 */
export function planCompletion(
  uploadId: string,
  listed: CompletedPart[],
  stored: Iterable<StoredPart>,
  headersJson: string,
  fields: FinalManifestFields,
): CompletionPlan {
  if (listed.length === 0) throw new MetaError('MalformedXML', 'a completion must list at least one part');
  const parts = chosenParts(listed);
  const byNumber = new Map([...stored].map((row) => [row.partNumber, row]));
  const chosen = parts.map(({ partNumber, etag }) => {
    const row = byNumber.get(partNumber);
    if (!row || unquote(row.etag) !== unquote(etag))
      throw new MetaError('InvalidPart', `part ${partNumber} was not uploaded with that ETag`);
    return row;
  });
  const minPartSize = fields.minPartSize ?? MIN_PART_SIZE;
  for (const row of chosen.slice(0, -1)) {
    if (row.size < minPartSize)
      throw new MetaError('EntityTooSmall', `part ${row.partNumber} is smaller than ${minPartSize} bytes`);
  }
  const chunksOf = new Map([...byNumber.values()].map((row) => [row.partNumber, JSON.parse(row.chunks) as ChunkRef[]]));
  const headers = JSON.parse(headersJson) as ObjectHeaders;
  const manifest: ObjectManifest = {
    id: fields.id,
    size: chosen.reduce((sum, row) => sum + row.size, 0),
    etag: fields.etag,
    lastModified: fields.lastModified,
    contentType: headers.contentType,
    metadata: headers.metadata,
    ...(headers.lock ? { lock: headers.lock } : {}),
    ...(headers.acl ? { acl: headers.acl } : {}),
    ...(headers.tags ? { tags: headers.tags } : {}),
    ...(headers.sseCustomer ? { sseCustomer: headers.sseCustomer } : {}),
    ...(headers.sseKms ? { sseKms: headers.sseKms } : {}),
    checksums: fields.checksums ?? {},
    ...(fields.checksumType ? { checksumType: fields.checksumType } : {}),
    ...partChecksums(headers, chosen),
    chunks: chosen.flatMap((row) => chunksOf.get(row.partNumber)!),
    parts: chosen.map((row) => row.size),
    uploadId,
  };
  return { manifest, chunksOf };
}

/** The chosen parts' checksums, when the upload has one and every part kept it. */
function partChecksums(headers: ObjectHeaders, chosen: StoredPart[]): { partChecksums?: string[] } {
  if (!headers.checksum || chosen.some((row) => row.checksum === null)) return {};
  return { partChecksums: chosen.map((row) => row.checksum!) };
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
