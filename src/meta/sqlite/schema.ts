import type Database from 'better-sqlite3';
import { SchemaVersionError } from '../../util/schema-version-error.js';

/**
 * Migrations by version: MIGRATIONS[i] takes the database from user_version i to i + 1. Append,
 * never edit a released one.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE buckets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    settings TEXT NOT NULL
  );
  -- Manifests (up to hundreds of KiB) live apart from the objects index so that a listing
  -- scans small rows only; size, etag and mtime are copied into the index for the same reason.
  CREATE TABLE manifests (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
  CREATE TABLE objects (
    bucket_id INTEGER NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    manifest_id INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, key)
  ) WITHOUT ROWID;
  CREATE TABLE chunk_refs (chunk_id TEXT PRIMARY KEY, refs INTEGER NOT NULL) WITHOUT ROWID;

  CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    bucket_id INTEGER NOT NULL,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    headers TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX uploads_by_key ON uploads (bucket_id, key, upload_id);
  CREATE TABLE parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    chunks TEXT NOT NULL, -- last, so that listing parts never reads it
    PRIMARY KEY (upload_id, part_number)
  );

  CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    secret BLOB NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE grants (
    access_key_id TEXT NOT NULL,
    bucket_id INTEGER NOT NULL,
    read INTEGER NOT NULL,
    write INTEGER NOT NULL,
    owner INTEGER NOT NULL,
    PRIMARY KEY (access_key_id, bucket_id)
  ) WITHOUT ROWID;
  CREATE INDEX grants_by_bucket ON grants (bucket_id);

  CREATE TABLE backends (
    id TEXT PRIMARY KEY,
    farm TEXT NOT NULL,
    node TEXT NOT NULL,
    address TEXT NOT NULL,
    namespace TEXT NOT NULL,
    password BLOB,
    state TEXT NOT NULL,
    free_bytes INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE delete_queue (
    id INTEGER PRIMARY KEY,
    backend TEXT NOT NULL,
    key TEXT NOT NULL,
    leased_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE repair_queue (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    leased_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE pending_writes (
    write_id TEXT NOT NULL,
    backend TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (write_id, backend, key)
  ) WITHOUT ROWID;
  `,
  `
  -- Shards queued because their write was aborted or found interrupted (recoverPendingWrites):
  -- such a write may have committed after all, so they are deleted only if their chunk is not
  -- referenced then (see DeleteQueue.take).
  ALTER TABLE delete_queue ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Every version and delete marker of every key, newest (highest seq) first. The objects table
  -- stays the listing index of the keys whose newest version is an object, pointing at that
  -- version's manifest, so that ListObjects never walks old versions. Every object stored
  -- before versioning is its key's null version.
  CREATE TABLE versions (
    bucket_id INTEGER NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    version_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    manifest_id INTEGER, -- null: a delete marker
    PRIMARY KEY (bucket_id, key, seq DESC)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX versions_by_id ON versions (bucket_id, key, version_id);
  INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
    SELECT bucket_id, key, 1, 'null', size, etag, last_modified, manifest_id FROM objects;
  `,
  `
  -- Several gateways over one database: the leases that split background work between them,
  -- the gateways alive (heartbeats), and the gateway whose write each pending write is, so that
  -- one gateway's start-up recovery leaves another's writes in flight alone. Writes left by an
  -- older version have no owner: no gateway is alive under '' and they are recovered.
  CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  ) WITHOUT ROWID;
  ALTER TABLE pending_writes ADD COLUMN owner TEXT NOT NULL DEFAULT '';
  `,
  `
  -- Each part's checksum (base64) in its upload's algorithm (x-amz-checksum-algorithm); null
  -- for parts of uploads without one. After chunks (ALTER appends): listing parts reads past it,
  -- acceptable for a page of at most 1000 parts.
  ALTER TABLE parts ADD COLUMN checksum TEXT;
  `,
  `
  -- KMS keys held by the store (src/kms): each 256-bit key sealed under the master key.
  CREATE TABLE kms_keys (id TEXT PRIMARY KEY, sealed_key BLOB NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID;
  `,
  `
  -- A key's account-level right to create buckets of its own (AccessKey.createBuckets).
  ALTER TABLE access_keys ADD COLUMN create_buckets INTEGER NOT NULL DEFAULT 0;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION, each step in its own transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SchemaVersionError('metadata', current, SCHEMA_VERSION);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
