import { isIP } from 'node:net';
import { MetaError } from '../../src/meta/errors.js';
import type { BucketInfo, BucketSettings } from '../../src/meta/meta-store.js';
import { ownerOf } from '../auth/acl.js';
import { bucketOf, header, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, isoTime, malformed, text } from '../xml.js';
import { grantsOwnersOnly, invalidAclWithOwnership, requestAcl } from './acl.js';
import { decodeToken, encodeToken } from './list.js';
import { OWNERSHIPS } from './public-access.js';

/** Prefixes and suffixes AWS reserves (access points, Multi-Region Access Points, directory and table buckets). */
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * S3's naming rules for new (general purpose) buckets. Each dot-separated label begins and ends
 * with a letter or digit, as in a DNS name: `foo.-bar` and `foo-.bar` are refused, as by AWS.
 */
export function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9.-]{3,63}$/.test(name) &&
    name.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label)) &&
    isIP(name) === 0 &&
    !RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix)) &&
    !RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix))
  );
}

/**
 * The buckets the caller may see (root: all; a key: those granted to it; anonymous: none), by
 * name, paginated as AWS has since 2024 (`max-buckets`, `continuation-token`, `prefix`,
 * `bucket-region`); without those parameters, every bucket and no token.
 */
export async function listBuckets(ctx: Context<'ListBuckets'>): Promise<void> {
  const e = ctx.route.endpoint;
  const prefix = e.prefix ?? '';
  const after = e.continuationToken ? decodeToken(e.continuationToken) : '';
  const visible = await visibleBuckets(ctx);
  const matching =
    e.bucketRegion !== undefined && e.bucketRegion !== ctx.region
      ? []
      : visible.filter((b) => b.name.startsWith(prefix) && b.name > after).sort(byName);
  const page = e.maxBuckets === undefined ? matching : matching.slice(0, e.maxBuckets);
  const items = page
    .map(
      (b) =>
        `<Bucket>${el('Name', b.name)}${el('CreationDate', isoTime(b.created))}${el('BucketRegion', ctx.region)}</Bucket>`,
    )
    .join('');
  const { identity } = ctx.auth;
  // An anonymous caller owns nothing: no Owner to name.
  const owner = identity.anonymous ? null : ownerOf(identity.accessKeyId);
  let xml = owner ? `<Owner>${el('ID', owner.id)}${el('DisplayName', owner.displayName)}</Owner>` : '';
  xml += `<Buckets>${items}</Buckets>`;
  if (page.length < matching.length) xml += el('ContinuationToken', encodeToken(page[page.length - 1]!.name));
  if (prefix !== '') xml += el('Prefix', prefix);
  sendXml(ctx, 'ListAllMyBucketsResult', xml);
}

async function visibleBuckets(ctx: Context<'ListBuckets'>): Promise<BucketInfo[]> {
  const { identity } = ctx.auth;
  if (identity.anonymous) return [];
  if (identity.root) return ctx.meta.listBuckets();
  const granted = await ctx.meta.listGrants(identity.accessKeyId);
  return (await Promise.all(granted.map((g) => ctx.meta.getBucket(g.bucket)))).flatMap((b) => b ?? []);
}

function byName(a: BucketInfo, b: BucketInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export async function createBucket(ctx: Context<'CreateBucket'>): Promise<void> {
  const bucket = bucketOf(ctx);
  if (!validBucketName(bucket)) throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.');
  if (ctx.body().length !== 0) {
    const doc = await xmlBody(ctx);
    const constraint = text(child(doc, 'CreateBucketConfiguration'), 'LocationConstraint');
    if (constraint !== undefined && constraint !== '' && constraint !== ctx.region) {
      throw new S3Error('InvalidLocationConstraint', 'The specified location-constraint is not valid.');
    }
  }
  // Object lock is chosen at creation, and keeps versioning Enabled for good.
  const locked = header(ctx, 'x-amz-bucket-object-lock-enabled')?.toLowerCase() === 'true';
  const ownership = requestedOwnership(ctx);
  const { identity } = ctx.auth;
  const owner = ownerOf(identity.accessKeyId);
  const acl = await requestAcl(ctx, owner, owner);
  if (ownership === 'BucketOwnerEnforced' && !grantsOwnersOnly(acl, owner)) throw invalidAclWithOwnership();
  try {
    await ctx.store.createBucket(bucket, {
      owner: identity.accessKeyId,
      acl,
      ...(ownership ? { ownership } : {}),
      ...(locked ? { versioning: 'Enabled', objectLock: {} } : {}),
    });
    if (!identity.root) {
      // A key owns what it creates: every grant on it, as `qstor admin bucket allow` gives
      // (ListBuckets, the owner's operations, and a rebuild through the key's record).
      await ctx.meta.allow(identity.accessKeyId, bucket, { read: true, write: true, owner: true });
      await ctx.store.replica.putAccessKey(ctx.meta, identity.accessKeyId);
    }
  } catch (e) {
    // Only the owner gets this far (authorisation answers anyone else BucketAlreadyExists).
    if (!(e instanceof MetaError && e.code === 'BucketAlreadyExists')) throw e;
    // AWS's legacy rule for its North Virginia region: re-creating a bucket you own answers
    // 200 and resets its ACL; every other region answers BucketAlreadyOwnedByYou.
    if (ctx.region !== 'us-east-1') {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    }
    await ctx.store.updateBucketSettings(bucket, (settings) => ({ ...settings, acl }));
  }
  sendEmpty(ctx, 200, { location: `/${bucket}` });
}

/** Object Ownership chosen at creation (`x-amz-object-ownership`); none: no ownership controls. */
function requestedOwnership(ctx: Context): BucketSettings['ownership'] {
  const value = header(ctx, 'x-amz-object-ownership');
  if (value === undefined) return undefined;
  const ownership = OWNERSHIPS.find((o) => o === value);
  if (!ownership) throw new S3Error('InvalidArgument', 'Invalid x-amz-object-ownership header');
  return ownership;
}

export async function headBucket(ctx: Context<'HeadBucket'>): Promise<void> {
  await requireBucket(ctx);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.region });
}

export async function deleteBucket(ctx: Context<'DeleteBucket'>): Promise<void> {
  await ctx.store.deleteBucket(bucketOf(ctx));
  sendEmpty(ctx, 204);
}

export async function getBucketLocation(ctx: Context<'GetBucketLocation'>): Promise<void> {
  await requireBucket(ctx);
  // us-east-1 is the empty constraint, as in AWS.
  sendXml(ctx, 'LocationConstraint', ctx.region === 'us-east-1' ? '' : ctx.region);
}

export async function getBucketVersioning(ctx: Context<'GetBucketVersioning'>): Promise<void> {
  const status = (await requireBucket(ctx)).settings.versioning;
  sendXml(ctx, 'VersioningConfiguration', status ? el('Status', status) : '');
}

/**
 * Enabled or Suspended; a bucket never goes back to unversioned (S3 has no such status). MFA
 * delete needs an MFA device this gateway does not know: refused rather than ignored.
 */
export async function putBucketVersioning(ctx: Context<'PutBucketVersioning'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const config = child(await xmlBody(ctx), 'VersioningConfiguration');
  const status = text(config, 'Status');
  const mfaDelete = text(config, 'MfaDelete');
  if (mfaDelete === 'Enabled' || header(ctx, 'x-amz-mfa') !== undefined)
    throw new S3Error('NotImplemented', 'MFA delete is not supported.');
  if (mfaDelete !== undefined && mfaDelete !== 'Disabled') throw malformed();
  if (status !== 'Enabled' && status !== 'Suspended') throw malformed();
  await ctx.store.updateBucketSettings(bucket.name, (settings) => withVersioning(settings, status));
  sendEmpty(ctx);
}

/** The settings with versioning `status`; object lock keeps versioning Enabled for good. Shared with the console. */
export function withVersioning(settings: BucketSettings, status: 'Enabled' | 'Suspended'): BucketSettings {
  if (status === 'Suspended' && settings.objectLock) {
    throw new S3Error(
      'InvalidBucketState',
      'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    );
  }
  return { ...settings, versioning: status };
}
