import { isPublicPolicy, parsePolicy } from '../auth/policy.js';
import { contentMd5, requireBucket, sendEmpty, sendXml, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { el, readSmallBody } from '../xml.js';

/** Bucket policies: stored as put (GetBucketPolicy returns the text verbatim), refused when malformed. */

export async function putBucketPolicy(ctx: Context<'PutBucketPolicy'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const text = await readSmallBody(ctx.body().body, contentMd5(ctx));
  const policy = parsePolicy(text, bucket.name);
  if (bucket.settings.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(policy))
    throw new S3Error('AccessDenied', 'Access Denied');
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, policy: text }));
  sendEmpty(ctx, 204);
}

export async function getBucketPolicy(ctx: Context<'GetBucketPolicy'>): Promise<void> {
  const body = Buffer.from(policyText(await requireBucket(ctx)));
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  ctx.res.end(body);
}

export async function deleteBucketPolicy(ctx: Context<'DeleteBucketPolicy'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, policy: undefined }));
  sendEmpty(ctx, 204);
}

export async function getBucketPolicyStatus(ctx: Context<'GetBucketPolicyStatus'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const isPublic = isPublicPolicy(parsePolicy(policyText(bucket), bucket.name));
  sendXml(ctx, 'PolicyStatus', el('IsPublic', isPublic));
}

function policyText(bucket: { settings: { policy?: string } }): string {
  if (bucket.settings.policy === undefined) throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist');
  return bucket.settings.policy;
}
