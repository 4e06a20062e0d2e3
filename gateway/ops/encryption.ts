import { header, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { invalidArgument } from '../router/query.js';
import { child, el, malformed, text } from '../xml.js';
import type { SseKms } from '../../src/meta/manifest.js';
import { customerKeyHeaders, namesCustomerKey, type CustomerKey } from './sse-c.js';
import { KMS_CONTEXT_HEADER, KMS_KEY_ID_HEADER, kmsHeaders, SSE_KMS } from './sse-kms.js';

/**
 * Server-side encryption as S3 clients see it. The store encrypts every object (AES-256-GCM,
 * per-object keys wrapped by the master key), which is what AWS calls SSE-S3 (`AES256`): every
 * bucket's default, every object's answer. Get/Put/DeleteBucketEncryption keep the bucket's rule
 * in its settings (so in its encrypted metadata copies, restored by `meta rebuild`). KMS keys
 * (SSE-KMS, `aws:kms`, also as a bucket's default): see sse-kms.ts; dual-layer `aws:kms:dsse` is
 * refused with 501 NotImplemented (a valid request for a feature we lack, not the client's
 * mistake). Customer keys (SSE-C): see sse-c.ts.
 */

/** AWS's name of the one algorithm there is here. */
const SSE_S3 = 'AES256';
const DSSE_KMS = 'aws:kms:dsse';

/** What AWS answers on a write, GET and HEAD of an SSE-S3 object: every object without SSE-C here. */
const SSE_HEADERS: Readonly<Record<string, string>> = { 'x-amz-server-side-encryption': SSE_S3 };

/**
 * What a write, GET or HEAD answers about the encryption of an object (or upload): SSE-S3, for
 * an SSE-C object its algorithm and the MD5 of the key the request gave (never the key), for an
 * SSE-KMS object its key.
 */
export function objectEncryptionHeaders(
  sse: { sseCustomer?: unknown; sseKms?: SseKms },
  given?: CustomerKey,
): Readonly<Record<string, string>> {
  if (sse.sseCustomer) return customerKeyHeaders(given);
  return sse.sseKms ? kmsHeaders(sse.sseKms) : SSE_HEADERS;
}

/** The operations whose request may name the object's encryption (`x-amz-server-side-encryption`). */
const WRITES = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']);
/**
 * The steps of an upload, whose object's encryption its creation fixed: their encryption headers
 * are accepted and ignored, as Ceph RGW does (clients send the upload's headers with each part).
 */
const UPLOAD_STEPS = new Set(['UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload']);

export async function getBucketEncryption(ctx: Context<'GetBucketEncryption'>): Promise<void> {
  const rule = (await requireBucket(ctx)).settings.encryption;
  // A bucket never put one has AWS's default since 2023: SSE-S3, no bucket key.
  const algorithm =
    rule?.kmsKeyId !== undefined
      ? el('SSEAlgorithm', SSE_KMS) + el('KMSMasterKeyID', rule.kmsKeyId)
      : el('SSEAlgorithm', SSE_S3);
  const byDefault = `<ApplyServerSideEncryptionByDefault>${algorithm}</ApplyServerSideEncryptionByDefault>`;
  sendXml(
    ctx,
    'ServerSideEncryptionConfiguration',
    `<Rule>${byDefault}${el('BucketKeyEnabled', rule?.bucketKeyEnabled ?? false)}</Rule>`,
  );
}

export async function putBucketEncryption(ctx: Context<'PutBucketEncryption'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const rules = child(await xmlBody(ctx, ['Rule']), 'ServerSideEncryptionConfiguration')['Rule'];
  // AWS takes exactly one rule.
  if (!Array.isArray(rules) || rules.length !== 1) throw malformed();
  const rule: unknown = rules[0];
  if (typeof rule !== 'object' || rule === null) throw malformed();
  const byDefault = child(rule, 'ApplyServerSideEncryptionByDefault');
  const algorithm = text(byDefault, 'SSEAlgorithm');
  checkAlgorithm(algorithm, malformed);
  const kmsKeyId = text(byDefault, 'KMSMasterKeyID')?.trim();
  if (kmsKeyId !== undefined && algorithm !== SSE_KMS) {
    throw new S3Error(
      'InvalidArgument',
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
    );
  }
  if (algorithm === SSE_KMS) {
    // No account-wide aws/s3 key here: the rule names one of the store's KMS keys.
    if (!kmsKeyId) throw new S3Error('InvalidArgument', 'aws:kms as a bucket default needs a KMSMasterKeyID here');
    await ctx.store.kms.require(kmsKeyId);
  }
  const bucketKey =
    text(rule as Record<string, unknown>, 'BucketKeyEnabled')
      ?.trim()
      .toLowerCase() ?? 'false';
  if (bucketKey !== 'true' && bucketKey !== 'false') throw malformed();
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({
    ...settings,
    encryption: { bucketKeyEnabled: bucketKey === 'true', ...(kmsKeyId ? { kmsKeyId } : {}) },
  }));
  sendEmpty(ctx);
}

/** Back to AWS's default rule (the objects stay encrypted: they always are). */
export async function deleteBucketEncryption(ctx: Context<'DeleteBucketEncryption'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, encryption: undefined }));
  sendEmpty(ctx, 204);
}

/**
 * The request's encryption headers, checked before any operation runs: SSE-C with
 * `x-amz-server-side-encryption` (AES256 or KMS) is a conflict, 400 InvalidArgument as from AWS
 * (the SSE-C keys themselves are checked by the operations that take them, sse-c.ts);
 * `x-amz-server-side-encryption` on a write must be AES256 or aws:kms (dsse: 501), the KMS key
 * and context come only with aws:kms (the key's existence is the write's check, sse-kms.ts); on
 * an upload's steps they are ignored, elsewhere they are 400 as from AWS.
 */
export function checkEncryptionHeaders(ctx: Context): void {
  const requested = header(ctx, 'x-amz-server-side-encryption');
  const kmsKey = header(ctx, KMS_KEY_ID_HEADER) ?? header(ctx, KMS_CONTEXT_HEADER);
  if (requested === undefined && kmsKey === undefined) return;
  if (namesCustomerKey(ctx)) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
    );
  }
  if (UPLOAD_STEPS.has(ctx.route.endpoint.kind)) return;
  if (!WRITES.has(ctx.route.endpoint.kind)) {
    throw invalidArgument(
      'x-amz-server-side-encryption header is not supported for this operation.',
      'x-amz-server-side-encryption',
      requested ?? '',
    );
  }
  checkAlgorithm(requested, () =>
    invalidArgument(
      'The encryption method specified is not supported',
      'x-amz-server-side-encryption',
      requested ?? '',
    ),
  );
  if (kmsKey !== undefined && requested !== SSE_KMS) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
    );
  }
}

/** AES256 and aws:kms pass; dual-layer KMS is 501 (none here); anything else (or nothing) is `invalid()`. */
function checkAlgorithm(algorithm: string | undefined, invalid: () => S3Error): void {
  if (algorithm === SSE_S3 || algorithm === SSE_KMS) return;
  if (algorithm === DSSE_KMS) {
    throw new S3Error(
      'NotImplemented',
      `Server-side encryption with ${algorithm} (dual-layer) is not supported: use aws:kms or AES256.`,
    );
  }
  throw invalid();
}
