import { CodedError } from '../util/coded-error.js';
/** Errors of the store, with the S3 code a client sees. */
export type StoreErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'InvalidRange'
  | 'BadDigest'
  | 'InvalidArgument'
  | 'ServiceUnavailable'
  /** Fewer healthy backends than the write quorum: AWS's "retry later". */
  | 'SlowDown'
  | 'InternalError';

export class StoreError extends CodedError<StoreErrorCode> {}
