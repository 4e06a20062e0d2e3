import type { PoolClient } from 'pg';
import { SchemaVersionError } from '../../util/schema-version-error.js';

/**
 * The registry's tables in the PostgreSQL database the metadata uses: the same `registry_*`
 * names and columns as on sqlite (schema.ts), BIGINT where a value passes 2^31 (bytes, ms,
 * sequences). Its version row is `registry_schema`, apart from the metadata's. MIGRATIONS[i]
 * goes from version i to i + 1; append only.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE registry_farms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    created BIGINT NOT NULL
  );
  CREATE TABLE registry_nodes (
    id TEXT PRIMARY KEY,
    farm_id BIGINT NOT NULL REFERENCES registry_farms(id),
    agent_url TEXT NOT NULL,
    addresses TEXT NOT NULL,
    cores INTEGER NOT NULL,
    memory_bytes BIGINT NOT NULL,
    registered_at BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
  );
  CREATE TABLE registry_disks (
    node_id TEXT NOT NULL REFERENCES registry_nodes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    total_bytes BIGINT NOT NULL,
    free_bytes BIGINT NOT NULL,
    zdb_port INTEGER NOT NULL,
    zdb_state TEXT NOT NULL,
    namespaces INTEGER NOT NULL,
    used_bytes BIGINT NOT NULL,
    PRIMARY KEY (node_id, name)
  );
  `,
  `
  CREATE TABLE registry_admissions (
    farm_id BIGINT NOT NULL REFERENCES registry_farms(id),
    store TEXT NOT NULL,
    node TEXT,
    rights TEXT NOT NULL,
    expires BIGINT,
    created BIGINT NOT NULL,
    PRIMARY KEY (farm_id, store)
  );
  `,
];

/**
 * The advisory lock the registry's migrations run under, so gateways starting together apply
 * each one once ('qsregist' in ASCII; the metadata's migrations take another key).
 */
export const REGISTRY_MIGRATION_LOCK = '8175003528459809652';

/** Brings the registry's tables up to date, in one transaction under REGISTRY_MIGRATION_LOCK. */
export async function migrateRegistryPostgres(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [REGISTRY_MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS registry_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM registry_schema');
    if (rows.length === 0) await client.query('INSERT INTO registry_schema (version) VALUES (0)');
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) throw new SchemaVersionError('registry', current, MIGRATIONS.length);
    for (let v = current; v < MIGRATIONS.length; v++) await client.query(MIGRATIONS[v]!);
    await client.query('UPDATE registry_schema SET version = $1', [MIGRATIONS.length]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}
