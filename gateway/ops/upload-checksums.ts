import type { ChecksumType, CompletedPart, PartInfo, UploadChecksum, UploadInfo } from '../../src/meta/meta-store.js';
import { CHECKSUM_ALGORITHMS, requestChecksumAlgorithms, type ChecksumAlgorithm } from '../auth/checksums.js';
import { multipartChecksum } from '../auth/multipart-checksums.js';
import { header, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { text } from '../xml.js';

/**
 * The checks of a multipart upload's checksum (`ObjectHeaders.checksum`) in UploadPart and
 * CompleteMultipartUpload, and the object's checksum it completes with.
 */

/**
 * The algorithm of the checksum a part of `upload` must carry: the upload's, and only it (AWS's
 * InvalidRequest otherwise); none for an upload without a checksum (a part's own is verified, not kept).
 */
export function partChecksumAlgorithm(ctx: Context<'UploadPart'>, upload: UploadInfo): ChecksumAlgorithm | undefined {
  const expected = upload.headers.checksum?.algorithm as ChecksumAlgorithm | undefined;
  if (!expected) return undefined;
  const sent = requestChecksumAlgorithms(ctx.req.headers);
  const other = sent.find((algorithm) => algorithm !== expected);
  if (other !== undefined || sent.length === 0) {
    throw new S3Error(
      'InvalidRequest',
      `Checksum Type mismatch occurred, expected checksum Type: ${expected}, actual checksum Type: ${other ?? 'null'}`,
    );
  }
  return expected;
}

/** A part as CompleteMultipartUpload lists it, with the checksums it gives (by algorithm). */
export interface ListedPart extends CompletedPart {
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * The checksum of the object an upload with a checksum becomes, from its parts' stored checksums
 * (no byte read), checked against what the request gives: each listed part's checksum (another
 * than the stored one: InvalidPart, as a wrong ETag), the object's `x-amz-checksum-<algorithm>`
 * (BadDigest), `x-amz-checksum-type` (the upload's), and for a COMPOSITE upload that every part
 * lists one (InvalidRequest). Empty for an upload without one.
 */
export async function completionChecksum(
  ctx: Context<'CompleteMultipartUpload'>,
  upload: UploadInfo,
  listed: ListedPart[],
): Promise<{ checksums: Record<string, string>; type: ChecksumType } | undefined> {
  const mode = upload.headers.checksum;
  if (!mode) return undefined;
  const type = header(ctx, 'x-amz-checksum-type');
  if (type !== undefined && type !== mode.type) {
    throw new S3Error(
      'InvalidRequest',
      `The upload was created using the ${mode.type} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  const algorithm = mode.algorithm as ChecksumAlgorithm;
  const stored = await allParts(ctx, upload.uploadId);
  const parts = listed.map((part) => {
    const row = stored.get(part.partNumber);
    const given = Object.entries(part.checksums);
    if (given.some(([name, value]) => name !== algorithm || value !== row?.checksum)) throw invalidPart(part);
    return row;
  });
  // A part missing or of another ETag: the store's InvalidPart, with the parts as they are.
  if (parts.some((row) => row?.checksum === undefined)) return undefined;
  const value = await multipartChecksum(
    mode,
    parts.map((row) => ({ checksum: row!.checksum!, size: row!.size })),
  );
  for (const name of requestChecksumAlgorithms(ctx.req.headers)) {
    const claimed = header(ctx, `x-amz-checksum-${name}`);
    if (claimed === undefined) continue;
    if (name !== algorithm) {
      throw new S3Error(
        'InvalidRequest',
        `Checksum Type mismatch occurred, expected checksum Type: ${algorithm}, actual checksum Type: ${name}`,
      );
    }
    // A composite checksum may be given with or without its `-<parts>`.
    if (claimed !== value && `${claimed}-${parts.length}` !== value) {
      throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
  }
  // COMPOSITE: the completion must vouch for each part's digest (AWS refuses one left out; after
  // a wrong object checksum, BadDigest first, as s3-tests expects); FULL_OBJECT: not required.
  const unlisted = mode.type === 'COMPOSITE' ? listed.find((part) => !part.checksums[algorithm]) : undefined;
  if (unlisted) throw missingPartChecksum(mode, unlisted);
  return { checksums: { [algorithm]: value }, type: mode.type };
}

/** Every stored part of the upload, by number. */
async function allParts(ctx: Context<'CompleteMultipartUpload'>, uploadId: string): Promise<Map<number, PartInfo>> {
  const parts = new Map<number, PartInfo>();
  let marker = 0;
  for (;;) {
    const page = await ctx.meta.listParts(uploadId, marker, 1000);
    for (const part of page.parts) parts.set(part.partNumber, part);
    if (page.nextPartNumberMarker === null) return parts;
    marker = page.nextPartNumberMarker;
  }
}

function invalidPart(part: CompletedPart): S3Error {
  return new S3Error(
    'InvalidPart',
    `One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part ${part.partNumber})`,
  );
}

function missingPartChecksum(mode: UploadChecksum, part: CompletedPart): S3Error {
  return new S3Error(
    'InvalidRequest',
    `The upload was created using a ${mode.algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${part.partNumber} in the request.`,
  );
}

/** The `Checksum<ALGORITHM>` elements of a `Part` of CompleteMultipartUpload. */
export function listedChecksums(fields: Record<string, unknown>): ListedPart['checksums'] {
  const checksums: ListedPart['checksums'] = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = text(fields, `Checksum${algorithm.toUpperCase()}`);
    if (value !== undefined) checksums[algorithm] = value.trim();
  }
  return checksums;
}
