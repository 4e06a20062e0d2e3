import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';

/** Every operation the gateway answers; `Unsupported` is a known S3 API we do not implement. */
export type Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'GetBucketVersioning'
  | 'PutBucketVersioning'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'PostObject'
  | 'GetBucketCors'
  | 'PutBucketCors'
  | 'DeleteBucketCors'
  | 'PreflightCors'
  | 'Unsupported';

export interface Route {
  op: Operation;
  bucket: string | null;
  key: string | null;
  /** Decoded query parameters (the first value of a repeated name). */
  query: Map<string, string>;
  /** The path as sent, still percent-encoded (SigV4 signs it). */
  rawPath: string;
  /** The query string as sent. */
  rawQuery: string;
}

/** Subresources of the S3 API that this gateway does not implement: 501, never a wrong answer. */
const UNSUPPORTED = [
  'acl', 'analytics', 'accelerate', 'attributes', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention',
  'select', 'tagging', 'torrent', 'versions', 'website',
];

/** Query parameters decoded as S3 does: `+` is a plus sign, never a space. */
export function parseQuery(raw: string): Array<[string, string]> {
  if (raw === '') return [];
  return raw.split('&').filter((p) => p !== '').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

/**
 * The one place a request becomes an operation: method, path-style `/bucket/key` or
 * virtual-hosted-style `bucket.<domain>/key`, query subresources and (for copies) a header.
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
    bucket = decode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash)) || null;
    rawKey = slash < 0 ? '' : rawPath.slice(slash + 1);
  }
  const key = rawKey === '' ? null : decode(rawKey);
  if (key !== null && Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
  return { op: operation(method, bucket, key, query, headers), bucket, key, query, rawPath, rawQuery };
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

function operation(method: string, bucket: string | null, key: string | null, query: Map<string, string>, headers: IncomingHttpHeaders): Operation {
  if (UNSUPPORTED.some((name) => query.has(name))) return 'Unsupported';
  if (bucket === null) {
    if (method === 'GET') return 'ListBuckets';
    throw notAllowed();
  }
  // A browser asks before a cross-origin request, on any bucket or object path.
  if (method === 'OPTIONS') return 'PreflightCors';
  if (key === null) {
    switch (method) {
      case 'GET':
        if (query.has('location')) return 'GetBucketLocation';
        if (query.has('cors')) return 'GetBucketCors';
        if (query.has('versioning')) return 'GetBucketVersioning';
        if (query.has('uploads')) return 'ListMultipartUploads';
        return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        if (query.has('cors')) return 'PutBucketCors';
        return query.has('versioning') ? 'PutBucketVersioning' : 'CreateBucket';
      case 'DELETE':
        return query.has('cors') ? 'DeleteBucketCors' : 'DeleteBucket';
      case 'POST':
        // Any other POST to a bucket is a browser form upload (checked to be one by the operation).
        return query.has('delete') ? 'DeleteObjects' : 'PostObject';
    }
    throw notAllowed();
  }
  switch (method) {
    case 'GET':
      return query.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) {
        return headers['x-amz-copy-source'] === undefined ? 'UploadPart' : 'UploadPartCopy';
      }
      return headers['x-amz-copy-source'] === undefined ? 'PutObject' : 'CopyObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      break;
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  }
  throw notAllowed();
}

function notAllowed(): S3Error {
  return new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}
