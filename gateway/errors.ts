import { KmsError } from '../src/kms/errors.js';
import { MetaError, MetaUnavailableError } from '../src/meta/errors.js';
import { PipelineError } from '../src/pipeline/errors.js';
import { DeleteMarkerError, StoreError } from '../src/store/errors.js';
import { CodedError } from '../src/util/coded-error.js';

/** HTTP status of every S3 error code the gateway answers with (AWS's values). */
const STATUS = {
  AccessDenied: 403,
  AccessControlListNotSupported: 400,
  InvalidBucketAclWithObjectOwnership: 400,
  AccessForbidden: 403,
  AccessKeyAlreadyExists: 409,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BadRequest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidBucketState: 409,
  InvalidDigest: 400,
  InvalidEncryptionAlgorithmError: 400,
  InvalidLocationConstraint: 400,
  InvalidPart: 400,
  InvalidPartNumber: 416,
  InvalidPartOrder: 400,
  InvalidPolicyDocument: 400,
  InvalidRange: 416,
  InvalidRedirectLocation: 400,
  InvalidRequest: 400,
  InvalidTag: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  'KMS.NotFoundException': 400,
  KmsKeyAlreadyExists: 409,
  MalformedACLError: 400,
  MalformedPOSTRequest: 400,
  MalformedPolicy: 400,
  MalformedTrailerError: 400,
  MalformedXML: 400,
  MaxMessageLengthExceeded: 400,
  MaxPostPreDataLengthExceededError: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchBucketPolicy: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchKey: 404,
  NoSuchLifecycleConfiguration: 404,
  NoSuchObjectLockConfiguration: 404,
  NoSuchPublicAccessBlockConfiguration: 404,
  NoSuchTagSet: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NoSuchWebsiteConfiguration: 404,
  NotImplemented: 501,
  NotModified: 304,
  ObjectLockConfigurationNotFoundError: 404,
  OwnershipControlsNotFoundError: 404,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  RequestTimeout: 400,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  UnresolvableGrantByEmailAddress: 400,
  XAmzContentSHA256Mismatch: 400,
} as const satisfies Record<string, number>;

export type S3ErrorCode = keyof typeof STATUS;

/** An error the client sees as S3 XML. `status` defaults to the table's value for `code`. */
export class S3Error extends CodedError<S3ErrorCode> {
  readonly status: number;

  constructor(
    code: S3ErrorCode,
    message: string,
    status?: number,
    /** Extra response headers (e.g. Content-Range of a 416). */
    readonly headers: Record<string, string> = {},
    /** Extra elements of the XML body after Message (e.g. Region of a wrong-region signature). */
    readonly details: Record<string, string> = {},
  ) {
    super(code, message);
    this.status = status ?? STATUS[code];
  }
}

/** Failures of the store core that come from the storage itself, not from the request. */
const PIPELINE_UNAVAILABLE = new Set(['TOO_FEW_SHARDS']);

/**
 * The one translation of any error into what the client sees. Errors we did not anticipate
 * become InternalError with a generic message: their text may describe internals.
 */
export function toS3Error(error: unknown): S3Error {
  if (error instanceof S3Error) return error;
  if (error instanceof DeleteMarkerError) {
    const headers = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': error.marker.versionId };
    return new S3Error(
      error.code,
      error.message,
      undefined,
      error.code === 'MethodNotAllowed'
        ? { ...headers, 'last-modified': new Date(error.marker.lastModified).toUTCString() }
        : headers,
    );
  }
  if (error instanceof StoreError || error instanceof MetaError || error instanceof KmsError) {
    if (error.code === 'InternalError') return internal();
    return new S3Error(error.code, error.message);
  }
  if (error instanceof MetaUnavailableError) {
    // The metadata database is down or restarting: nothing to say about the data, retry soon.
    return new S3Error('ServiceUnavailable', 'Please reduce your request rate or try again later.', undefined, {
      'retry-after': '1',
    });
  }
  if (error instanceof PipelineError && PIPELINE_UNAVAILABLE.has(error.code)) {
    return new S3Error('ServiceUnavailable', 'Please reduce your request rate or try again later.');
  }
  return internal();
}

/**
 * Whether the failure is ours and worth a logged stack trace. SlowDown is not: too few backends
 * up for the write quorum is a state of the grid, which the store's maintenance logs in a line.
 * NotImplemented neither: it is a request we refuse by design, and the access log has it.
 */
export function isInternal(error: S3Error): boolean {
  return error.status >= 500 && error.code !== 'SlowDown' && error.code !== 'NotImplemented';
}

function internal(): S3Error {
  return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
}
