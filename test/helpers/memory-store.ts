// A whole store with no process and no socket, for the unit tier: memory backends (with
// injectable latency and faults), the real sqlite metadata store on a temporary file, and the
// pipeline in the calling thread (from the source: no build needed).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteMetaStore } from '../../src/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '../../src/pipeline/pool.js';
import { BackendPool, type BackendPoolOptions } from '../../src/store/backend-pool.js';
import { ObjectStore, type ObjectStoreOptions } from '../../src/store/object-store.js';
import { MemoryBackends, memoryBackendList } from '../../src/testing/memory-backend.js';

export interface MemoryStore {
  /** The backends' memory, by backend id: `memory.get('b3').configure({ faults })`. */
  memory: MemoryBackends;
  backends: BackendPool;
  meta: SqliteMetaStore;
  pipeline: PipelinePool;
  store: ObjectStore;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** Backends b0..b<count-1>, one per node over three farms; default 6. */
  count?: number;
  seed?: number;
  pool?: Partial<Omit<BackendPoolOptions, 'connect'>>;
  store?: Partial<ObjectStoreOptions>;
}

/** Async although nothing here waits yet: the metadata store is becoming asynchronous. */
export async function memoryStore(o: MemoryStoreOptions = {}): Promise<MemoryStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-memory-store-'));
  const memory = new MemoryBackends({ seed: o.seed });
  const backends = new BackendPool(memoryBackendList(o.count ?? 6), {
    downAfterFailures: 3,
    ...o.pool,
    connect: memory.connect,
  });
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  const pipeline = new PipelinePool({ threads: 0 });
  const store = new ObjectStore({ meta, backends, pipeline, masterKey: crypto.randomBytes(32), ...o.store });
  return {
    memory,
    backends,
    meta,
    pipeline,
    store,
    async close() {
      await backends.close();
      await pipeline.close();
      await meta.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
