import { newChecksum, type ChecksumAlgorithm } from '../auth/checksums.js';
import { sendXml, type Context } from '../context.js';
import { checksumElement } from './checksum-fields.js';
import { el, isoTime } from '../xml.js';
import { copySourceVersionHeader, copyTooLarge, withCopySource } from './copy.js';
import { requireUpload } from './multipart.js';
import { MAX_PUT_SIZE } from './objects.js';
import { objectEncryptionHeaders } from './encryption.js';
import { requestCustomerKey, uploadKey } from './sse-c.js';

/** UploadPartCopy: a part made of (a range of) another object, readable by the caller. */
export async function uploadPartCopy(ctx: Context<'UploadPartCopy'>): Promise<void> {
  const upload = await requireUpload(ctx);
  const { partNumber, sourceRange: range } = ctx.route.endpoint;
  const customer = requestCustomerKey(ctx);
  const target = uploadKey(ctx.store, upload.headers.sseCustomer, customer);
  let read: Record<string, string> = {};
  const algorithm = upload.headers.checksum?.algorithm as ChecksumAlgorithm | undefined;
  const part = await withCopySource(ctx, (source) => {
    if ((range ? range.end - range.start + 1 : source.manifest.size) > MAX_PUT_SIZE) throw copyTooLarge();
    read = copySourceVersionHeader(source);
    return ctx.store.uploadPartCopy(
      upload.uploadId,
      partNumber,
      source.bucket,
      source.key,
      range,
      source.manifest.id,
      source.versionId,
      { source: source.customerKey, target },
      // An upload with a checksum: the part's, from the bytes copied (a fresh one per attempt).
      algorithm ? newChecksum(algorithm) : undefined,
    );
  });
  const sum = algorithm && part.checksum ? checksumElement(algorithm, part.checksum) : '';
  const xml = el('ETag', `"${part.etag}"`) + el('LastModified', isoTime(Date.now())) + sum;
  sendXml(ctx, 'CopyPartResult', xml, 200, {
    ...read,
    ...objectEncryptionHeaders(upload.headers, customer),
  });
}
