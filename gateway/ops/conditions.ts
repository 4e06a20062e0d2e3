import type { ObjectManifest } from '../../src/meta/manifest.js';
import { checkPutCondition, type PutCondition } from '../../src/meta/meta-store.js';
import { bucketOf, header, keyOf, type Context } from '../context.js';
import { S3Error } from '../errors.js';

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** An entity-tag of a list: `W/` if weak, then the tag, quoted or (as S3 takes it too) bare. */
const ENTITY_TAG = /(W\/)?(?:"([^"]*)"|([^\s,"]+))/g;

/**
 * The ETags an If-Match / If-None-Match value lists (RFC 9110 8.8.3, 13.1.1-2), bare, `*` for
 * any object. If-Match compares strongly, If-None-Match weakly: a weak ETag (`W/"..."`) counts
 * only for If-None-Match, since no weak ETag is strongly equal to another.
 */
function etagList(value: string, comparison: 'strong' | 'weak'): string[] {
  return [...value.matchAll(ENTITY_TAG)].flatMap(([, weak, quoted, bare]) =>
    weak !== undefined && comparison === 'strong' ? [] : [quoted ?? bare!],
  );
}

/** Whether a list from `etagList` names the object with this ETag. */
function listed(list: string[], etag: string): boolean {
  return list.includes('*') || list.includes(etag);
}

/**
 * A PUT's or CompleteMultipartUpload's If-Match / If-None-Match as the condition the commit
 * checks (both may be given: each must hold, as RFC 9110 evaluates them). AWS takes only `*` in
 * If-None-Match; an ETag list there is taken as RFC 9110 and MinIO do: 412 when the object is one
 * of them, the write otherwise (an absent object passes).
 */
export function writeCondition(ifMatch: string | undefined, ifNoneMatch: string | undefined): PutCondition | undefined {
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return {
    ...(ifMatch !== undefined ? { ifMatch: etagList(ifMatch, 'strong') } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch: etagList(ifNoneMatch, 'weak') } : {}),
  };
}

/**
 * A PutObject's or CopyObject's If-Match / If-None-Match (`writeCondition`) on the key it writes,
 * decided inside the commit: a concurrent write that committed first wins, and this one fails
 * with 412 only if the condition no longer holds. Looked at once before too, so a write already
 * doomed fails before its body is read or its source copied.
 */
export async function requestWriteCondition(
  ctx: Context<'PutObject' | 'CopyObject'>,
): Promise<PutCondition | undefined> {
  const condition = writeCondition(header(ctx, 'if-match'), header(ctx, 'if-none-match'));
  if (condition) checkPutCondition(condition, (await ctx.meta.getObject(bucketOf(ctx), keyOf(ctx)))?.etag);
  return condition;
}

/** Seconds since the epoch of an HTTP date; S3 compares whole seconds. Null when unparsable (ignored). */
function seconds(date: string | undefined): number | null {
  if (date === undefined) return null;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/**
 * GET/HEAD preconditions with AWS's precedence: a true If-Match overrides a false
 * If-Unmodified-Since (412 otherwise); a false If-None-Match overrides a true
 * If-Modified-Since (304 otherwise). `notModified` is what a failed "not modified" check
 * becomes: 304 for reads, 412 for copy sources.
 */
export function checkConditions(
  c: Conditions,
  manifest: ObjectManifest,
  notModified: 'NotModified' | 'PreconditionFailed',
): void {
  const modified = Math.floor(manifest.lastModified / 1000);
  const headers = { etag: `"${manifest.etag}"`, 'last-modified': new Date(manifest.lastModified).toUTCString() };
  const failed = (): S3Error =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  const unchanged = (): S3Error =>
    notModified === 'NotModified' ? new S3Error('NotModified', 'Not Modified', 304, headers) : failed();
  if (c.ifMatch !== undefined) {
    if (!listed(etagList(c.ifMatch, 'strong'), manifest.etag)) throw failed();
  } else {
    const since = seconds(c.ifUnmodifiedSince);
    if (since !== null && modified > since) throw failed();
  }
  if (c.ifNoneMatch !== undefined) {
    if (listed(etagList(c.ifNoneMatch, 'weak'), manifest.etag)) throw unchanged();
  } else {
    const since = seconds(c.ifModifiedSince);
    if (since !== null && modified <= since) throw unchanged();
  }
}
