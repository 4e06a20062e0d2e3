import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import type { Endpoint, Operation } from './router/endpoints.js';
import { decodeComponent, parseQuery } from './router/query.js';
import { resolveEndpoint } from './router/resolve.js';

export type {
  BucketOperation,
  ByteRange,
  CopySource,
  EncodingType,
  Endpoint,
  ObjectOperation,
  Operation,
  ResponseOverrides,
} from './router/endpoints.js';
export { MAX_PART_NUMBER, parseQuery } from './router/query.js';

export interface Route<out K extends Operation = Operation> {
  /** The operation and its parameters, parsed and validated: all an operation reads of the URL. */
  endpoint: Endpoint<K>;
  /** The bucket and key addressed, for what every request shares: rights, CORS, logs, errors. */
  bucket: string | null;
  key: string | null;
  /** Decoded query parameters (the first value of a repeated name), for presigned-URL authentication. */
  query: Map<string, string>;
  /** The path as sent, still percent-encoded (SigV4 signs it). */
  rawPath: string;
  /** The query string as sent. */
  rawQuery: string;
  /** Addressed as `bucket.<domain>` (the path holds the key only; SigV2 signs `/bucket` + path). */
  virtualHosted: boolean;
}

/**
 * The one place a request becomes an operation: method, path-style `/bucket/key` or
 * virtual-hosted-style `bucket.<domain>/key`, query subresources and parameters, and (for
 * copies and reads) headers. Invalid parameters fail here, before authentication, with S3's error.
 */
export function route(method: string, url: string, headers: IncomingHttpHeaders, domains: readonly string[]): Route {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  const query = new Map<string, string>();
  for (const [name, value] of parseQuery(rawQuery)) if (!query.has(name)) query.set(name, value);

  let bucket: string | null;
  let rawKey: string;
  const hosted = hostedBucket(headers.host, domains);
  if (hosted !== null) {
    bucket = hosted;
    rawKey = rawPath.slice(1);
  } else {
    const slash = rawPath.indexOf('/', 1);
    bucket = decodeComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash)) || null;
    rawKey = slash < 0 ? '' : rawPath.slice(slash + 1);
  }
  const key = rawKey === '' ? null : decodeComponent(rawKey);
  if (key !== null && Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
  const endpoint = resolveEndpoint(method, bucket, key, query, headers);
  return { endpoint, bucket, key, query, rawPath, rawQuery, virtualHosted: hosted !== null };
}

/** The bucket named by the Host header's first label when the rest is one of our domains. */
function hostedBucket(host: string | undefined, domains: readonly string[]): string | null {
  if (!host) return null;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  for (const domain of domains) {
    if (name.endsWith(`.${domain}`)) return name.slice(0, -domain.length - 1);
  }
  return null;
}
