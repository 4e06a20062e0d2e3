import type { BucketInfo } from '../../src/meta/meta-store.js';
import { validBucketName } from '../ops/buckets.js';
import { S3Error } from '../errors.js';
import { allow, type ApiContext } from './context.js';
import { ConsoleError, readJson, sendJson, stringField } from './http.js';

/** Buckets are counted up to this many objects; beyond it the count says "at least". */
const COUNT_LIMIT = 10_000;

/** GET /api/buckets: the buckets the key may see (root: all; others: their grants), with counts. */
export async function listBuckets(ctx: ApiContext): Promise<void> {
  const buckets: BucketInfo[] = ctx.identity.root
    ? await ctx.meta.listBuckets()
    : (
        await Promise.all(
          (await ctx.meta.listGrants(ctx.identity.accessKeyId)).map((g) => ctx.meta.getBucket(g.bucket)),
        )
      ).flatMap((b) => b ?? []);
  const rows = await Promise.all(
    buckets.map(async (b) => {
      const full = await ctx.meta.getBucket(b.name);
      return {
        name: b.name,
        created: b.created,
        erasure: full?.settings.erasure ?? { dataShards: ctx.store.k, parityShards: ctx.store.m },
        ...(await usage(ctx, b.name)),
      };
    }),
  );
  sendJson(ctx.res, 200, { buckets: rows });
}

/** Object count and bytes, from the listing (pages of 1000), stopped at COUNT_LIMIT. */
async function usage(
  ctx: ApiContext,
  bucket: string,
): Promise<{ objects: number; bytes: number; countIsLowerBound: boolean }> {
  let objects = 0;
  let bytes = 0;
  let startAfter: string | undefined;
  while (objects < COUNT_LIMIT) {
    const page = await ctx.meta.listObjects({ bucket, startAfter, maxKeys: 1000 });
    for (const e of page.entries) bytes += e.size;
    objects += page.entries.length;
    if (!page.isTruncated || page.nextMarker === null) return { objects, bytes, countIsLowerBound: false };
    startAfter = page.nextMarker;
  }
  return { objects, bytes, countIsLowerBound: true };
}

/** POST /api/buckets {name, dataShards?, parityShards?}: root only, as CreateBucket. */
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
  await ctx.store.createBucket(name, { owner: ctx.identity.accessKeyId, erasure });
  sendJson(ctx.res, 201, { name, erasure });
}

/** DELETE /api/buckets/NAME: as DeleteBucket (owner right; refused while objects remain). */
export async function deleteBucket(ctx: ApiContext, bucket: string): Promise<void> {
  await allow(ctx, 'DeleteBucket', bucket);
  await ctx.store.deleteBucket(bucket);
  sendJson(ctx.res, 200, {});
}
