import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../errors.js';
import { OBJECT_ATTRIBUTES, type Endpoint } from './endpoints.js';
import { byteRange, copySource, copySourceRange, headerValue } from './headers.js';
import {
  count,
  encodingType,
  invalidArgument,
  nonEmpty,
  pageSize,
  partNumber,
  responseOverrides,
  type Query,
} from './query.js';

/**
 * Subresources of the S3 API that this gateway knows but does not implement: 501, never a wrong
 * answer. Implementing one is taking it out of this list and adding its member to
 * `endpoints.ts`, its case below, its handler in `ops/` and its right in `auth/access.ts`.
 */
const NOT_IMPLEMENTED = [
  'analytics',
  'accelerate',
  'intelligent-tiering',
  'inventory',
  'logging',
  'metrics',
  'notification',
  'replication',
  'requestPayment',
  'restore',
  'select',
  'torrent',
];

/** Subresources S3 has on buckets only. */
const BUCKET_ONLY = [
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'ownershipControls',
  'lifecycle',
  'encryption',
  'website',
];

/** Subresources S3 has on objects only: on a bucket path, one S3 does not have either. */
const OBJECT_ONLY = ['attributes'];

/** S3's cap on the entries of one listing page. */
const MAX_PAGE = 1000;
/** S3's cap on the buckets of one ListBuckets page (and its page size when paginating). */
const MAX_BUCKETS_PAGE = 10000;

/** The operation a request names and its parameters: method, bucket, key, query and (for copies) headers. */
export function resolveEndpoint(
  method: string,
  bucket: string | null,
  key: string | null,
  q: Query,
  headers: IncomingHttpHeaders,
): Endpoint {
  // A subresource of buckets only (policy) on an object path is one S3 does not have either.
  const subresource =
    NOT_IMPLEMENTED.find((name) => q.has(name)) ??
    (key !== null ? BUCKET_ONLY : OBJECT_ONLY).find((name) => q.has(name));
  if (subresource !== undefined) return { kind: 'Unsupported', bucket, key, subresource };
  if (bucket === null) {
    if (method === 'GET') return listBuckets(q);
    throw notAllowed();
  }
  // A browser asks before a cross-origin request, on any bucket or object path.
  if (method === 'OPTIONS') return { kind: 'PreflightCors', bucket, key };
  return key === null ? bucketEndpoint(method, bucket, q) : objectEndpoint(method, bucket, key, q, headers);
}

function bucketEndpoint(method: string, bucket: string, q: Query): Endpoint {
  switch (method) {
    case 'GET':
      if (q.has('location')) return { kind: 'GetBucketLocation', bucket };
      if (q.has('cors')) return { kind: 'GetBucketCors', bucket };
      if (q.has('versioning')) return { kind: 'GetBucketVersioning', bucket };
      if (q.has('object-lock')) return { kind: 'GetObjectLockConfiguration', bucket };
      if (q.has('policy')) return { kind: 'GetBucketPolicy', bucket };
      if (q.has('policyStatus')) return { kind: 'GetBucketPolicyStatus', bucket };
      if (q.has('acl')) return { kind: 'GetBucketAcl', bucket };
      if (q.has('tagging')) return { kind: 'GetBucketTagging', bucket };
      if (q.has('lifecycle')) return { kind: 'GetBucketLifecycle', bucket };
      if (q.has('publicAccessBlock')) return { kind: 'GetPublicAccessBlock', bucket };
      if (q.has('ownershipControls')) return { kind: 'GetBucketOwnershipControls', bucket };
      if (q.has('encryption')) return { kind: 'GetBucketEncryption', bucket };
      if (q.has('website')) return { kind: 'GetBucketWebsite', bucket };
      if (q.has('uploads')) return listMultipartUploads(bucket, q);
      if (q.has('versions')) return listObjectVersions(bucket, q);
      return q.get('list-type') === '2' ? listObjectsV2(bucket, q) : listObjects(bucket, q);
    case 'HEAD':
      return { kind: 'HeadBucket', bucket };
    case 'PUT':
      if (q.has('cors')) return { kind: 'PutBucketCors', bucket };
      if (q.has('object-lock')) return { kind: 'PutObjectLockConfiguration', bucket };
      if (q.has('policy')) return { kind: 'PutBucketPolicy', bucket };
      if (q.has('acl')) return { kind: 'PutBucketAcl', bucket };
      if (q.has('tagging')) return { kind: 'PutBucketTagging', bucket };
      if (q.has('lifecycle')) return { kind: 'PutBucketLifecycle', bucket };
      if (q.has('publicAccessBlock')) return { kind: 'PutPublicAccessBlock', bucket };
      if (q.has('ownershipControls')) return { kind: 'PutBucketOwnershipControls', bucket };
      if (q.has('encryption')) return { kind: 'PutBucketEncryption', bucket };
      if (q.has('website')) return { kind: 'PutBucketWebsite', bucket };
      return q.has('versioning') ? { kind: 'PutBucketVersioning', bucket } : { kind: 'CreateBucket', bucket };
    case 'DELETE':
      if (q.has('policy')) return { kind: 'DeleteBucketPolicy', bucket };
      if (q.has('tagging')) return { kind: 'DeleteBucketTagging', bucket };
      if (q.has('lifecycle')) return { kind: 'DeleteBucketLifecycle', bucket };
      if (q.has('publicAccessBlock')) return { kind: 'DeletePublicAccessBlock', bucket };
      if (q.has('ownershipControls')) return { kind: 'DeleteBucketOwnershipControls', bucket };
      if (q.has('encryption')) return { kind: 'DeleteBucketEncryption', bucket };
      if (q.has('website')) return { kind: 'DeleteBucketWebsite', bucket };
      return q.has('cors') ? { kind: 'DeleteBucketCors', bucket } : { kind: 'DeleteBucket', bucket };
    case 'POST':
      // Any other POST to a bucket is a browser form upload (checked to be one by the operation).
      return q.has('delete') ? { kind: 'DeleteObjects', bucket } : { kind: 'PostObject', bucket };
  }
  throw notAllowed();
}

function objectEndpoint(method: string, bucket: string, key: string, q: Query, headers: IncomingHttpHeaders): Endpoint {
  const versionId = versionIdOf(q.get('versionId'));
  const uploadId = q.get('uploadId');
  if (q.has('attributes')) {
    if (method !== 'GET') throw notAllowed();
    return objectAttributes(bucket, key, versionId, headers);
  }
  switch (method) {
    case 'GET':
      if (q.has('retention')) return { kind: 'GetObjectRetention', bucket, key, versionId };
      if (q.has('legal-hold')) return { kind: 'GetObjectLegalHold', bucket, key, versionId };
      if (uploadId !== undefined) return listParts(bucket, key, uploadId, q);
      if (q.has('acl')) return { kind: 'GetObjectAcl', bucket, key, versionId };
      if (q.has('tagging')) return { kind: 'GetObjectTagging', bucket, key, versionId };
      return { kind: 'GetObject', ...objectRead(bucket, key, q, headers), versionId };
    case 'HEAD':
      return { kind: 'HeadObject', ...objectRead(bucket, key, q, headers), versionId };
    case 'PUT':
      if (q.has('retention')) return { kind: 'PutObjectRetention', bucket, key, versionId };
      if (q.has('legal-hold')) return { kind: 'PutObjectLegalHold', bucket, key, versionId };
      if (q.has('acl')) return { kind: 'PutObjectAcl', bucket, key, versionId };
      if (q.has('tagging')) return { kind: 'PutObjectTagging', bucket, key, versionId };
      return putEndpoint(bucket, key, q, headers);
    case 'POST':
      if (q.has('uploads')) return { kind: 'CreateMultipartUpload', bucket, key };
      if (uploadId !== undefined) return { kind: 'CompleteMultipartUpload', bucket, key, uploadId };
      break;
    case 'DELETE':
      if (q.has('tagging')) return { kind: 'DeleteObjectTagging', bucket, key, versionId };
      return uploadId !== undefined
        ? { kind: 'AbortMultipartUpload', bucket, key, uploadId }
        : { kind: 'DeleteObject', bucket, key, versionId };
  }
  throw notAllowed();
}

/** PUT on a key: an object or a part, its bytes in the body or copied from `x-amz-copy-source`. */
function putEndpoint(bucket: string, key: string, q: Query, headers: IncomingHttpHeaders): Endpoint {
  const copy = headerValue(headers, 'x-amz-copy-source');
  const copied = copy === undefined ? undefined : copySource(copy);
  const sourceVersionId = versionIdOf(copied?.versionId);
  const source =
    copied && (sourceVersionId === undefined ? copied.source : { ...copied.source, versionId: sourceVersionId });
  if (q.has('uploadId') || q.has('partNumber')) {
    const part = { bucket, key, uploadId: q.get('uploadId') ?? '', partNumber: partNumber(q, true) };
    if (source === undefined) return { kind: 'UploadPart', ...part };
    const range = headerValue(headers, 'x-amz-copy-source-range');
    return {
      kind: 'UploadPartCopy',
      ...part,
      source,
      sourceRange: range === undefined ? undefined : copySourceRange(range),
    };
  }
  return source === undefined ? { kind: 'PutObject', bucket, key } : { kind: 'CopyObject', bucket, key, source };
}

/** `versionId` (of the object, or of a copy source), which S3 refuses empty. */
function versionIdOf(versionId: string | undefined): string | undefined {
  if (versionId === '') throw invalidArgument('Version id cannot be the empty string', 'versionId', '');
  return versionId;
}

function objectRead(
  bucket: string,
  key: string,
  q: Query,
  headers: IncomingHttpHeaders,
): Omit<Endpoint<'GetObject'>, 'kind'> {
  return {
    bucket,
    key,
    partNumber: partNumber(q, false),
    range: byteRange(headerValue(headers, 'range')),
    overrides: responseOverrides(q),
  };
}

/** GetObjectAttributes: its parameters are headers (AWS's), the attributes named once each. */
function objectAttributes(
  bucket: string,
  key: string,
  versionId: string | undefined,
  headers: IncomingHttpHeaders,
): Endpoint<'GetObjectAttributes'> {
  const names = (headerValue(headers, 'x-amz-object-attributes') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) {
    throw new S3Error(
      'InvalidRequest',
      'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty',
    );
  }
  const attributes = names.map((name) => {
    const known = OBJECT_ATTRIBUTES.find((attribute) => attribute === name);
    if (known === undefined)
      throw invalidArgument('Invalid attribute name specified.', 'x-amz-object-attributes', name);
    return known;
  });
  const maxParts = headerValue(headers, 'x-amz-max-parts');
  const marker = headerValue(headers, 'x-amz-part-number-marker');
  return {
    kind: 'GetObjectAttributes',
    bucket,
    key,
    versionId,
    attributes: [...new Set(attributes)],
    maxParts: maxParts === undefined ? MAX_PAGE : Math.min(count(maxParts, 'x-amz-max-parts', 'max-parts'), MAX_PAGE),
    partNumberMarker: marker === undefined ? 0 : count(marker, 'x-amz-part-number-marker', 'part-number-marker'),
  };
}

/**
 * ListBuckets' page: `max-buckets` 1..10000 as AWS documents it; 10000 when another paging
 * parameter comes without it; none (every bucket, no token) when the request has none of them.
 */
function listBuckets(q: Query): Endpoint<'ListBuckets'> {
  const text = q.get('max-buckets');
  const paginated = ['continuation-token', 'prefix', 'bucket-region'].some((name) => q.has(name));
  let maxBuckets = text === undefined ? undefined : count(text, 'max-buckets');
  if (maxBuckets !== undefined && (maxBuckets < 1 || maxBuckets > MAX_BUCKETS_PAGE))
    throw invalidArgument(
      `Argument max-buckets must be an integer between 1 and ${MAX_BUCKETS_PAGE}`,
      'max-buckets',
      text!,
    );
  if (maxBuckets === undefined && paginated) maxBuckets = MAX_BUCKETS_PAGE;
  return {
    kind: 'ListBuckets',
    maxBuckets,
    continuationToken: q.get('continuation-token'),
    prefix: nonEmpty(q, 'prefix'),
    bucketRegion: nonEmpty(q, 'bucket-region'),
  };
}

/**
 * `allow-unordered=true`, Ceph's extension (s3-tests sends it): an ordered listing is a valid
 * unordered one, so it changes nothing but this refusal, Ceph's, of an unordered listing by
 * delimiter.
 */
function refuseUnorderedDelimiter(q: Query): void {
  if (q.get('allow-unordered')?.toLowerCase() === 'true' && nonEmpty(q, 'delimiter') !== undefined)
    throw invalidArgument('allow-unordered cannot be used with a delimiter.', 'allow-unordered', 'true');
}

function listObjects(bucket: string, q: Query): Endpoint<'ListObjects'> {
  refuseUnorderedDelimiter(q);
  return {
    kind: 'ListObjects',
    bucket,
    prefix: q.get('prefix') ?? '',
    delimiter: nonEmpty(q, 'delimiter'),
    marker: q.get('marker') ?? '',
    maxKeys: pageSize(q, 'max-keys', 'maxKeys', MAX_PAGE),
    encodingType: encodingType(q),
  };
}

function listObjectsV2(bucket: string, q: Query): Endpoint<'ListObjectsV2'> {
  refuseUnorderedDelimiter(q);
  return {
    kind: 'ListObjectsV2',
    bucket,
    prefix: q.get('prefix') ?? '',
    delimiter: nonEmpty(q, 'delimiter'),
    maxKeys: pageSize(q, 'max-keys', 'maxKeys', MAX_PAGE),
    continuationToken: q.get('continuation-token'),
    startAfter: q.get('start-after'),
    fetchOwner: q.get('fetch-owner') === 'true',
    encodingType: encodingType(q),
  };
}

function listObjectVersions(bucket: string, q: Query): Endpoint<'ListObjectVersions'> {
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = nonEmpty(q, 'version-id-marker');
  if (versionIdMarker !== undefined && keyMarker === '') {
    throw invalidArgument(
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      versionIdMarker,
    );
  }
  return {
    kind: 'ListObjectVersions',
    bucket,
    prefix: q.get('prefix') ?? '',
    delimiter: nonEmpty(q, 'delimiter'),
    keyMarker,
    versionIdMarker,
    maxKeys: pageSize(q, 'max-keys', 'max-keys', MAX_PAGE),
    encodingType: encodingType(q),
  };
}

function listMultipartUploads(bucket: string, q: Query): Endpoint<'ListMultipartUploads'> {
  return {
    kind: 'ListMultipartUploads',
    bucket,
    prefix: q.get('prefix') ?? '',
    delimiter: nonEmpty(q, 'delimiter'),
    keyMarker: q.get('key-marker') ?? '',
    uploadIdMarker: q.get('upload-id-marker') ?? '',
    maxUploads: pageSize(q, 'max-uploads', 'max-uploads', MAX_PAGE),
    encodingType: encodingType(q),
  };
}

function listParts(bucket: string, key: string, uploadId: string, q: Query): Endpoint<'ListParts'> {
  const marker = q.get('part-number-marker');
  return {
    kind: 'ListParts',
    bucket,
    key,
    uploadId,
    maxParts: pageSize(q, 'max-parts', 'max-parts', MAX_PAGE),
    partNumberMarker: marker === undefined ? 0 : count(marker, 'part-number-marker'),
  };
}

function notAllowed(): S3Error {
  return new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}
