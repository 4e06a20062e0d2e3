import { isIP } from 'node:net';
import { MetaError } from '../../src/meta/errors.js';
import { ownerOf } from '../auth/acl.js';
import { bucketOf, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, isoTime, malformed, text } from '../xml.js';
import { requestAcl } from './acl.js';

/** S3's naming rules for new buckets (general purpose buckets). */
export function validBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    isIP(name) === 0 &&
    !name.startsWith('xn--') &&
    !name.startsWith('sthree-') &&
    !name.endsWith('-s3alias') &&
    !name.endsWith('--ol-s3')
  );
}

export async function listBuckets(ctx: Context<'ListBuckets'>): Promise<void> {
  const { identity } = ctx.auth;
  const buckets = identity.root
    ? await ctx.meta.listBuckets()
    : (await Promise.all((await ctx.meta.listGrants(identity.accessKeyId)).map((g) => ctx.meta.getBucket(g.bucket)))).flatMap((b) => b ?? []);
  const items = buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', isoTime(b.created))}</Bucket>`).join('');
  const owner = ownerOf(identity.accessKeyId);
  sendXml(ctx, 'ListAllMyBucketsResult', `<Owner>${el('ID', owner.id)}${el('DisplayName', owner.displayName)}</Owner><Buckets>${items}</Buckets>`);
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
  try {
    const owner = ownerOf(ctx.auth.identity.accessKeyId);
    await ctx.store.createBucket(bucket, { owner: ctx.auth.identity.accessKeyId, acl: requestAcl(ctx, owner, owner) });
  } catch (e) {
    // Only root creates buckets, and root owns every bucket.
    if (e instanceof MetaError && e.code === 'BucketAlreadyExists') {
      throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
    }
    throw e;
  }
  sendEmpty(ctx, 200, { location: `/${bucket}` });
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
 * Only Suspended is accepted: versions are not kept yet, and a bucket that said Enabled would
 * promise clients a history that is not there.
 */
export async function putBucketVersioning(ctx: Context<'PutBucketVersioning'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const status = text(child(await xmlBody(ctx), 'VersioningConfiguration'), 'Status');
  if (status === 'Enabled') throw new S3Error('NotImplemented', 'Object versioning is not supported yet.');
  if (status !== 'Suspended') throw malformed();
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, versioning: 'Suspended' }));
  sendEmpty(ctx);
}
