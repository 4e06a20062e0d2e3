import { CodedError } from '../util/coded-error.js';
export type ErasureErrorCode =
  /** k or m outside what the store allows. */
  | 'INVALID_GEOMETRY'
  /** Not k data + m parity buffers. */
  | 'SHARD_COUNT'
  /** Shards of different lengths. */
  | 'SHARD_SIZE'
  /** A missing-shard index out of range or repeated. */
  | 'INVALID_INDEX'
  /** More than m shards missing: the data cannot be recovered. */
  | 'TOO_MANY_MISSING'
  /** The wasm kernel's files are not where the package keeps them. */
  | 'KERNEL_NOT_FOUND';

export class ErasureError extends CodedError<ErasureErrorCode> {}
