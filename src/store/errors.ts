import type { DeleteMarker } from '../meta/meta-store.js';
import { CodedError } from '../util/coded-error.js';
/** Errors of the store, with the S3 code a client sees. */
export type StoreErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  /** A version id that names no version of the key. */
  | 'NoSuchVersion'
  /** A read of a delete marker by its version id. */
  | 'MethodNotAllowed'
  | 'NoSuchUpload'
  | 'InvalidRange'
  | 'BadDigest'
  | 'InvalidArgument'
  | 'ServiceUnavailable'
  /** An SSE-C object or upload read or written without its customer's key. */
  | 'AccessDenied'
  /** Fewer healthy backends than the write quorum: AWS's "retry later". */
  | 'SlowDown'
  | 'InternalError';

export class StoreError extends CodedError<StoreErrorCode> {}

/**
 * A read that found a delete marker: NoSuchKey when it is the key's newest version,
 * MethodNotAllowed when the read named it by version id. S3 says which marker in headers.
 */
export class DeleteMarkerError extends StoreError {
  constructor(
    readonly marker: DeleteMarker,
    byVersionId: boolean,
  ) {
    super(
      byVersionId ? 'MethodNotAllowed' : 'NoSuchKey',
      byVersionId ? 'The specified method is not allowed against this resource.' : 'The specified key does not exist.',
    );
  }
}
