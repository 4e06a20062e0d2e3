import type pg from 'pg';
import { SchemaVersionError } from '../../util/schema-version-error.js';

/**
 * Migrations by version: MIGRATIONS[i] takes the database from schema_version i to i + 1.
 * Append, never edit a released one.
 *
 * Keys are bytea, so every comparison and index is by raw bytes, which is S3's (UTF-8 byte)
 * order whatever the database's collation; text columns that are listed in order (bucket names,
 * access key ids, upload ids, backend ids) are COLLATE "C" (byte order) for the same reason.
 * Times are bigint milliseconds, as the interface gives them, except for leases and gateway
 * heartbeats, which use the server's clock.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE buckets (
    id bigserial PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE,
    created bigint NOT NULL,
    settings text NOT NULL
  );
  -- Manifests (up to hundreds of KiB) live apart from the listing index so that a listing reads
  -- small rows only; size, etag and mtime are copied into the index for the same reason.
  CREATE TABLE manifests (id bigserial PRIMARY KEY, body text NOT NULL);
  -- The listing index: the keys whose newest version is an object.
  CREATE TABLE objects (
    bucket_id bigint NOT NULL,
    key bytea NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    last_modified bigint NOT NULL,
    manifest_id bigint NOT NULL,
    PRIMARY KEY (bucket_id, key)
  );
  -- Every version and delete marker, newest (highest seq) first. seq comes from one sequence,
  -- so two transactions adding a version to the same key never pick the same one.
  CREATE SEQUENCE version_seq;
  CREATE TABLE versions (
    bucket_id bigint NOT NULL,
    key bytea NOT NULL,
    seq bigint NOT NULL,
    version_id text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    last_modified bigint NOT NULL,
    manifest_id bigint -- null: a delete marker
  );
  CREATE UNIQUE INDEX versions_order ON versions (bucket_id, key, seq DESC);
  CREATE UNIQUE INDEX versions_by_id ON versions (bucket_id, key, version_id);
  CREATE TABLE chunk_refs (chunk_id text PRIMARY KEY, refs bigint NOT NULL);

  CREATE TABLE uploads (
    upload_id text COLLATE "C" PRIMARY KEY,
    bucket_id bigint NOT NULL,
    key bytea NOT NULL,
    initiated bigint NOT NULL,
    headers text NOT NULL
  );
  CREATE INDEX uploads_by_key ON uploads (bucket_id, key, upload_id);
  CREATE TABLE parts (
    upload_id text NOT NULL,
    part_number integer NOT NULL,
    etag text NOT NULL,
    size bigint NOT NULL,
    last_modified bigint NOT NULL,
    chunks text NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  );

  CREATE TABLE access_keys (
    id text COLLATE "C" PRIMARY KEY,
    secret bytea NOT NULL,
    name text NOT NULL,
    created bigint NOT NULL
  );
  CREATE TABLE grants (
    access_key_id text NOT NULL,
    bucket_id bigint NOT NULL,
    read boolean NOT NULL,
    write boolean NOT NULL,
    owner boolean NOT NULL,
    PRIMARY KEY (access_key_id, bucket_id)
  );
  CREATE INDEX grants_by_bucket ON grants (bucket_id);

  CREATE TABLE backends (
    id text COLLATE "C" PRIMARY KEY,
    farm text NOT NULL,
    node text NOT NULL,
    address text NOT NULL,
    namespace text NOT NULL,
    password bytea,
    state text NOT NULL,
    free_bytes bigint NOT NULL,
    last_seen bigint NOT NULL
  );

  CREATE TABLE delete_queue (
    id bigserial PRIMARY KEY,
    backend text NOT NULL,
    key text NOT NULL,
    leased_until bigint NOT NULL DEFAULT 0,
    -- The shard of an aborted or interrupted write: dropped, not deleted, if its chunk is referenced.
    interrupted boolean NOT NULL DEFAULT false
  );
  CREATE TABLE repair_queue (
    id bigserial PRIMARY KEY,
    chunk_id text NOT NULL UNIQUE,
    reason text NOT NULL,
    leased_until bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE pending_writes (
    write_id text NOT NULL,
    backend text NOT NULL,
    key text NOT NULL,
    PRIMARY KEY (write_id, backend, key)
  );

  CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
  );
  CREATE TABLE gateways (
    id text COLLATE "C" PRIMARY KEY,
    address text NOT NULL,
    version text NOT NULL,
    started_at bigint NOT NULL,
    last_seen timestamptz NOT NULL
  );
  `,
  `
  -- The gateway whose write each pending write is (its heartbeats in gateways), so that one
  -- gateway's recovery leaves another's writes in flight alone. Rows left before this version
  -- have no owner: no gateway is alive under '' and they are recovered.
  ALTER TABLE pending_writes ADD COLUMN owner text NOT NULL DEFAULT '';
  -- What the whole store shares: the key check value of its master key (claimKeyCheck).
  CREATE TABLE store_settings (name text PRIMARY KEY, value text NOT NULL);
  `,
  `
  -- Metadata records stored with fewer copies than wanted (store/meta-replica.ts), oldest first:
  -- whichever gateway runs when the backends return writes the missed copies. Ids hold NUL
  -- separators, which a text column refuses: bytea.
  CREATE TABLE records_short (
    seq bigserial PRIMARY KEY,
    record_id bytea NOT NULL UNIQUE,
    since bigint NOT NULL
  );
  `,
  `
  -- Point lookups of a key's versions under SERIALIZABLE lock hash buckets, not the b-tree leaf
  -- every new neighbouring key goes into (objects.ts, NAMED).
  CREATE INDEX versions_by_key_hash ON versions USING hash ((int8send(bucket_id) || key));
  `,
  `
  -- A key's account-level right to create buckets of its own (AccessKey.createBuckets).
  ALTER TABLE access_keys ADD COLUMN create_buckets boolean NOT NULL DEFAULT false;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

// pg_advisory_lock key of the migrations (any constant shared by every qstor gateway).
const MIGRATION_LOCK = 0x7173746f72; // "qstor"

/**
 * Brings the database to SCHEMA_VERSION, each step in its own transaction, under a session
 * advisory lock: gateways starting at once migrate one after the other, and the later ones find
 * the work done.
 */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  const onError = (): void => undefined;
  client.on('error', onError);
  let broken = false;
  try {
    // No statement timeout while migrating: building an index over a large table, or waiting
    // for another gateway doing it, takes what it takes (RESET: back to the pool's setting).
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
      const rows = (await client.query<{ version: number }>('SELECT version FROM schema_version')).rows;
      const current = rows[0]?.version ?? 0;
      if (current > SCHEMA_VERSION) throw new SchemaVersionError('metadata', current, SCHEMA_VERSION);
      for (let version = current; version < SCHEMA_VERSION; version++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[version]!);
          await client.query('DELETE FROM schema_version');
          await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version + 1]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      await client.query('RESET statement_timeout');
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
