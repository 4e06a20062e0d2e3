import type { ObjectManifest } from '../../src/meta/manifest.js';
import { CHECKSUM_ALGORITHMS, checkedBody, type ChecksumAlgorithm } from '../auth/checksums.js';
import { authorizeAccess } from '../auth/request-access.js';
import { versionAction } from '../auth/actions.js';
import { DeleteMarkerError } from '../../src/store/errors.js';
import { header, sendXml, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import type { CopySource } from '../router.js';
import { el, isoTime } from '../xml.js';
import { checkConditions, requestWriteCondition } from './conditions.js';
import { newObjectAcl } from './acl.js';
import { copyTags } from './tagging.js';
import {
  copiedMetadata,
  createdVersionHeaders,
  objectHeaders,
  versionHeader,
  WEBSITE_REDIRECT,
} from './object-headers.js';
import { objectEncryptionHeaders } from './encryption.js';
import { readingKey, requestCustomerKey, sourceCustomerKey } from './sse-c.js';
import { sameKmsWrapping, writeKms } from './sse-kms.js';
import { lockFromHeaders } from './object-lock.js';
import { MAX_PUT_SIZE } from './objects.js';
import { checksumElements } from './checksum-fields.js';

/**
 * The source of a CopyObject or UploadPartCopy: named by `x-amz-copy-source`, readable by the
 * caller, and satisfying the `x-amz-copy-source-if-*` preconditions.
 */
type CheckedSource = CopySource & {
  manifest: ObjectManifest;
  /** The SSE-C key that reads it (`x-amz-copy-source-server-side-encryption-customer-*`). */
  customerKey?: Buffer;
};

async function copySourceObject(ctx: Context<'CopyObject' | 'UploadPartCopy'>): Promise<CheckedSource> {
  const { source } = ctx.route.endpoint;
  const given = sourceCustomerKey(ctx);
  const action = versionAction('s3:GetObject', source.versionId);
  const access = {
    action,
    right: 'read',
    bucket: source.bucket,
    key: source.key,
    versionId: source.versionId,
    expectedOwner: header(ctx, 'x-amz-source-expected-bucket-owner'),
  } as const;
  await authorizeAccess(ctx.meta, ctx.auth.identity, ctx.req, ctx.route.query, access, Date.now());
  const manifest = await ctx.store.head(source.bucket, source.key, source.versionId).catch((e: unknown) => {
    if (e instanceof DeleteMarkerError && e.code === 'MethodNotAllowed') {
      throw new S3Error(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    throw e;
  });
  checkConditions(
    {
      ifMatch: header(ctx, 'x-amz-copy-source-if-match'),
      ifNoneMatch: header(ctx, 'x-amz-copy-source-if-none-match'),
      ifModifiedSince: header(ctx, 'x-amz-copy-source-if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'x-amz-copy-source-if-unmodified-since'),
    },
    manifest,
    'PreconditionFailed',
  );
  await ctx.store.requireKmsKey(manifest);
  return { ...source, manifest, customerKey: readingKey(ctx.store, manifest.sseCustomer, given) };
}

/**
 * Runs `copy` on the copy source checked by `copySourceObject`. `copy` copies only that version
 * of it, else returns null: a source replaced in between is checked again, as if it had been
 * replaced before this request.
 */
export async function withCopySource<T>(
  ctx: Context<'CopyObject' | 'UploadPartCopy'>,
  copy: (source: CheckedSource) => Promise<T | null>,
): Promise<T> {
  for (;;) {
    const result = await copy(await copySourceObject(ctx));
    if (result !== null) return result;
  }
}

/** `x-amz-copy-source-version-id`: the version a copy read, when it has an id or was named. */
export function copySourceVersionHeader(source: CheckedSource): Record<string, string> {
  const id = versionHeader(source.manifest, source.versionId)['x-amz-version-id'];
  return id === undefined ? {} : { 'x-amz-copy-source-version-id': id };
}

/** S3's refusal of a copy source over the single-PUT limit. */
export function copyTooLarge(): S3Error {
  return new S3Error(
    'InvalidRequest',
    `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PUT_SIZE}`,
  );
}

/** CopyObject's `x-amz-checksum-algorithm`: the checksum the copy must have. */
function copyChecksumAlgorithm(ctx: Context<'CopyObject'>): ChecksumAlgorithm | undefined {
  const name = header(ctx, 'x-amz-checksum-algorithm')?.toLowerCase();
  if (name === undefined) return undefined;
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(name))
    throw new S3Error(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    );
  return name as ChecksumAlgorithm;
}

/** Whether the object already has that algorithm's checksum of its whole bytes (a copy keeps it). */
function hasWholeChecksum(manifest: ObjectManifest, algorithm: ChecksumAlgorithm): boolean {
  return manifest.checksums[algorithm] !== undefined && manifest.checksumType !== 'COMPOSITE';
}

/**
 * Server-side copy: the new object shares the source's chunks; no data moves. `If-Match` /
 * `If-None-Match` are the destination's conditions, committed as a PUT's (the source's are the
 * `x-amz-copy-source-if-*`).
 */
export async function copyObject(ctx: Context<'CopyObject'>): Promise<void> {
  const { bucket, key } = ctx.route.endpoint;
  const condition = await requestWriteCondition(ctx);
  const target = await ctx.meta.getBucket(bucket);
  const lock = lockFromHeaders(ctx, target);
  const acl = await newObjectAcl(ctx, bucket, key);
  const customer = requestCustomerKey(ctx);
  const sseKms = await writeKms(ctx, (name) => header(ctx, name), target, customer !== undefined);
  let read: Record<string, string> = {};
  const copied = await withCopySource(ctx, (checked) => {
    const { manifest, customerKey: sourceKey, ...source } = checked;
    read = copySourceVersionHeader(checked);
    const directive = (header(ctx, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE')
      throw new S3Error('InvalidArgument', 'Unknown metadata directive.');
    // Copying a named version onto its own key is how S3 restores an old version; naming the
    // encryption is how AWS users encrypt an object in place (`aws s3 cp s3://b/k s3://b/k --sse`).
    const inPlace = source.bucket === bucket && source.key === key && source.versionId === undefined;
    const changesEncryption =
      header(ctx, 'x-amz-server-side-encryption') !== undefined || customer !== undefined || sourceKey !== undefined;
    const changesRedirect = header(ctx, WEBSITE_REDIRECT) !== undefined;
    if (directive === 'COPY' && inPlace && !changesEncryption && !changesRedirect) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (manifest.size > MAX_PUT_SIZE) throw copyTooLarge();
    // The copy's headers and tags are the source's (COPY) or the request's (REPLACE); its ACL is the request's.
    const headers = {
      ...(directive === 'REPLACE'
        ? objectHeaders(ctx)
        : { contentType: manifest.contentType, metadata: copiedMetadata(ctx, manifest.metadata) }),
      acl,
      tags: copyTags(ctx, manifest.tags),
    };
    // The chunks are shared only when the copy's data keys are wrapped as the source's are (both
    // without SSE-C, or with the same customer key; the same KMS key and context, or none); else
    // the bytes are read and encrypted anew.
    const sameWrapping =
      (manifest.sseCustomer
        ? customer !== undefined && ctx.store.matchesCustomerKey(manifest.sseCustomer, customer.key)
        : customer === undefined) && sameKmsWrapping(manifest.sseKms, sseKms);
    // A checksum the copy asks for and the source lacks is computed from the bytes, read anew.
    const algorithm = copyChecksumAlgorithm(ctx);
    const computed = algorithm && !hasWholeChecksum(manifest, algorithm);
    if (!sameWrapping || computed) {
      const checksums: Record<string, string> = {};
      const read = ctx.store.readRange(manifest, 0, manifest.size, sourceKey);
      const bytes = algorithm ? checkedBody(read, new Map([[algorithm, undefined]]), checksums) : read;
      return ctx.store
        .put(bucket, key, bytes, { ...headers, lock, customerKey: customer?.key, sseKms, checksums, condition })
        .then((put) => put.manifest);
    }
    return ctx.store.copy(
      source.bucket,
      source.key,
      bucket,
      key,
      headers,
      manifest.id,
      source.versionId,
      lock,
      condition,
    );
  });
  sendXml(
    ctx,
    'CopyObjectResult',
    el('LastModified', isoTime(copied.lastModified)) + el('ETag', `"${copied.etag}"`) + checksumElements(copied),
    200,
    {
      ...read,
      ...createdVersionHeaders(target, key, copied),
      ...objectEncryptionHeaders(copied, customer),
    },
  );
}
