import type { BucketInfo } from '../../src/meta/meta-store.js';
import { validBucketName, withVersioning } from '../ops/buckets.js';
import { S3Error } from '../errors.js';
import { allow, type ApiContext } from './context.js';
import { ConsoleError, readJson, sendJson, stringField } from './http.js';

/** GET /api/buckets: the buckets the key may see (root: all; others: their grants), with usage. */
export async function listBuckets(ctx: ApiContext): Promise<void> {
  const buckets: BucketInfo[] = ctx.identity.root
    ? await ctx.meta.listBuckets()
    : (
        await Promise.all(
          (await ctx.meta.listGrants(ctx.identity.accessKeyId)).map((g) => ctx.meta.getBucket(g.bucket)),
        )
      ).flatMap((b) => b ?? []);
  const rows = await Promise.all(buckets.map((b) => bucketRow(ctx, b.name)));
  sendJson(ctx.res, 200, { buckets: rows.flatMap((r) => r ?? []) });
}

/** GET /api/buckets/NAME: one bucket's row, for whoever may list it. */
export async function getBucket(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'ListObjectsV2', bucket);
  const row = await bucketRow(ctx, bucket);
  if (!row) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  sendJson(ctx.res, 200, row);
}

/**
 * What the console shows of a bucket: erasure, versioning, object lock, and its usage counted
 * by the metadata (current objects and bytes, every stored version); null when it is gone.
 */
async function bucketRow(ctx: ApiContext, name: string) {
  const bucket = await ctx.meta.getBucket(name);
  if (!bucket) return null;
  const { settings } = bucket;
  return {
    name,
    created: bucket.created,
    erasure: settings.erasure ?? { dataShards: ctx.store.k, parityShards: ctx.store.m },
    versioning: settings.versioning ?? 'Off',
    objectLock: settings.objectLock ? { defaultRetention: settings.objectLock.defaultRetention ?? null } : null,
    ...(await ctx.meta.bucketUsage(name)),
  };
}

/** PUT /api/buckets/NAME/versioning {status: Enabled|Suspended}: as PutBucketVersioning (owner right). */
export async function setVersioning(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'PutBucketVersioning', bucket);
  const status = stringField(await readJson(ctx.req), 'status');
  if (status !== 'Enabled' && status !== 'Suspended')
    throw new ConsoleError('BadRequest', 'status must be Enabled or Suspended (a bucket never goes back to Off)');
  await ctx.store.updateBucketSettings(bucket, (settings) => withVersioning(settings, status));
  sendJson(ctx.res, 200, { versioning: status });
}

/** POST /api/buckets {name, dataShards?, parityShards?, versioning?, objectLock?}: root only, as CreateBucket. */
export async function createBucket(ctx: ApiContext): Promise<void> {
  await allow(ctx, 'CreateBucket', null);
  const body = await readJson(ctx.req);
  const name = stringField(body, 'name');
  if (!validBucketName(name))
    throw new S3Error(
      'InvalidBucketName',
      'The specified bucket is not valid: 3-63 characters, lowercase letters, digits, dots and hyphens.',
    );
  const k = body.dataShards ?? ctx.store.k;
  const m = body.parityShards ?? ctx.store.m;
  const backends = ctx.backends.list().length;
  if (
    !Number.isInteger(k) ||
    !Number.isInteger(m) ||
    (k as number) < 1 ||
    (m as number) < 0 ||
    (k as number) + (m as number) > backends
  ) {
    throw new ConsoleError('BadRequest', `erasure k+m needs k >= 1, m >= 0 and k+m at most the ${backends} backends`);
  }
  const erasure = { dataShards: k as number, parityShards: m as number };
  // As CreateBucket: object lock is chosen at creation and keeps versioning Enabled for good.
  const objectLock = body.objectLock === true;
  const versioning = objectLock || body.versioning === true ? 'Enabled' : undefined;
  await ctx.store.createBucket(name, {
    owner: ctx.identity.accessKeyId,
    erasure,
    ...(versioning ? { versioning } : {}),
    ...(objectLock ? { objectLock: {} } : {}),
  });
  sendJson(ctx.res, 201, { name, erasure, versioning: versioning ?? 'Off', objectLock });
}

/** DELETE /api/buckets/NAME: as DeleteBucket (owner right; refused while objects remain). */
export async function deleteBucket(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'DeleteBucket', bucket);
  await ctx.store.deleteBucket(bucket);
  sendJson(ctx.res, 200, {});
}
