import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteMetaStore } from '../../src/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '../../src/pipeline/pool.js';
import type { Backend } from '../../src/placement/backend.js';
import { BackendPool } from '../../src/store/backend-pool.js';
import { ObjectStore, type ObjectStoreOptions } from '../../src/store/object-store.js';
import { startZdb, type ZdbProcess } from './zdb-process.js';

export { collect, content, pieces } from './content.js';

export const ZDB = path.resolve('bin/zdb.js');

export interface Harness {
  dir: string;
  zdbs: ZdbProcess[];
  backends: BackendPool;
  meta: SqliteMetaStore;
  pipeline: PipelinePool;
  store: ObjectStore;
  masterKey: Buffer;
  close(): Promise<void>;
}

/**
 * A whole store on this machine: `count` real zdb processes (durable, one per "node", spread
 * over three farms), a sqlite metadata file, the worker pool.
 */
export async function startStore(count = 6, options: Partial<ObjectStoreOptions> = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-store-'));
  const zdbs = await Promise.all(Array.from({ length: count }, () => startZdb({ bin: ZDB, args: ['--sync'] })));
  const list: Backend[] = zdbs.map((z, i) => ({
    id: `b${i}`,
    farm: `farm${i % 3}`,
    node: `node${i}`,
    host: z.host,
    port: z.port,
    namespace: 'default',
    freeBytes: 0,
    state: 'up',
  }));
  const backends = new BackendPool(list, { requestTimeoutMs: 3000, downAfterFailures: 1 });
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  const pipeline = new PipelinePool({ threads: 2 });
  const masterKey = crypto.randomBytes(32);
  const store = new ObjectStore({ meta, backends, pipeline, masterKey, hedgeMs: 300, ...options });
  return {
    dir,
    zdbs,
    backends,
    meta,
    pipeline,
    store,
    masterKey,
    async close() {
      await backends.close();
      await pipeline.close();
      await meta.close();
      await Promise.all(zdbs.map((z) => z.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
