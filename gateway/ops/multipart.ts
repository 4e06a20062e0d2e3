import type { CompletedPart, UploadInfo } from '../../src/meta/meta-store.js';
import { bucketOf, contentMd5, keyOf, OWNER, pageSize, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, isoTime, malformed, text } from '../xml.js';
import { keyEncoder } from './list.js';
import { objectHeaders } from './object-headers.js';
import { MAX_PUT_SIZE } from './objects.js';

const MAX_PARTS = 10000;
const OWNER_XML = `${el('ID', OWNER.id)}${el('DisplayName', OWNER.displayName)}`;

/** The upload named by `uploadId`, which must be one into this bucket and key. */
export async function requireUpload(ctx: Context): Promise<UploadInfo> {
  const upload = await ctx.meta.getUpload(ctx.route.query.get('uploadId') ?? '');
  if (!upload || upload.bucket !== bucketOf(ctx) || upload.key !== keyOf(ctx)) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
  }
  return upload;
}

export function partNumber(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
  }
  return n;
}

export async function createMultipartUpload(ctx: Context): Promise<void> {
  const uploadId = await ctx.store.createUpload(bucketOf(ctx), keyOf(ctx), objectHeaders(ctx));
  sendXml(ctx, 'InitiateMultipartUploadResult', el('Bucket', bucketOf(ctx)) + el('Key', keyOf(ctx)) + el('UploadId', uploadId));
}

export async function uploadPart(ctx: Context): Promise<void> {
  const n = partNumber(ctx.route.query.get('partNumber'));
  const upload = await requireUpload(ctx);
  const md5 = contentMd5(ctx);
  const { body, length } = ctx.body();
  if (length === null) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (length > MAX_PUT_SIZE) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  const { etag } = await ctx.store.uploadPart(upload.uploadId, n, body, md5);
  sendEmpty(ctx, 200, { etag: `"${etag}"` });
}

export async function completeMultipartUpload(ctx: Context): Promise<void> {
  const upload = await requireUpload(ctx);
  const doc = await xmlBody(ctx, ['Part']);
  const parts = child(doc, 'CompleteMultipartUpload')['Part'];
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > MAX_PARTS) throw malformed();
  const completed: CompletedPart[] = parts.map((p) => {
    if (typeof p !== 'object' || p === null) throw malformed();
    const etag = text(p as Record<string, unknown>, 'ETag');
    const number = Number(text(p as Record<string, unknown>, 'PartNumber'));
    if (etag === undefined || !Number.isInteger(number)) throw malformed();
    return { partNumber: number, etag: etag.trim() };
  });
  const manifest = await ctx.store.completeUpload(upload.uploadId, completed);
  sendXml(
    ctx,
    'CompleteMultipartUploadResult',
    el('Location', `/${upload.bucket}/${upload.key}`) + el('Bucket', upload.bucket) + el('Key', upload.key) + el('ETag', `"${manifest.etag}"`),
  );
}

export async function abortMultipartUpload(ctx: Context): Promise<void> {
  await ctx.store.abortUpload((await requireUpload(ctx)).uploadId);
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: Context): Promise<void> {
  const upload = await requireUpload(ctx);
  const maxParts = pageSize(ctx, 'max-parts', 1000);
  const markerText = ctx.route.query.get('part-number-marker');
  const marker = markerText === undefined ? 0 : Number(markerText);
  if (!Number.isInteger(marker) || marker < 0) throw new S3Error('InvalidArgument', 'part-number-marker must be a non-negative integer.');
  const page = await ctx.meta.listParts(upload.uploadId, marker, maxParts);
  let xml =
    el('Bucket', upload.bucket) + el('Key', upload.key) + el('UploadId', upload.uploadId) +
    `<Initiator>${OWNER_XML}</Initiator><Owner>${OWNER_XML}</Owner><StorageClass>STANDARD</StorageClass>` +
    el('PartNumberMarker', marker) + el('MaxParts', maxParts) + el('IsTruncated', page.isTruncated);
  if (page.nextPartNumberMarker !== null) xml += el('NextPartNumberMarker', page.nextPartNumberMarker);
  for (const p of page.parts) {
    xml += `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', isoTime(p.lastModified))}${el('ETag', `"${p.etag}"`)}${el('Size', p.size)}</Part>`;
  }
  sendXml(ctx, 'ListPartsResult', xml);
}

export async function listMultipartUploads(ctx: Context): Promise<void> {
  const encode = keyEncoder(ctx);
  const q = ctx.route.query;
  const maxUploads = pageSize(ctx, 'max-uploads', 1000);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const page = await ctx.meta.listUploads(bucketOf(ctx), { prefix, delimiter, keyMarker: keyMarker || undefined, uploadIdMarker: uploadIdMarker || undefined, maxUploads });
  let xml = el('Bucket', bucketOf(ctx)) + el('KeyMarker', encode(keyMarker)) + el('UploadIdMarker', uploadIdMarker);
  if (page.nextKeyMarker !== null) xml += el('NextKeyMarker', encode(page.nextKeyMarker));
  if (page.nextUploadIdMarker !== null) xml += el('NextUploadIdMarker', page.nextUploadIdMarker);
  xml += el('Prefix', encode(prefix));
  if (delimiter !== undefined) xml += el('Delimiter', encode(delimiter));
  xml += el('MaxUploads', maxUploads) + el('IsTruncated', page.isTruncated);
  for (const u of page.uploads) {
    xml +=
      `<Upload>${el('Key', encode(u.key))}${el('UploadId', u.uploadId)}<Initiator>${OWNER_XML}</Initiator>` +
      `<Owner>${OWNER_XML}</Owner><StorageClass>STANDARD</StorageClass>${el('Initiated', isoTime(u.initiated))}</Upload>`;
  }
  for (const p of page.commonPrefixes) xml += `<CommonPrefixes>${el('Prefix', encode(p))}</CommonPrefixes>`;
  if (q.has('encoding-type')) xml += el('EncodingType', 'url');
  sendXml(ctx, 'ListMultipartUploadsResult', xml);
}
