import type { ObjectManifest } from '../../src/meta/manifest.js';
import { S3Error } from '../errors.js';
import { bareEtag } from './object-headers.js';

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** Whether an If-Match / If-None-Match list (`*`, or comma-separated ETags) names the object. */
function listed(list: string, etag: string): boolean {
  return list.split(',').some((item) => item.trim() === '*' || bareEtag(item) === etag);
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
    if (!listed(c.ifMatch, manifest.etag)) throw failed();
  } else {
    const since = seconds(c.ifUnmodifiedSince);
    if (since !== null && modified > since) throw failed();
  }
  if (c.ifNoneMatch !== undefined) {
    if (listed(c.ifNoneMatch, manifest.etag)) throw unchanged();
  } else {
    const since = seconds(c.ifModifiedSince);
    if (since !== null && modified <= since) throw unchanged();
  }
}
