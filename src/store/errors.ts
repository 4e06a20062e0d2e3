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
  | 'InternalError';

export class StoreError extends CodedError<StoreErrorCode> {}
