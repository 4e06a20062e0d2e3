import { CodedError } from '../util/coded-error.js';
/** The S3 error code a client would see for each failure the metadata store detects. */
export type MetaErrorCode =
  | 'NoSuchBucket'
  | 'BucketAlreadyExists'
  | 'BucketNotEmpty'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'MalformedXML'
  /** A locked version deleted, or its retention shortened, without the right to. */
  | 'AccessDenied'
  /** A copy whose source names a delete marker by version id. */
  | 'InvalidRequest'
  /** A conditional put whose condition no longer holds at commit. */
  | 'PreconditionFailed'
  /** An access key that does not exist (grants, deletion). */
  | 'InvalidAccessKeyId'
  /** Admin only: creating an access key whose id is taken. */
  | 'AccessKeyAlreadyExists'
  /** A KMS key that does not exist (AWS's code for it). */
  | 'KMS.NotFoundException'
  /** Admin only: creating a KMS key whose id is taken. */
  | 'KmsKeyAlreadyExists';

export class MetaError extends CodedError<MetaErrorCode> {}

/**
 * The metadata database cannot answer now (PostgreSQL down, restarting, out of connections, a
 * statement timed out): nothing was changed, or a commit's outcome is unknown. The client should
 * retry (503 with Retry-After); never an answer about the data.
 */
export class MetaUnavailableError extends CodedError<'ServiceUnavailable'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ServiceUnavailable', message, options);
  }
}
