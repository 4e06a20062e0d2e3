/** The largest geometry the store allows (and the kernel's table area is sized for). */
export const MAX_DATA_SHARDS = 16;
export const MAX_PARITY_SHARDS = 8;

/**
 * A systematic erasure code over k data and m parity shards of equal length. Shards are the
 * caller's buffers: results are written into buffers the caller provides, nothing is allocated
 * per call.
 */
export interface ErasureCodec {
  readonly dataShards: number;
  readonly parityShards: number;

  /** Computes the m parity shards of the k data shards into `parity`. */
  encode(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void;

  /**
   * Rebuilds shards in place from the others in `shards` (all k+m, 0..k-1 data, k..k+m-1
   * parity). `missing` are the indices whose contents are unavailable; of those, `rebuild`
   * (all of them by default) are overwritten. Missing shards not rebuilt are neither read nor
   * written (a placeholder of any length will do): a reader that lost a data shard and did not
   * fetch a parity shard rebuilds only the data. Throws ErasureError TOO_MANY_MISSING when more
   * than m are missing.
   */
  reconstruct(shards: readonly Uint8Array[], missing: readonly number[], rebuild?: readonly number[]): void;

  /** Whether the parity shards in `shards` (all k+m) match the data shards. */
  verify(shards: readonly Uint8Array[]): boolean;
}
