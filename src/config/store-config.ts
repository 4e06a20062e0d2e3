/** What `qstor start` keeps in its data directory (`store.json`); a gateway config file holds one too. */
export interface StoreConfig {
  dataShards: number;
  parityShards: number;
  /** Shards of a chunk a write needs stored (degraded writes down to it); default k+1. */
  writeQuorum?: number;
  backends: Array<{ id: string; farm: string; node: string; address: string; namespace: string; password?: string }>;
}
