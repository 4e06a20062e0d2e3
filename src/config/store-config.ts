import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../erasure/codec.js';
import { BackendConfigError, backendList } from '../placement/config.js';
import { int, parseWith, record } from '../util/schema.js';

/** Where `qstor start`, the commands on its store and the gateway daemon keep everything, unless `--data` says otherwise. */
export const DEFAULT_DATA_DIR = './qstor-data';

/** What `qstor start` keeps in its data directory (`store.json`); a gateway config file holds one too. */
export interface StoreConfig {
  dataShards: number;
  parityShards: number;
  /** Shards of a chunk a write needs stored (degraded writes down to it); default k+1. */
  writeQuorum?: number;
  /** `socket`: the zdb's unix socket path when it runs on this machine (`qstor start`), used instead of `address`. */
  backends: Array<{
    id: string;
    farm: string;
    node: string;
    address: string;
    namespace: string;
    password?: string;
    socket?: string;
  }>;
}

/** `store.json`: the geometry within the erasure codec's limits, and the backends. */
const storeFile = record({
  dataShards: int(1, MAX_DATA_SHARDS),
  parityShards: int(0, MAX_PARITY_SHARDS),
  backends: backendList,
});

/** Checks a store.json document (every error names the field) and returns it as written. */
export function parseStoreConfig(doc: unknown, file: string): StoreConfig {
  parseWith(storeFile, doc, '', (message) => new BackendConfigError(`${file}: ${message}`));
  return doc as StoreConfig;
}
