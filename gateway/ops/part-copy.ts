import type { Range } from '../../src/store/object-store.js';
import { header, sendXml, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { el, isoTime } from '../xml.js';
import { copyTooLarge, withCopySource } from './copy.js';
import { partNumber, requireUpload } from './multipart.js';
import { MAX_PUT_SIZE } from './objects.js';

/** `x-amz-copy-source-range`: only `bytes=first-last`; the store checks it against the source's size. */
function copySourceRange(value: string | undefined): Range | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** UploadPartCopy: a part made of (a range of) another object, readable by the caller. */
export async function uploadPartCopy(ctx: Context): Promise<void> {
  const n = partNumber(ctx.route.query.get('partNumber'));
  const upload = await requireUpload(ctx);
  const range = copySourceRange(header(ctx, 'x-amz-copy-source-range'));
  const { etag } = await withCopySource(ctx, (source) => {
    if ((range ? range.end - range.start + 1 : source.manifest.size) > MAX_PUT_SIZE) throw copyTooLarge();
    return ctx.store.uploadPartCopy(upload.uploadId, n, source.bucket, source.key, range, source.manifest.id);
  });
  sendXml(ctx, 'CopyPartResult', el('ETag', `"${etag}"`) + el('LastModified', isoTime(Date.now())));
}
