import type { BucketSettings, PublicAccessBlock } from '../../src/meta/meta-store.js';
import { requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, malformed, text } from '../xml.js';
import { grantsOwnersOnly, invalidAclWithOwnership } from './acl.js';

/**
 * S3 Block Public Access and Object Ownership of a bucket (Get/Put/Delete of each). What they
 * change is applied where ACLs and policies are set (ops/acl.ts, ops/policy.ts) and weighed
 * (auth/request-access.ts).
 */

const FLAGS: ReadonlyArray<[keyof PublicAccessBlock, string]> = [
  ['blockPublicAcls', 'BlockPublicAcls'],
  ['ignorePublicAcls', 'IgnorePublicAcls'],
  ['blockPublicPolicy', 'BlockPublicPolicy'],
  ['restrictPublicBuckets', 'RestrictPublicBuckets'],
];
export const OWNERSHIPS: ReadonlyArray<NonNullable<BucketSettings['ownership']>> = [
  'BucketOwnerEnforced',
  'BucketOwnerPreferred',
  'ObjectWriter',
];

export async function getPublicAccessBlock(ctx: Context<'GetPublicAccessBlock'>): Promise<void> {
  const block = (await requireBucket(ctx)).settings.publicAccessBlock;
  if (!block)
    throw new S3Error('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found');
  sendXml(ctx, 'PublicAccessBlockConfiguration', FLAGS.map(([flag, name]) => el(name, block[flag])).join(''));
}

export async function putPublicAccessBlock(ctx: Context<'PutPublicAccessBlock'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const doc = child(await xmlBody(ctx), 'PublicAccessBlockConfiguration');
  const flag = (name: string): boolean => {
    const value = text(doc, name)?.trim().toLowerCase();
    if (value !== undefined && value !== 'true' && value !== 'false') throw malformed();
    return value === 'true';
  };
  const block = Object.fromEntries(FLAGS.map(([key, name]) => [key, flag(name)])) as unknown as PublicAccessBlock;
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, publicAccessBlock: block }));
  sendEmpty(ctx);
}

export async function deletePublicAccessBlock(ctx: Context<'DeletePublicAccessBlock'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, publicAccessBlock: undefined }));
  sendEmpty(ctx, 204);
}

export async function getBucketOwnershipControls(ctx: Context<'GetBucketOwnershipControls'>): Promise<void> {
  const ownership = (await requireBucket(ctx)).settings.ownership;
  if (!ownership) throw new S3Error('OwnershipControlsNotFoundError', 'The bucket ownership controls were not found');
  sendXml(ctx, 'OwnershipControls', `<Rule>${el('ObjectOwnership', ownership)}</Rule>`);
}

export async function putBucketOwnershipControls(ctx: Context<'PutBucketOwnershipControls'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const ownership = text(
    child(child(await xmlBody(ctx), 'OwnershipControls'), 'Rule'),
    'ObjectOwnership',
  ) as BucketSettings['ownership'];
  if (!ownership || !OWNERSHIPS.includes(ownership)) throw malformed();
  const { acl } = bucket.settings;
  if (ownership === 'BucketOwnerEnforced' && acl && !grantsOwnersOnly(acl, acl.owner)) throw invalidAclWithOwnership();
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, ownership }));
  sendEmpty(ctx);
}

export async function deleteBucketOwnershipControls(ctx: Context<'DeleteBucketOwnershipControls'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, ownership: undefined }));
  sendEmpty(ctx, 204);
}
