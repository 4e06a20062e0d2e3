import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../errors.js';
import type { ByteRange, CopySource } from './endpoints.js';
import { invalidArgument, parseQuery } from './query.js';

/** A header's value, repeated values joined as HTTP joins them. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * `x-amz-copy-source`: `[/]bucket/key[?versionId=...]`, URL-encoded. The version id comes back
 * apart: the router decides whether it names a version we can read.
 */
export function copySource(value: string): { source: CopySource; versionId: string | undefined } {
  const q = value.indexOf('?');
  const path = (q < 0 ? value : value.slice(0, q)).replace(/^\//, '');
  const slash = path.indexOf('/');
  let bucket = '';
  let key = '';
  try {
    bucket = decodeURIComponent(path.slice(0, slash));
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    // reported below
  }
  if (slash <= 0 || bucket === '' || key === '') {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  }
  const versionId = q < 0 ? undefined : new Map(parseQuery(value.slice(q + 1))).get('versionId');
  return { source: { bucket, key }, versionId };
}

/** `x-amz-copy-source-range`: only `bytes=first-last`; the store checks it against the source's size. */
export function copySourceRange(value: string): { start: number; end: number } {
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw invalidArgument(
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      'x-amz-copy-source-range',
      value,
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

/**
 * A Range header: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Syntax S3 does not serve (several ranges,
 * garbage, a last byte before the first) is ignored, as S3 ignores it: the whole object is sent.
 */
export function byteRange(value: string | undefined): ByteRange | undefined {
  const m = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: Number(m[2]) };
  const first = Number(m[1]);
  if (m[2] === '') return { first };
  const last = Number(m[2]);
  return last < first ? undefined : { first, last };
}
