import type { Bucket, BucketSettings } from '../../src/meta/meta-store.js';
import type { ObjectLock, ObjectManifest } from '../../src/meta/manifest.js';
import { authorize } from '../auth/access.js';
import { bucketOf, header, keyOf, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, isoTime, malformed, text } from '../xml.js';

type Mode = NonNullable<ObjectLock['mode']>;
const MODES: readonly string[] = ['GOVERNANCE', 'COMPLIANCE'];

function missingConfiguration(): S3Error {
  return new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
}

/** The lock a PUT names in its `x-amz-object-lock-*` headers; InvalidRequest on a bucket without object lock. */
export function lockFromHeaders(ctx: Context, bucket: Bucket | null): ObjectLock | undefined {
  return lockFrom((name) => header(ctx, name), bucket);
}

/** The lock named by `x-amz-object-lock-*` values (request headers, or a POST form's fields). */
export function lockFrom(value: (name: string) => string | undefined, bucket: Bucket | null): ObjectLock | undefined {
  const mode = value('x-amz-object-lock-mode');
  const until = value('x-amz-object-lock-retain-until-date');
  const hold = value('x-amz-object-lock-legal-hold');
  if (mode === undefined && until === undefined && hold === undefined) return undefined;
  if (bucket && !bucket.settings.objectLock) throw missingConfiguration();
  const lock: ObjectLock = {};
  if (mode !== undefined || until !== undefined) {
    if (mode === undefined || until === undefined) {
      throw new S3Error(
        'InvalidArgument',
        'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      );
    }
    Object.assign(lock, retention(mode, until));
  }
  if (hold !== undefined) lock.legalHold = legalHold(hold);
  return lock;
}

function retention(mode: string, until: string): { mode: Mode; retainUntil: number } {
  if (!MODES.includes(mode)) throw new S3Error('InvalidArgument', 'Unknown wormMode directive.');
  const retainUntil = Date.parse(until);
  if (Number.isNaN(retainUntil))
    throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format');
  if (retainUntil <= Date.now()) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  return { mode: mode as Mode, retainUntil };
}

function legalHold(status: string): boolean {
  if (status !== 'ON' && status !== 'OFF')
    throw new S3Error('InvalidArgument', 'Legal Hold must be either of ON or OFF');
  return status === 'ON';
}

/** The `x-amz-object-lock-*` headers of a GET or HEAD. */
export function lockHeaders(manifest: ObjectManifest): Record<string, string> {
  const lock = manifest.lock;
  if (!lock) return {};
  const headers: Record<string, string> = {};
  if (lock.mode && lock.retainUntil !== undefined) {
    headers['x-amz-object-lock-mode'] = lock.mode;
    headers['x-amz-object-lock-retain-until-date'] = isoTime(lock.retainUntil);
  }
  if (lock.legalHold !== undefined) headers['x-amz-object-lock-legal-hold'] = lock.legalHold ? 'ON' : 'OFF';
  return headers;
}

/** `x-amz-bypass-governance-retention: true`, which only a key with owner rights may send. */
export async function bypassGovernance(
  ctx: Context<'DeleteObject' | 'DeleteObjects' | 'PutObjectRetention'>,
): Promise<boolean> {
  if (header(ctx, 'x-amz-bypass-governance-retention')?.toLowerCase() !== 'true') return false;
  await authorize(ctx.meta, ctx.auth.identity, bucketOf(ctx), 'owner');
  return true;
}

export async function getObjectLockConfiguration(ctx: Context<'GetObjectLockConfiguration'>): Promise<void> {
  const lock = (await requireBucket(ctx)).settings.objectLock;
  if (!lock)
    throw new S3Error(
      'ObjectLockConfigurationNotFoundError',
      'Object Lock configuration does not exist for this bucket',
    );
  const rule = lock.defaultRetention;
  const period = rule ? (rule.days !== undefined ? el('Days', rule.days) : el('Years', rule.years ?? 0)) : '';
  sendXml(
    ctx,
    'ObjectLockConfiguration',
    el('ObjectLockEnabled', 'Enabled') +
      (rule ? `<Rule><DefaultRetention>${el('Mode', rule.mode)}${period}</DefaultRetention></Rule>` : ''),
  );
}

/**
 * Sets the default retention, and enables object lock on an existing bucket whose versioning is
 * Enabled (AWS since 2023, API_PutObjectLockConfiguration); 409 InvalidBucketState otherwise.
 * Once enabled, object lock stays and versioning can no longer be suspended.
 */
export async function putObjectLockConfiguration(ctx: Context<'PutObjectLockConfiguration'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const config = child(await xmlBody(ctx), 'ObjectLockConfiguration');
  if (text(config, 'ObjectLockEnabled') !== 'Enabled') throw malformed();
  let objectLock: NonNullable<BucketSettings['objectLock']> = {};
  if (config['Rule'] !== undefined) {
    const rule = child(child(config, 'Rule'), 'DefaultRetention');
    const mode = text(rule, 'Mode');
    const days = text(rule, 'Days');
    const years = text(rule, 'Years');
    if (mode === undefined || !MODES.includes(mode) || (days === undefined) === (years === undefined))
      throw malformed();
    const count = Number(days ?? years);
    if (!Number.isInteger(count) || count <= 0)
      throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value');
    objectLock = {
      defaultRetention: { mode: mode as Mode, ...(days !== undefined ? { days: count } : { years: count }) },
    };
  }
  // Checked in the settings' transaction: a concurrent suspension of versioning cannot slip in.
  await ctx.store.updateBucketSettings(bucket.name, (settings) => {
    if (!settings.objectLock && settings.versioning !== 'Enabled')
      throw new S3Error(
        'InvalidBucketState',
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
      );
    return { ...settings, objectLock };
  });
  sendEmpty(ctx);
}

/** The version a retention or legal hold request names, in a bucket with object lock. */
async function lockedVersion(
  ctx: Context<'GetObjectRetention' | 'PutObjectRetention' | 'GetObjectLegalHold' | 'PutObjectLegalHold'>,
): Promise<ObjectManifest> {
  if (!(await requireBucket(ctx)).settings.objectLock) throw missingConfiguration();
  return ctx.store.head(bucketOf(ctx), keyOf(ctx), ctx.route.endpoint.versionId);
}

export async function getObjectRetention(ctx: Context<'GetObjectRetention'>): Promise<void> {
  const { lock } = await lockedVersion(ctx);
  if (!lock?.mode || lock.retainUntil === undefined)
    throw new S3Error('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
  sendXml(ctx, 'Retention', el('Mode', lock.mode) + el('RetainUntilDate', isoTime(lock.retainUntil)));
}

export async function putObjectRetention(ctx: Context<'PutObjectRetention'>): Promise<void> {
  await lockedVersion(ctx);
  const doc = child(await xmlBody(ctx), 'Retention');
  const mode = text(doc, 'Mode');
  const until = text(doc, 'RetainUntilDate');
  // The schema's enumeration: any other mode (even "governance") is not valid XML for S3.
  if ((mode === undefined) !== (until === undefined) || (mode !== undefined && !MODES.includes(mode)))
    throw malformed();
  const next = mode === undefined ? null : retention(mode, until!);
  const bypass = await bypassGovernance(ctx);
  await ctx.store.updateObjectLock(
    bucketOf(ctx),
    keyOf(ctx),
    ctx.route.endpoint.versionId,
    { retention: next },
    bypass,
  );
  sendEmpty(ctx);
}

export async function getObjectLegalHold(ctx: Context<'GetObjectLegalHold'>): Promise<void> {
  const { lock } = await lockedVersion(ctx);
  if (lock?.legalHold === undefined)
    throw new S3Error('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
  sendXml(ctx, 'LegalHold', el('Status', lock.legalHold ? 'ON' : 'OFF'));
}

export async function putObjectLegalHold(ctx: Context<'PutObjectLegalHold'>): Promise<void> {
  await lockedVersion(ctx);
  const status = text(child(await xmlBody(ctx), 'LegalHold'), 'Status');
  if (status !== 'ON' && status !== 'OFF') throw malformed();
  await ctx.store.updateObjectLock(bucketOf(ctx), keyOf(ctx), ctx.route.endpoint.versionId, {
    legalHold: legalHold(status),
  });
  sendEmpty(ctx);
}
