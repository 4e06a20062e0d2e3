import { sendXml, type Context } from '../context.js';
import { el, isoTime } from '../xml.js';
import { copySourceObject, copyTooLarge } from './copy.js';
import { requireUpload } from './multipart.js';
import { MAX_PUT_SIZE } from './objects.js';

/** UploadPartCopy: a part made of (a range of) another object, readable by the caller. */
export async function uploadPartCopy(ctx: Context<'UploadPartCopy'>): Promise<void> {
  const upload = requireUpload(ctx);
  const { partNumber, sourceRange: range } = ctx.route.endpoint;
  const source = copySourceObject(ctx);
  if ((range ? range.end - range.start + 1 : source.manifest.size) > MAX_PUT_SIZE) throw copyTooLarge();
  const { etag } = await ctx.store.uploadPartCopy(upload.uploadId, partNumber, source.bucket, source.key, range);
  sendXml(ctx, 'CopyPartResult', el('ETag', `"${etag}"`) + el('LastModified', isoTime(Date.now())));
}
