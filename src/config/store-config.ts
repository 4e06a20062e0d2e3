/** What `qstor start` keeps in its data directory (`store.json`); a gateway config file holds one too. */
export interface StoreConfig {
  dataShards: number;
  parityShards: number;
  backends: Array<{ id: string; farm: string; node: string; address: string; namespace: string; password?: string }>;
}
