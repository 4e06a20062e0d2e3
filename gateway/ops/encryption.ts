import { header, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { invalidArgument } from '../router/query.js';
import { child, el, malformed, text } from '../xml.js';
import { customerKeyHeaders, namesCustomerKey, type CustomerKey } from './sse-c.js';

/**
 * Server-side encryption as S3 clients see it. The store encrypts every object (AES-256-GCM,
 * per-object keys wrapped by the master key), which is what AWS calls SSE-S3 (`AES256`): every
 * bucket's default, every object's answer. Get/Put/DeleteBucketEncryption keep the bucket's rule
 * in its settings (so in its encrypted metadata copies, restored by `meta rebuild`). There is no
 * KMS here: `aws:kms` and `aws:kms:dsse` are refused with 501 NotImplemented (a valid request for
 * a feature we lack, not the client's mistake). Customer keys (SSE-C): see sse-c.ts.
 */

/** AWS's name of the one algorithm there is here. */
const SSE_S3 = 'AES256';
const KMS = ['aws:kms', 'aws:kms:dsse'];

/** What AWS answers on a write, GET and HEAD of an SSE-S3 object: every object without SSE-C here. */
const SSE_HEADERS: Readonly<Record<string, string>> = { 'x-amz-server-side-encryption': SSE_S3 };

/**
 * What a write, GET or HEAD answers about the object's encryption: SSE-S3, or for an SSE-C
 * object its algorithm and the MD5 of the key the request gave (never the key).
 */
export function objectEncryptionHeaders(
  customerEncrypted: boolean,
  given?: CustomerKey,
): Readonly<Record<string, string>> {
  return customerEncrypted ? customerKeyHeaders(given) : SSE_HEADERS;
}

/** The operations whose request may name the object's encryption (`x-amz-server-side-encryption`). */
const WRITES = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']);

export async function getBucketEncryption(ctx: Context<'GetBucketEncryption'>): Promise<void> {
  const rule = (await requireBucket(ctx)).settings.encryption;
  // A bucket never put one has AWS's default since 2023: SSE-S3, no bucket key.
  const byDefault = `<ApplyServerSideEncryptionByDefault>${el('SSEAlgorithm', SSE_S3)}</ApplyServerSideEncryptionByDefault>`;
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
  checkAlgorithm(text(byDefault, 'SSEAlgorithm'), malformed);
  if (text(byDefault, 'KMSMasterKeyID') !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
    );
  }
  const bucketKey =
    text(rule as Record<string, unknown>, 'BucketKeyEnabled')
      ?.trim()
      .toLowerCase() ?? 'false';
  if (bucketKey !== 'true' && bucketKey !== 'false') throw malformed();
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({
    ...settings,
    encryption: { bucketKeyEnabled: bucketKey === 'true' },
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
 * `x-amz-server-side-encryption` on a write must be AES256 (KMS: 501), and elsewhere is 400 as
 * from AWS.
 */
export function checkEncryptionHeaders(ctx: Context): void {
  const requested = header(ctx, 'x-amz-server-side-encryption');
  const kmsKey = header(ctx, 'x-amz-server-side-encryption-aws-kms-key-id');
  if (requested === undefined && kmsKey === undefined) return;
  if (namesCustomerKey(ctx)) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
    );
  }
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
  if (kmsKey !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
    );
  }
}

/** AES256 passes; KMS is 501 (none here); anything else (or nothing) is `invalid()`. */
function checkAlgorithm(algorithm: string | undefined, invalid: () => S3Error): void {
  if (algorithm === SSE_S3) return;
  if (algorithm !== undefined && KMS.includes(algorithm)) {
    throw new S3Error(
      'NotImplemented',
      `Server-side encryption with ${algorithm} is not supported: this server has no KMS; every object is encrypted with AES256 (SSE-S3).`,
    );
  }
  throw invalid();
}
