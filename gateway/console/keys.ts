import crypto from 'node:crypto';
import { sealSecret } from '../../src/pipeline/keys.js';
import { authorize } from '../auth/access.js';
import type { ApiContext } from './context.js';
import { ConsoleError, readJson, sendJson, stringField } from './http.js';

/**
 * Access keys and grants are root's business, as with `qstor admin key` and `admin bucket`. Each
 * change is written to the metadata copies on the backends too, which `qstor meta rebuild` restores.
 */
function requireRoot(ctx: ApiContext): Promise<void> {
  return authorize(ctx.meta, ctx.identity, null, 'root');
}

/** GET /api/keys: every key but root, with its grants (never a secret). */
export async function listKeys(ctx: ApiContext): Promise<void> {
  await requireRoot(ctx);
  const keys = await Promise.all(
    (await ctx.meta.listAccessKeys()).map(async (k) => ({
      accessKeyId: k.accessKeyId,
      name: k.name,
      created: k.created,
      grants: await ctx.meta.listGrants(k.accessKeyId),
    })),
  );
  sendJson(ctx.res, 200, { keys });
}

/** POST /api/keys {name}: a new key; its secret is in this answer and nowhere else, ever. */
export async function createKey(ctx: ApiContext): Promise<void> {
  await requireRoot(ctx);
  const body = await readJson(ctx.req);
  const name = typeof body.name === 'string' ? body.name.slice(0, 100) : '';
  const accessKeyId = 'QK' + crypto.randomBytes(12).toString('hex').toUpperCase().slice(0, 18);
  // base64url: a secret without '/' or '+' goes into s3:// URLs and shells unquoted.
  const secretAccessKey = crypto.randomBytes(30).toString('base64url');
  await ctx.meta.createAccessKey(accessKeyId, sealSecret(ctx.masterKey, accessKeyId, secretAccessKey), name);
  await ctx.store.replica.putAccessKey(ctx.meta, accessKeyId);
  sendJson(ctx.res, 201, { accessKeyId, secretAccessKey, name });
}

/** DELETE /api/keys/ID: the key and its sessions (checked on their next call) end. */
export async function deleteKey(ctx: ApiContext, accessKeyId: string): Promise<void> {
  await requireRoot(ctx);
  if (!(await ctx.meta.getAccessKey(accessKeyId))) throw new ConsoleError('NotFound', `no access key ${accessKeyId}`);
  await ctx.meta.deleteAccessKey(accessKeyId);
  await ctx.store.replica.putAccessKey(ctx.meta, accessKeyId);
  sendJson(ctx.res, 200, {});
}

/** PUT /api/keys/ID/grants {bucket, read, write, owner}: sets the key's rights on the bucket to exactly these. */
export async function setGrant(ctx: ApiContext, accessKeyId: string): Promise<void> {
  await requireRoot(ctx);
  const body = await readJson(ctx.req);
  const bucket = stringField(body, 'bucket');
  if (!(await ctx.meta.getAccessKey(accessKeyId))) throw new ConsoleError('NotFound', `no access key ${accessKeyId}`);
  if (!(await ctx.meta.getBucket(bucket))) throw new ConsoleError('NotFound', `no bucket ${bucket}`);
  const wanted = { read: body.read === true, write: body.write === true, owner: body.owner === true };
  const given = Object.fromEntries(Object.entries(wanted).filter(([, v]) => v));
  const taken = Object.fromEntries(
    Object.entries(wanted)
      .filter(([, v]) => !v)
      .map(([k]) => [k, true]),
  );
  if (Object.keys(given).length > 0) await ctx.meta.allow(accessKeyId, bucket, given);
  const permissions =
    Object.keys(taken).length > 0
      ? await ctx.meta.deny(accessKeyId, bucket, taken)
      : await ctx.meta.check(accessKeyId, bucket);
  await ctx.store.replica.putAccessKey(ctx.meta, accessKeyId);
  sendJson(ctx.res, 200, { bucket, permissions });
}
