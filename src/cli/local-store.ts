import fs from 'node:fs';
import path from 'node:path';
import { SqliteMetaStore } from '../meta/sqlite/sqlite-meta-store.js';
import { checkMasterKey, keyCheckValue, loadOrCreateMasterKey } from '../pipeline/keys.js';
import { PipelinePool } from '../pipeline/pool.js';
import type { Backend } from '../placement/backend.js';
import { parseBackendConfig } from '../placement/config.js';
import { BackendPool, type BackendPoolOptions } from '../store/backend-pool.js';
import { ObjectStore } from '../store/object-store.js';
import { poolBackend } from '../cluster/discovery.js';

/** What `qstor start` keeps in its data directory. */
export interface StoreConfig {
  dataShards: number;
  parityShards: number;
  /** Shards of a chunk a write needs stored (degraded writes down to it); default k+1. */
  writeQuorum?: number;
  backends: Array<{ id: string; farm: string; node: string; address: string; namespace: string; password?: string }>;
}

export class StoreSetupError extends Error {
  readonly code = 'StoreSetup';
}

export function layout(dir: string): { config: string; meta: string; masterKey: string; keyCheck: string } {
  return {
    config: path.join(dir, 'store.json'),
    meta: path.join(dir, 'meta.db'),
    masterKey: path.join(dir, 'master.key'),
    keyCheck: path.join(dir, 'master.check'),
  };
}

export function readStoreConfig(dir: string): StoreConfig {
  const file = layout(dir).config;
  if (!fs.existsSync(file)) throw new StoreSetupError(`${file} not found: is ${dir} a qstor data directory (made by qstor start)?`);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as StoreConfig;
  parseBackendConfig(doc, file); // validates, naming the bad field
  return doc;
}

export function writeStoreConfig(dir: string, config: StoreConfig): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(layout(dir).config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}

export interface OpenStore {
  store: ObjectStore;
  meta: SqliteMetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
  masterKey: Buffer;
  config: StoreConfig;
  close(): Promise<void>;
}

/**
 * Opens the store of a data directory: its metadata database, its master key (checked
 * against the one the data was written with), a client pool over its backends (those of
 * DIR/store.json, or of `config` for a gateway configured by file) and the worker pool.
 */
export async function openStore(dir: string, config: StoreConfig = readStoreConfig(dir), pool: Partial<BackendPoolOptions> = {}): Promise<OpenStore> {
  const files = layout(dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { key: masterKey } = await loadOrCreateMasterKey(files.masterKey);
  if (fs.existsSync(files.keyCheck)) checkMasterKey(masterKey, fs.readFileSync(files.keyCheck, 'utf8').trim());
  else fs.writeFileSync(files.keyCheck, keyCheckValue(masterKey) + '\n', { mode: 0o600 });
  // A gateway with a registry may start with no fixed backend: they come from the nodes.
  const list: Backend[] = config.backends.length === 0 ? [] : parseBackendConfig(config, files.config);
  const backends = new BackendPool(list, pool);
  const meta = new SqliteMetaStore(files.meta);
  // Namespaces reserved on the nodes of a registry (src/cluster) join the fixed backends.
  for (const b of meta.listBackends()) if (!backends.get(b.id)) backends.add(poolBackend(b, masterKey));
  const pipeline = new PipelinePool();
  const store = new ObjectStore({ meta, backends, pipeline, masterKey, dataShards: config.dataShards, parityShards: config.parityShards, writeQuorum: config.writeQuorum });
  return {
    store,
    meta,
    backends,
    pipeline,
    masterKey,
    config,
    async close() {
      await backends.close();
      await pipeline.close();
      meta.close();
    },
  };
}
