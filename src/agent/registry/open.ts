import type pg from 'pg';
import { PostgresRegistryStore } from './postgres-store.js';
import { SqliteRegistryStore } from './sqlite-store.js';
import type { RegistryStore } from './store.js';

/**
 * Where the registry's tables live: the PostgreSQL database of the metadata when the gateway
 * has one (`metadataUrl`, or its `pool` to share connections), else the sqlite file `dbPath`.
 */
export interface RegistryLocation {
  dbPath: string;
  /** `postgres://USER[:PASS]@HOST:PORT/DB`: the gateway config's `metadata`. */
  metadataUrl?: string;
  /** A pool on that database, kept open when the registry closes (its owner ends it). */
  pool?: pg.Pool;
}

export function openRegistryStore(where: RegistryLocation): Promise<RegistryStore> {
  if (where.pool) return PostgresRegistryStore.open({ pool: where.pool });
  if (where.metadataUrl) return PostgresRegistryStore.open({ url: where.metadataUrl });
  return Promise.resolve(new SqliteRegistryStore(where.dbPath));
}
