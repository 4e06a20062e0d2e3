import type { Database } from 'better-sqlite3';
import { SchemaVersionError } from '../../util/schema-version-error.js';

/**
 * The registry's own tables in a database it shares (the gateway's meta.db): every name starts
 * with `registry_`, and the version lives in `registry_schema`, not in `user_version`, which
 * the metadata store's migrations own. MIGRATIONS[i] goes from version i to i + 1; append only.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE registry_farms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE TABLE registry_nodes (
    id TEXT PRIMARY KEY,
    farm_id INTEGER NOT NULL REFERENCES registry_farms(id),
    agent_url TEXT NOT NULL,
    addresses TEXT NOT NULL,
    cores INTEGER NOT NULL,
    memory_bytes INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
  );
  CREATE TABLE registry_disks (
    node_id TEXT NOT NULL REFERENCES registry_nodes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    total_bytes INTEGER NOT NULL,
    free_bytes INTEGER NOT NULL,
    zdb_port INTEGER NOT NULL,
    zdb_state TEXT NOT NULL,
    namespaces INTEGER NOT NULL,
    used_bytes INTEGER NOT NULL,
    PRIMARY KEY (node_id, name)
  ) WITHOUT ROWID;
  `,
  // Stores a farm's farmer admitted: the registry grants them rights on the farm's nodes.
  `
  CREATE TABLE registry_admissions (
    farm_id INTEGER NOT NULL REFERENCES registry_farms(id),
    store TEXT NOT NULL,
    node TEXT,
    rights TEXT NOT NULL,
    expires INTEGER,
    created INTEGER NOT NULL,
    PRIMARY KEY (farm_id, store)
  ) WITHOUT ROWID;
  `,
];

export function migrateRegistry(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS registry_schema (version INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db.prepare('SELECT version FROM registry_schema').get() as { version: number } | undefined;
    if (!row) db.prepare('INSERT INTO registry_schema (version) VALUES (0)').run();
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) throw new SchemaVersionError('registry', current, MIGRATIONS.length);
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.prepare('UPDATE registry_schema SET version = ?').run(MIGRATIONS.length);
  }).immediate();
}
