import type { SseKms } from '../../src/meta/manifest.js';
import type { Bucket } from '../../src/meta/meta-store.js';
import { keyIdOf } from '../../src/kms/index.js';
import type { Context } from '../context.js';
import { S3Error } from '../errors.js';
import { isSecure, sseOverHttpAllowed } from './sse-c.js';

/**
 * Server-side encryption with KMS keys (SSE-KMS), the keys held by the store itself (src/kms,
 * `qstor admin kms create`). A write names `x-amz-server-side-encryption: aws:kms` and a key
 * (`-aws-kms-key-id`: its id or `arn:aws:kms:...:key/ID`), or falls under its bucket's default
 * rule; the object's data keys are then wrapped by a key derived from the master key, the KMS
 * key and the encryption context (pipeline/keys.ts kmsWrapKey), so deleting the KMS key makes
 * its objects unreadable. Without a key id the bucket default's key is used; there is no
 * account-wide `aws/s3` key here, so a write with neither is 400 InvalidArgument. An unknown key
 * is 400 KMS.NotFoundException (AWS's code). As AWS, a write naming SSE-KMS must come over TLS
 * (the QSTOR_SSE_C_OVER_HTTP=allow switch of SSE-C lifts that for both).
 */

export const SSE_KMS = 'aws:kms';
export const KMS_KEY_ID_HEADER = 'x-amz-server-side-encryption-aws-kms-key-id';
export const KMS_CONTEXT_HEADER = 'x-amz-server-side-encryption-context';
const BUCKET_KEY_HEADER = 'x-amz-server-side-encryption-bucket-key-enabled';

/**
 * The SSE-KMS of a write (PUT, POST, CopyObject, CreateMultipartUpload) whose fields `get`
 * reads: the one it names, or its bucket's default when it names no encryption (nor SSE-C);
 * undefined for SSE-S3 and SSE-C. The key must exist. The console's uploads, which name no
 * encryption, come here too for the bucket's default.
 */
export async function writeKms(
  ctx: Pick<Context, 'req' | 'store'>,
  get: (name: string) => string | undefined,
  bucket: Bucket | null,
  customerKey: boolean,
): Promise<SseKms | undefined> {
  const algorithm = get('x-amz-server-side-encryption');
  const rule = bucket?.settings.encryption;
  let named: string | undefined;
  if (algorithm === SSE_KMS) {
    if (!isSecure(ctx.req) && !sseOverHttpAllowed()) {
      throw new S3Error(
        'InvalidArgument',
        'Requests specifying Server Side Encryption with AWS KMS managed keys must be made over a secure connection.',
      );
    }
    named = get(KMS_KEY_ID_HEADER) ?? rule?.kmsKeyId;
    if (named === undefined) {
      throw new S3Error(
        'InvalidArgument',
        `Server Side Encryption with AWS KMS needs a key: name one in ${KMS_KEY_ID_HEADER} or in the bucket's default encryption (this server has no aws/s3 key).`,
      );
    }
  } else if (algorithm === undefined && !customerKey && rule?.kmsKeyId !== undefined) {
    named = rule.kmsKeyId;
  } else {
    return undefined;
  }
  await ctx.store.kms.require(named);
  const context = canonicalContext(get(KMS_CONTEXT_HEADER));
  const bucketKey = bucketKeyEnabled(get(BUCKET_KEY_HEADER)) ?? rule?.bucketKeyEnabled ?? false;
  return {
    keyId: named,
    ...(context !== undefined ? { context } : {}),
    ...(bucketKey ? { bucketKeyEnabled: true } : {}),
  };
}

/**
 * `x-amz-server-side-encryption-context`: base64 of a UTF-8 JSON object of string values, as
 * AWS takes it; kept as JSON with sorted keys, so the same pairs always bind the same wrapping.
 */
function canonicalContext(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const invalid = (): S3Error =>
    new S3Error('InvalidArgument', `${KMS_CONTEXT_HEADER} must be base64-encoded UTF-8 JSON of string key-value pairs`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const pairs = Object.entries(parsed);
  if (pairs.some(([, v]) => typeof v !== 'string')) throw invalid();
  return JSON.stringify(Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function bucketKeyEnabled(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') {
    throw new S3Error('InvalidArgument', `${BUCKET_KEY_HEADER} must be true or false`);
  }
  return v === 'true';
}

/** What a write, GET and HEAD of an SSE-KMS object answer: the key as the write named it. */
export function kmsHeaders(sseKms: SseKms): Record<string, string> {
  return {
    'x-amz-server-side-encryption': SSE_KMS,
    [KMS_KEY_ID_HEADER]: sseKms.keyId,
    ...(sseKms.bucketKeyEnabled ? { [BUCKET_KEY_HEADER]: 'true' } : {}),
  };
}

/** Whether data keys wrapped for `a` unwrap for `b` (same KMS key and context, or neither is SSE-KMS). */
export function sameKmsWrapping(a: SseKms | undefined, b: SseKms | undefined): boolean {
  if (!a || !b) return a === b;
  return keyIdOf(a.keyId) === keyIdOf(b.keyId) && a.context === b.context;
}
