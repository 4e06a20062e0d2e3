/**
 * What a request asks for, as a tagged union: each member carries the parameters its operation
 * reads, parsed and validated once by the router (as Garage's `Endpoint` enum). Operations never
 * read the query string themselves.
 */

/** An inclusive byte range as a Range header spells it; resolved against the object's size by GET. */
export type ByteRange = { first: number; last?: number } | { suffix: number };

/** The headers a GET or HEAD's response-* query parameters override, by header name. */
export type ResponseOverrides = Partial<
  Record<
    'cache-control' | 'content-disposition' | 'content-encoding' | 'content-language' | 'content-type' | 'expires',
    string
  >
>;

/** `x-amz-copy-source`: the object a copy reads (its newest version, or the one named). */
export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/** What GetObjectAttributes may be asked for (`x-amz-object-attributes`), AWS's names. */
export const OBJECT_ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
export type ObjectAttribute = (typeof OBJECT_ATTRIBUTES)[number];

/** The list parameters S3 encodes with `encoding-type=url` (the only encoding S3 knows). */
export type EncodingType = 'url';

type InBucket = { bucket: string };
type InObject = { bucket: string; key: string };
type InUpload = InObject & { uploadId: string };
/** `versionId`: a version of the object other than its newest ("null" names the null version). */
type Versioned = { versionId?: string };
type ObjectRead = InObject & Versioned & { partNumber?: number; range?: ByteRange; overrides: ResponseOverrides };

type Members =
  | {
      kind: 'ListBuckets';
      /** The page size; absent: every bucket and no token, as before AWS paginated ListBuckets. */
      maxBuckets?: number;
      /** As sent; the listing decodes it. */
      continuationToken?: string;
      prefix?: string;
      bucketRegion?: string;
    }
  | ({ kind: 'CreateBucket' } & InBucket)
  | ({ kind: 'HeadBucket' } & InBucket)
  | ({ kind: 'DeleteBucket' } & InBucket)
  | ({ kind: 'GetBucketLocation' } & InBucket)
  | ({ kind: 'GetBucketVersioning' } & InBucket)
  | ({ kind: 'PutBucketVersioning' } & InBucket)
  | ({ kind: 'GetObjectLockConfiguration' } & InBucket)
  | ({ kind: 'PutObjectLockConfiguration' } & InBucket)
  | ({ kind: 'GetObjectRetention' } & InObject & Versioned)
  | ({ kind: 'PutObjectRetention' } & InObject & Versioned)
  | ({ kind: 'GetObjectLegalHold' } & InObject & Versioned)
  | ({ kind: 'PutObjectLegalHold' } & InObject & Versioned)
  | ({ kind: 'GetBucketCors' } & InBucket)
  | ({ kind: 'PutBucketCors' } & InBucket)
  | ({ kind: 'DeleteBucketCors' } & InBucket)
  | ({ kind: 'GetBucketWebsite' } & InBucket)
  | ({ kind: 'PutBucketWebsite' } & InBucket)
  | ({ kind: 'DeleteBucketWebsite' } & InBucket)
  | ({ kind: 'GetBucketPolicy' } & InBucket)
  | ({ kind: 'PutBucketPolicy' } & InBucket)
  | ({ kind: 'DeleteBucketPolicy' } & InBucket)
  | ({ kind: 'GetBucketPolicyStatus' } & InBucket)
  | ({ kind: 'GetBucketAcl' } & InBucket)
  | ({ kind: 'PutBucketAcl' } & InBucket)
  | ({ kind: 'GetBucketTagging' } & InBucket)
  | ({ kind: 'GetPublicAccessBlock' } & InBucket)
  | ({ kind: 'PutPublicAccessBlock' } & InBucket)
  | ({ kind: 'DeletePublicAccessBlock' } & InBucket)
  | ({ kind: 'GetBucketOwnershipControls' } & InBucket)
  | ({ kind: 'PutBucketOwnershipControls' } & InBucket)
  | ({ kind: 'DeleteBucketOwnershipControls' } & InBucket)
  | ({ kind: 'PutBucketTagging' } & InBucket)
  | ({ kind: 'DeleteBucketTagging' } & InBucket)
  | ({ kind: 'GetBucketLifecycle' } & InBucket)
  | ({ kind: 'PutBucketLifecycle' } & InBucket)
  | ({ kind: 'DeleteBucketLifecycle' } & InBucket)
  | ({ kind: 'GetBucketEncryption' } & InBucket)
  | ({ kind: 'PutBucketEncryption' } & InBucket)
  | ({ kind: 'DeleteBucketEncryption' } & InBucket)
  /** OPTIONS, on a bucket or an object path alike. */
  | ({ kind: 'PreflightCors'; key: string | null } & InBucket)
  | ({
      kind: 'ListObjects';
      prefix: string;
      delimiter?: string;
      marker: string;
      maxKeys: number;
      encodingType?: EncodingType;
    } & InBucket)
  | ({
      kind: 'ListObjectsV2';
      prefix: string;
      delimiter?: string;
      maxKeys: number;
      /** As sent (echoed in the answer); the listing decodes it. */
      continuationToken?: string;
      startAfter?: string;
      fetchOwner: boolean;
      encodingType?: EncodingType;
    } & InBucket)
  | ({
      kind: 'ListObjectVersions';
      prefix: string;
      delimiter?: string;
      keyMarker: string;
      versionIdMarker?: string;
      maxKeys: number;
      encodingType?: EncodingType;
    } & InBucket)
  | ({
      kind: 'ListMultipartUploads';
      prefix: string;
      delimiter?: string;
      keyMarker: string;
      uploadIdMarker: string;
      maxUploads: number;
      encodingType?: EncodingType;
    } & InBucket)
  | ({ kind: 'DeleteObjects' } & InBucket)
  /** A browser form upload: the key and credentials are in the form. */
  | ({ kind: 'PostObject' } & InBucket)
  | ({ kind: 'PutObject' } & InObject)
  | ({ kind: 'CopyObject'; source: CopySource } & InObject)
  | ({ kind: 'GetObject' } & ObjectRead)
  | ({ kind: 'HeadObject' } & ObjectRead)
  | ({ kind: 'DeleteObject' } & InObject & Versioned)
  /** `?attributes`: what `x-amz-object-attributes` names; parts paged by `x-amz-max-parts` / `-part-number-marker`. */
  | ({
      kind: 'GetObjectAttributes';
      attributes: ObjectAttribute[];
      maxParts: number;
      partNumberMarker: number;
    } & InObject &
      Versioned)
  | ({ kind: 'GetObjectAcl' } & InObject & Versioned)
  | ({ kind: 'PutObjectAcl' } & InObject & Versioned)
  | ({ kind: 'GetObjectTagging' } & InObject & Versioned)
  | ({ kind: 'PutObjectTagging' } & InObject & Versioned)
  | ({ kind: 'DeleteObjectTagging' } & InObject & Versioned)
  | ({ kind: 'CreateMultipartUpload' } & InObject)
  | ({ kind: 'UploadPart'; partNumber: number } & InUpload)
  | ({
      kind: 'UploadPartCopy';
      partNumber: number;
      source: CopySource;
      sourceRange?: { start: number; end: number };
    } & InUpload)
  | ({ kind: 'CompleteMultipartUpload' } & InUpload)
  | ({ kind: 'AbortMultipartUpload' } & InUpload)
  | ({ kind: 'ListParts'; maxParts: number; partNumberMarker: number } & InUpload)
  /** A part of the S3 API we know but do not implement (the subresource or header naming it): 501, never a wrong answer. */
  | { kind: 'Unsupported'; bucket: string | null; key: string | null; subresource: string };

/** Every operation the gateway answers. */
export type Operation = Members['kind'];

/** The endpoint of one operation (`Endpoint<'UploadPart'>`), or of any (`Endpoint`). */
export type Endpoint<K extends Operation = Operation> = ByKind[K];

type ByKind = { [M in Members as M['kind']]: M };

/** The operations addressed to a bucket (every one but ListBuckets and Unsupported). */
export type BucketOperation = Exclude<Operation, 'ListBuckets' | 'Unsupported'>;

/** The operations addressed to an object. */
export type ObjectOperation = Extract<Members, { key: string }>['kind'];
