import type { ObjectManifest } from '../../src/meta/manifest.js';
import type { CompletedPart, UploadInfo } from '../../src/meta/meta-store.js';
import { chosenParts } from '../../src/meta/multipart-completion.js';
import { multipartEtag } from '../../src/store/object-store.js';
import { uploadChecksumOf } from '../auth/multipart-checksums.js';
import {
  bucketOf,
  contentMd5,
  header,
  keyOf,
  requireBucket,
  sendEmpty,
  sendXml,
  xmlBody,
  type Context,
} from '../context.js';
import { S3Error } from '../errors.js';
import { MAX_PART_NUMBER, type BucketOperation } from '../router.js';
import { child, el, isoTime, malformed, text } from '../xml.js';
import { keyEncoder } from './list.js';
import { bucketOwnerOf, newObjectAcl } from './acl.js';
import type { Owner } from '../auth/acl.js';
import { requestTags } from './tagging.js';
import { createdVersionHeaders, objectHeaders } from './object-headers.js';
import { lockFromHeaders } from './object-lock.js';
import { MAX_PUT_SIZE } from './objects.js';
import { objectEncryptionHeaders } from './encryption.js';
import { requestCustomerKey, uploadKey } from './sse-c.js';
import { checksumElement, checksumElements } from './checksum-fields.js';
import { completionChecksum, listedChecksums, partChecksumAlgorithm, type ListedPart } from './upload-checksums.js';
import { writeKms } from './sse-kms.js';
import { writeCondition } from './conditions.js';

/**
 * Initiator and Owner of an upload: the owner its object will have (the key that created it, or
 * the bucket's owner under BucketOwnerEnforced); the bucket's owner for uploads stored before
 * uploads kept an ACL.
 */
function uploadOwnersXml(uploadOwner: Owner | undefined, bucketOwner: Owner): string {
  const owner = uploadOwner ?? bucketOwner;
  const inner = `${el('ID', owner.id)}${el('DisplayName', owner.displayName)}`;
  return `<Initiator>${inner}</Initiator><Owner>${inner}</Owner>`;
}

async function bucketOwner(ctx: Context<BucketOperation>): Promise<Owner> {
  return bucketOwnerOf(await requireBucket(ctx));
}

/** The operations on one multipart upload, named by `uploadId`. */
type UploadOperation =
  'UploadPart' | 'UploadPartCopy' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts';

/** The upload named by `uploadId`, which must be one into this bucket and key. */
export async function requireUpload(ctx: Context<UploadOperation>): Promise<UploadInfo> {
  const upload = await findUpload(ctx);
  if (!upload) throw noSuchUpload();
  return upload;
}

async function findUpload(ctx: Context<UploadOperation>): Promise<UploadInfo | null> {
  const { uploadId, bucket, key } = ctx.route.endpoint;
  const upload = await ctx.meta.getUpload(uploadId);
  return upload && upload.bucket === bucket && upload.key === key ? upload : null;
}

function noSuchUpload(): S3Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
}

export async function createMultipartUpload(ctx: Context<'CreateMultipartUpload'>): Promise<void> {
  const customer = requestCustomerKey(ctx);
  const target = await ctx.meta.getBucket(bucketOf(ctx));
  const lock = lockFromHeaders(ctx, target);
  const sseKms = await writeKms(ctx, (name) => header(ctx, name), target, customer !== undefined);
  const checksum = uploadChecksumOf(header(ctx, 'x-amz-checksum-algorithm'), header(ctx, 'x-amz-checksum-type'));
  const headers = {
    ...objectHeaders(ctx),
    ...(lock ? { lock } : {}),
    ...(sseKms ? { sseKms } : {}),
    ...(checksum ? { checksum } : {}),
    acl: await newObjectAcl(ctx, bucketOf(ctx), keyOf(ctx)),
    tags: requestTags(ctx),
  };
  const uploadId = await ctx.store.createUpload(bucketOf(ctx), keyOf(ctx), headers, customer?.key);
  sendXml(
    ctx,
    'InitiateMultipartUploadResult',
    el('Bucket', bucketOf(ctx)) + el('Key', keyOf(ctx)) + el('UploadId', uploadId),
    200,
    {
      ...objectEncryptionHeaders({ sseCustomer: customer, sseKms }, customer),
      ...(checksum
        ? { 'x-amz-checksum-algorithm': checksum.algorithm.toUpperCase(), 'x-amz-checksum-type': checksum.type }
        : {}),
    },
  );
}

export async function uploadPart(ctx: Context<'UploadPart'>): Promise<void> {
  const upload = await requireUpload(ctx);
  const customer = requestCustomerKey(ctx);
  const customerKey = uploadKey(ctx.store, upload.headers.sseCustomer, customer);
  const md5 = contentMd5(ctx);
  const algorithm = partChecksumAlgorithm(ctx, upload);
  const { body, length, checksums } = ctx.body();
  if (length === null) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (length > MAX_PUT_SIZE)
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  // Verified by the time the body ended (ctx.body()), when the store asks for it.
  const checksum = algorithm ? () => Promise.resolve(checksums[algorithm]) : undefined;
  const part = await ctx.store.uploadPart(
    upload.uploadId,
    ctx.route.endpoint.partNumber,
    body,
    md5,
    customerKey,
    checksum,
  );
  sendEmpty(ctx, 200, {
    etag: `"${part.etag}"`,
    ...(algorithm && part.checksum ? { [`x-amz-checksum-${algorithm}`]: part.checksum } : {}),
    ...objectEncryptionHeaders(upload.headers, customer),
  });
}

export async function completeMultipartUpload(ctx: Context<'CompleteMultipartUpload'>): Promise<void> {
  const upload = await findUpload(ctx);
  const customer = requestCustomerKey(ctx);
  // Optional here (AWS asks for it only with checksums), but when given it must be the upload's.
  if (upload && customer) uploadKey(ctx.store, upload.headers.sseCustomer, customer);
  const completed = await completedParts(ctx);
  const checksum = upload ? await completionChecksum(ctx, upload, completed) : undefined;
  const condition = writeCondition(header(ctx, 'if-match'), header(ctx, 'if-none-match'));
  const manifest = upload
    ? await ctx.store.completeUpload(upload.uploadId, completed, checksum?.checksums, checksum?.type, condition)
    : await completedBefore(ctx, completed);
  const { bucket, key } = ctx.route.endpoint;
  sendXml(
    ctx,
    'CompleteMultipartUploadResult',
    el('Location', `/${bucket}/${key}`) +
      el('Bucket', bucket) +
      el('Key', key) +
      el('ETag', `"${manifest.etag}"`) +
      checksumElements(manifest),
    200,
    {
      ...createdVersionHeaders(await ctx.meta.getBucket(bucket), key, manifest),
      ...objectEncryptionHeaders(manifest, customer),
    },
  );
}

/**
 * A completion repeated once it succeeded (a client retrying an answer it lost) is answered 200
 * again, as AWS does, when the key's object is still the one this upload made from these parts.
 */
async function completedBefore(
  ctx: Context<'CompleteMultipartUpload'>,
  parts: CompletedPart[],
): Promise<ObjectManifest> {
  const { uploadId, bucket, key } = ctx.route.endpoint;
  const current = await ctx.meta.getObject(bucket, key);
  if (current?.uploadId === uploadId && current.etag === multipartEtag(parts)) return current;
  throw noSuchUpload();
}

/** The parts the request lists, one per part number (`chosenParts`: a number listed again is its last entry). */
async function completedParts(ctx: Context<'CompleteMultipartUpload'>): Promise<ListedPart[]> {
  const doc = await xmlBody(ctx, ['Part']);
  const parts = child(doc, 'CompleteMultipartUpload')['Part'];
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > MAX_PART_NUMBER) throw malformed();
  return chosenParts(
    parts.map((p) => {
      if (typeof p !== 'object' || p === null) throw malformed();
      const fields = p as Record<string, unknown>;
      const etag = text(fields, 'ETag');
      const number = Number(text(fields, 'PartNumber'));
      if (etag === undefined || !Number.isInteger(number)) throw malformed();
      return { partNumber: number, etag: etag.trim(), checksums: listedChecksums(fields) };
    }),
  );
}

export async function abortMultipartUpload(ctx: Context<'AbortMultipartUpload'>): Promise<void> {
  await ctx.store.abortUpload((await requireUpload(ctx)).uploadId);
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: Context<'ListParts'>): Promise<void> {
  const upload = await requireUpload(ctx);
  const { maxParts, partNumberMarker: marker } = ctx.route.endpoint;
  const page = await ctx.meta.listParts(upload.uploadId, marker, maxParts);
  let xml =
    el('Bucket', upload.bucket) +
    el('Key', upload.key) +
    el('UploadId', upload.uploadId) +
    `${uploadOwnersXml(upload.headers.acl?.owner, await bucketOwner(ctx))}<StorageClass>STANDARD</StorageClass>` +
    el('PartNumberMarker', marker) +
    el('MaxParts', maxParts) +
    el('IsTruncated', page.isTruncated);
  if (page.nextPartNumberMarker !== null) xml += el('NextPartNumberMarker', page.nextPartNumberMarker);
  const mode = upload.headers.checksum;
  if (mode) xml += el('ChecksumAlgorithm', mode.algorithm.toUpperCase()) + el('ChecksumType', mode.type);
  for (const p of page.parts) {
    const sum = mode && p.checksum ? checksumElement(mode.algorithm, p.checksum) : '';
    xml += `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', isoTime(p.lastModified))}${el('ETag', `"${p.etag}"`)}${el('Size', p.size)}${sum}</Part>`;
  }
  sendXml(ctx, 'ListPartsResult', xml);
}

export async function listMultipartUploads(ctx: Context<'ListMultipartUploads'>): Promise<void> {
  const { bucket, prefix, delimiter, keyMarker, uploadIdMarker, maxUploads, encodingType } = ctx.route.endpoint;
  const encode = keyEncoder(encodingType);
  const page = await ctx.meta.listUploads(bucket, {
    prefix,
    delimiter,
    keyMarker: keyMarker || undefined,
    uploadIdMarker: uploadIdMarker || undefined,
    maxUploads,
  });
  let xml = el('Bucket', bucket) + el('KeyMarker', encode(keyMarker)) + el('UploadIdMarker', uploadIdMarker);
  if (page.nextKeyMarker !== null) xml += el('NextKeyMarker', encode(page.nextKeyMarker));
  if (page.nextUploadIdMarker !== null) xml += el('NextUploadIdMarker', page.nextUploadIdMarker);
  xml += el('Prefix', encode(prefix));
  if (delimiter !== undefined) xml += el('Delimiter', encode(delimiter));
  xml += el('MaxUploads', maxUploads) + el('IsTruncated', page.isTruncated);
  const owner = await bucketOwner(ctx);
  for (const u of page.uploads) {
    xml +=
      `<Upload>${el('Key', encode(u.key))}${el('UploadId', u.uploadId)}${uploadOwnersXml(u.owner, owner)}` +
      `<StorageClass>STANDARD</StorageClass>${el('Initiated', isoTime(u.initiated))}</Upload>`;
  }
  for (const p of page.commonPrefixes) xml += `<CommonPrefixes>${el('Prefix', encode(p))}</CommonPrefixes>`;
  if (encodingType) xml += el('EncodingType', encodingType);
  sendXml(ctx, 'ListMultipartUploadsResult', xml);
}
