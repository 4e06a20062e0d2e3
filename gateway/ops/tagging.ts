import { Readable } from 'node:stream';
import { header, keyOf, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, malformed, readXml } from '../xml.js';
import { updateManifest } from './acl.js';
import { versionHeader } from './object-headers.js';

/**
 * Object and bucket tags: Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging, the
 * `x-amz-tagging` header of a PUT, copy or multipart upload and the `tagging` field of a POST
 * form. AWS's limits, refused with InvalidTag.
 */

export type Tags = Record<string, string>;

const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;
const MAX_KEY = 128;
const MAX_VALUE = 256;
/** Letters, digits, white space and + - = . _ : / @, in any script (AWS's tag charset). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function invalidTag(message: string): S3Error {
  return new S3Error('InvalidTag', message);
}

/** Tags as AWS accepts them: at most `max`, each key 1-128 characters, each value at most 256. */
export function checkTags(pairs: ReadonlyArray<[string, string]>, max = MAX_OBJECT_TAGS): Tags {
  if (pairs.length > max)
    throw invalidTag(
      max === MAX_OBJECT_TAGS
        ? `Object tags cannot be greater than ${max}`
        : `Bucket tag count cannot be greater than ${max}`,
    );
  const tags: Tags = {};
  for (const [key, value] of pairs) {
    if ([...key].length > MAX_KEY) throw invalidTag(`The TagKey you have provided is too long, max ${MAX_KEY}`);
    if ([...value].length > MAX_VALUE) throw invalidTag(`The TagValue you have provided is too long, max ${MAX_VALUE}`);
    if (key === '' || !TAG_CHARS.test(key)) throw invalidTag('The TagKey you have provided is invalid');
    if (!TAG_CHARS.test(value)) throw invalidTag('The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) throw invalidTag('System tags cannot be added/updated by requester');
    if (key in tags) throw invalidTag('Cannot provide multiple Tags with the same key');
    tags[key] = value;
  }
  return tags;
}

/** The tags of `x-amz-tagging` (URL-encoded `k=v&k2=v2`), none when absent. */
export function requestTags(ctx: Context): Tags | undefined {
  const value = header(ctx, 'x-amz-tagging');
  return value === undefined ? undefined : checkTags([...new URLSearchParams(value)]);
}

/** A copy's tags: the source's (`x-amz-tagging-directive: COPY`, the default) or the request's (REPLACE). */
export function copyTags(ctx: Context, source: Tags | undefined): Tags | undefined {
  const directive = (header(ctx, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Error('InvalidArgument', 'Unknown tagging directive.');
  return directive === 'REPLACE' ? requestTags(ctx) : source;
}

export async function getObjectTagging(ctx: Context<'GetObjectTagging'>): Promise<void> {
  const { bucket, versionId } = ctx.route.endpoint;
  const manifest = await ctx.store.head(bucket, keyOf(ctx), versionId);
  sendTags(ctx, manifest.tags ?? {}, versionHeader(manifest, versionId));
}

export async function putObjectTagging(ctx: Context<'PutObjectTagging'>): Promise<void> {
  const { bucket, versionId } = ctx.route.endpoint;
  const current = await ctx.store.head(bucket, keyOf(ctx), versionId);
  const tags = await tagsOfBody(ctx, MAX_OBJECT_TAGS);
  const updated = await updateManifest(ctx, current, (m) => ({ ...m, tags }));
  sendEmpty(ctx, 200, versionHeader(updated, versionId));
}

export async function deleteObjectTagging(ctx: Context<'DeleteObjectTagging'>): Promise<void> {
  const { bucket, versionId } = ctx.route.endpoint;
  const current = await ctx.store.head(bucket, keyOf(ctx), versionId);
  const updated = await updateManifest(ctx, current, ({ tags: _, ...m }) => m);
  sendEmpty(ctx, 204, versionHeader(updated, versionId));
}

export async function getBucketTagging(ctx: Context<'GetBucketTagging'>): Promise<void> {
  const tags = (await requireBucket(ctx)).settings.tags;
  if (!tags || Object.keys(tags).length === 0) throw new S3Error('NoSuchTagSet', 'The TagSet does not exist');
  sendTags(ctx, tags);
}

export async function putBucketTagging(ctx: Context<'PutBucketTagging'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const tags = await tagsOfBody(ctx, MAX_BUCKET_TAGS);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, tags }));
  sendEmpty(ctx, 204);
}

export async function deleteBucketTagging(ctx: Context<'DeleteBucketTagging'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, tags: undefined }));
  sendEmpty(ctx, 204);
}

/** A `<Tagging><TagSet><Tag><Key/><Value/></Tag>...` document. */
async function tagsOfBody(ctx: Context, max: number): Promise<Tags> {
  return tagsOfDocument(await xmlBody(ctx, ['Tag']), max);
}

/** The `tagging` field of a POST form: the same document as PutObjectTagging's body. */
export async function formTags(text: string): Promise<Tags> {
  return tagsOfDocument(await readXml(Readable.from([Buffer.from(text)]), ['Tag']), MAX_OBJECT_TAGS);
}

function tagsOfDocument(doc: Record<string, unknown>, max: number): Tags {
  const tagging = child(doc, 'Tagging');
  const set = tagging['TagSet'];
  const list = set === '' || set === undefined ? [] : (child(tagging, 'TagSet')['Tag'] ?? []);
  if (!Array.isArray(list)) throw malformed();
  return checkTags(
    list.map((t: unknown) => {
      const tag = t as Record<string, unknown>;
      if (typeof tag['Key'] !== 'string') throw malformed();
      return [tag['Key'], typeof tag['Value'] === 'string' ? tag['Value'] : ''];
    }),
    max,
  );
}

/** The TagSet in key order (as s3-tests expect; AWS documents no order, so sorting costs nothing). */
function sendTags(ctx: Context, tags: Tags, headers: Record<string, string> = {}): void {
  const items = Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `<Tag>${el('Key', k)}${el('Value', v)}</Tag>`)
    .join('');
  sendXml(ctx, 'Tagging', `<TagSet>${items}</TagSet>`, 200, headers);
}
