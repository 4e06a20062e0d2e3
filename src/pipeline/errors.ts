import { CodedError } from '../util/coded-error.js';
export type PipelineErrorCode =
  /** The configured master key is not the one the data (a wrapped key, the key check) was made with. */
  | 'WRONG_MASTER_KEY'
  /** A master key that is not 32 bytes of hex (env variable or key file). */
  | 'INVALID_MASTER_KEY'
  /** The key file is open to group or others; it must be 0600. */
  | 'KEY_FILE_PERMISSIONS'
  /** A wrapped data key of the wrong length: not something wrapKey wrote. */
  | 'INVALID_WRAPPED_KEY'
  /** A chunk failed AEAD authentication: wrong data key, other object or index, altered bytes. */
  | 'CHUNK_AUTH_FAILED'
  /** More than m of the k+m shards are missing or fail their CRC: the chunk is lost. */
  | 'TOO_FEW_SHARDS'
  /** Authenticated bytes that are not what the manifest says (compression flag, plain size). */
  | 'MANIFEST_MISMATCH'
  /** Arguments that cannot describe a chunk (sizes, counts, geometry). */
  | 'INVALID_ARGUMENT'
  /** The compiled worker is missing (not built). */
  | 'WORKER_NOT_FOUND';

/** Errors of the pipeline; callers branch on `code`. */
export class PipelineError extends CodedError<PipelineErrorCode> {}
