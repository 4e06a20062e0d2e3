import type { Bucket, LifecycleFilter, LifecycleRule } from '../../src/meta/meta-store.js';
import type { ObjectManifest } from '../../src/meta/manifest.js';
import {
  currentExpiry,
  DAY_MS,
  expirationHeader,
  LIFECYCLE_ARRAYS,
  LifecycleError,
  parseLifecycle,
} from '../../src/lifecycle/index.js';
import { requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { el, isoTime } from '../xml.js';

/**
 * Put/Get/DeleteBucketLifecycleConfiguration. The rules are validated by src/lifecycle/ and kept
 * in the bucket's settings (so in its encrypted metadata copies, restored by `meta rebuild`);
 * the gateway's lifecycle worker applies them. Transitions answer 501: one storage class here.
 */

export async function putBucketLifecycle(ctx: Context<'PutBucketLifecycle'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  let rules: LifecycleRule[];
  try {
    rules = parseLifecycle(await xmlBody(ctx, LIFECYCLE_ARRAYS));
  } catch (e) {
    if (e instanceof LifecycleError) throw new S3Error(e.code, e.message);
    throw e;
  }
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, lifecycle: rules }));
  sendEmpty(ctx);
}

export async function getBucketLifecycle(ctx: Context<'GetBucketLifecycle'>): Promise<void> {
  const rules = (await requireBucket(ctx)).settings.lifecycle;
  if (!rules?.length) throw new S3Error('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist');
  sendXml(ctx, 'LifecycleConfiguration', rules.map(ruleXml).join(''));
}

export async function deleteBucketLifecycle(ctx: Context<'DeleteBucketLifecycle'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({
    ...settings,
    lifecycle: undefined,
    lifecycleProgress: undefined,
  }));
  sendEmpty(ctx, 204);
}

function ruleXml(rule: LifecycleRule): string {
  let xml = el('ID', rule.id);
  if (rule.filterForm === 'prefix') xml += el('Prefix', rule.filter.prefix ?? '');
  else if (rule.filterForm === 'filter') xml += `<Filter>${conditionsXml(rule.filter)}</Filter>`;
  else if (rule.filterForm === 'and') xml += `<Filter><And>${conditionsXml(rule.filter)}</And></Filter>`;
  xml += el('Status', rule.enabled ? 'Enabled' : 'Disabled');
  const e = rule.expiration;
  if (e) {
    const inner =
      e.days !== undefined
        ? el('Days', e.days)
        : e.date !== undefined
          ? el('Date', isoTime(e.date))
          : el('ExpiredObjectDeleteMarker', e.expiredObjectDeleteMarker === true);
    xml += `<Expiration>${inner}</Expiration>`;
  }
  const n = rule.noncurrentExpiration;
  if (n) {
    const newer =
      n.newerNoncurrentVersions === undefined ? '' : el('NewerNoncurrentVersions', n.newerNoncurrentVersions);
    xml += `<NoncurrentVersionExpiration>${el('NoncurrentDays', n.noncurrentDays)}${newer}</NoncurrentVersionExpiration>`;
  }
  if (rule.abortIncompleteUploadDays !== undefined)
    xml += `<AbortIncompleteMultipartUpload>${el('DaysAfterInitiation', rule.abortIncompleteUploadDays)}</AbortIncompleteMultipartUpload>`;
  return `<Rule>${xml}</Rule>`;
}

function conditionsXml(f: LifecycleFilter): string {
  let xml = f.prefix !== undefined ? el('Prefix', f.prefix) : '';
  for (const t of f.tags ?? []) xml += `<Tag>${el('Key', t.key)}${el('Value', t.value)}</Tag>`;
  if (f.objectSizeGreaterThan !== undefined) xml += el('ObjectSizeGreaterThan', f.objectSizeGreaterThan);
  if (f.objectSizeLessThan !== undefined) xml += el('ObjectSizeLessThan', f.objectSizeLessThan);
  return xml;
}

/**
 * `x-amz-expiration` of an object's current version that an enabled Expiration rule (Days or
 * Date) matches, by prefix, tags and size: the earliest such expiry and its rule. Nothing
 * otherwise. In 24-hour days even when QSTOR_LIFECYCLE_DAY_SECONDS shortens the worker's day:
 * the header is AWS's date, as Ceph's with rgw_lc_debug_interval (what s3-tests expect).
 */
export function expirationHeaders(
  bucket: Bucket | null,
  key: string,
  manifest: ObjectManifest,
): Record<string, string> {
  const rules = bucket?.settings.lifecycle;
  if (!rules?.length) return {};
  const candidate = { key, size: manifest.size, tags: manifest.tags ?? {} };
  const expiry = currentExpiry(rules, candidate, manifest.lastModified, DAY_MS);
  return expiry ? { 'x-amz-expiration': expirationHeader(expiry) } : {};
}
