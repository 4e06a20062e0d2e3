/** A zdb namespace on one disk of one node of one farm: where shards go. */
export interface Backend {
  /** Stable id, recorded in manifests. */
  id: string;
  /** Failure domains, widest first. */
  farm: string;
  node: string;
  host: string;
  port: number;
  /**
   * A unix socket on this machine where the same zdb listens: connected to instead of
   * host:port (`qstor start`'s own zdbs; loopback TCP costs both ends more CPU per byte).
   */
  socket?: string;
  namespace: string;
  /** Namespace password (never logged). */
  password?: string;
  /** Free bytes, for weighting (from NSINFO or the registry). */
  freeBytes: number;
  state: 'up' | 'down';
}
