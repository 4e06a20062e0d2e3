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
  -- Each part's checksum (base64) in its upload's algorithm (x-amz-checksum-algorithm); null
  -- for parts of uploads without one.
  ALTER TABLE parts ADD COLUMN checksum text;
  `,
  `
  -- KMS keys held by the store (src/kms): each 256-bit key sealed under the master key.
  CREATE TABLE kms_keys (id text COLLATE "C" PRIMARY KEY, sealed_key bytea NOT NULL, created bigint NOT NULL);
  `,
  `
  -- PutObject in one statement (object-put.ts): five round trips (BEGIN, bucket, version lookup,
  -- insert, COMMIT) became one, and a transaction that short overlaps fewer others. The caller
  -- computes the new version (id, lock) from the bucket settings it last saw (p_settings); when
  -- they changed, nothing is written and the current ones are returned ('settings'). Outcomes:
  -- 'done' (detail: the replaced null version's manifest, if any), 'no-bucket', 'settings',
  -- 'condition' (detail: the current ETag), 'locked'. The same steps, in the same order of row
  -- changes, as Objects.put: retain the new chunks, remove the null version (unless versioned)
  -- releasing its chunks, append, clear the pending write.
  CREATE FUNCTION qstor_put_object(
    p_bucket text, p_settings text, p_key bytea, p_versioned boolean,
    p_condition text, p_condition_etag text,
    p_body text, p_version_id text, p_size bigint, p_etag text, p_last_modified bigint,
    p_chunk_ids text[], p_write_id text, p_kept_shards text[], p_now bigint
  ) RETURNS TABLE (outcome text, detail text) LANGUAGE plpgsql AS $$
  DECLARE
    b_id bigint;
    b_settings text;
    current_etag text;
    old_seq bigint;
    old_manifest_id bigint;
    old_body text;
    old_chunks jsonb;
    freed text[];
  BEGIN
    SELECT id, settings INTO b_id, b_settings FROM buckets WHERE name = p_bucket;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'no-bucket', NULL::text;
      RETURN;
    END IF;
    IF p_settings IS DISTINCT FROM b_settings THEN
      RETURN QUERY SELECT 'settings', b_settings;
      RETURN;
    END IF;
    IF p_condition IS NOT NULL THEN
      SELECT etag INTO current_etag FROM objects WHERE bucket_id = b_id AND key = p_key;
      IF (p_condition = 'absent' AND current_etag IS NOT NULL)
         OR (p_condition = 'etag' AND current_etag IS DISTINCT FROM p_condition_etag) THEN
        RETURN QUERY SELECT 'condition', current_etag;
        RETURN;
      END IF;
    END IF;
    IF NOT p_versioned THEN
      -- Through the hash index, as objects.ts NAMED (few keys share its predicate locks).
      SELECT v.seq, v.manifest_id, m.body INTO old_seq, old_manifest_id, old_body
        FROM versions v LEFT JOIN manifests m ON m.id = v.manifest_id
        WHERE int8send(v.bucket_id) || v.key = int8send(b_id) || p_key AND v.version_id = 'null';
      -- isLocked(lock, bypassGovernance = false, now): a legal hold or a retention in force.
      IF old_body IS NOT NULL AND (
           (old_body::jsonb #>> '{lock,legalHold}')::boolean IS TRUE
           OR (old_body::jsonb #>> '{lock,retainUntil}')::numeric > p_now) THEN
        RETURN QUERY SELECT 'locked', NULL::text;
        RETURN;
      END IF;
    END IF;
    -- Retained before the replaced version releases its chunks: a chunk both share never hits zero.
    IF cardinality(p_chunk_ids) > 0 THEN
      INSERT INTO chunk_refs (chunk_id, refs)
        SELECT id, count(*) FROM unnest(p_chunk_ids) AS id GROUP BY id ORDER BY id
        ON CONFLICT (chunk_id) DO UPDATE SET refs = chunk_refs.refs + excluded.refs;
    END IF;
    IF old_seq IS NOT NULL THEN
      DELETE FROM versions WHERE bucket_id = b_id AND key = p_key AND seq = old_seq;
    END IF;
    IF old_manifest_id IS NOT NULL THEN
      DELETE FROM manifests WHERE id = old_manifest_id;
      old_chunks := old_body::jsonb -> 'chunks';
      -- As ChunkRefs.release: no row is an unknown count, left alone.
      WITH counted AS (
        UPDATE chunk_refs c SET refs = c.refs - d.n
        FROM (SELECT ch ->> 'id' AS id, count(*) AS n FROM jsonb_array_elements(old_chunks) ch
              GROUP BY 1 ORDER BY 1) d
        WHERE c.chunk_id = d.id RETURNING c.chunk_id, c.refs)
      SELECT array_agg(chunk_id) INTO freed FROM counted WHERE refs <= 0;
      IF freed IS NOT NULL THEN
        DELETE FROM chunk_refs WHERE chunk_id = ANY(freed);
        INSERT INTO delete_queue (backend, key)
          SELECT s ->> 'backend', s ->> 'key'
          FROM (SELECT DISTINCT ON (ch ->> 'id') ch FROM jsonb_array_elements(old_chunks) ch
                WHERE ch ->> 'id' = ANY(freed)) gone,
               jsonb_array_elements(gone.ch -> 'shards') s;
      END IF;
    END IF;
    WITH m AS (INSERT INTO manifests (body) VALUES (p_body) RETURNING id),
      v AS (INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
            SELECT b_id, p_key, nextval('version_seq'), p_version_id, p_size, p_etag, p_last_modified, m.id FROM m)
    INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id)
      SELECT b_id, p_key, p_size, p_etag, p_last_modified, m.id FROM m
    ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
      last_modified = excluded.last_modified, manifest_id = excluded.manifest_id;
    -- As PendingWrites.commit: the write's shards no chunk kept (given up for a spare) are deleted.
    IF p_write_id IS NOT NULL THEN
      WITH cleared AS (DELETE FROM pending_writes WHERE write_id = p_write_id RETURNING backend, key)
      INSERT INTO delete_queue (backend, key)
        SELECT backend, key FROM cleared WHERE backend || chr(10) || key <> ALL (p_kept_shards);
    END IF;
    RETURN QUERY SELECT 'done', CASE WHEN old_manifest_id IS NULL THEN NULL ELSE old_body END;
  END
  $$;
  `,
  `
  -- A key's account-level right to create buckets of its own (AccessKey.createBuckets).
  ALTER TABLE access_keys ADD COLUMN create_buckets boolean NOT NULL DEFAULT false;
  `,
  `
  -- qstor_put_object with a PutCondition's two lists (If-Match, If-None-Match; NULL: not sent),
  -- so If-Match: * and If-None-Match: <etag> are decided in the commit as the others are. A new
  -- signature: the old function stays for gateways of the previous version during a rolling
  -- upgrade (they call it with untyped text parameters, which resolve to it; this version casts
  -- its lists to text[]). This one decides the condition, then has the old one write without
  -- one, in the same statement (same transaction): the write's steps have one home.
  CREATE FUNCTION qstor_put_object(
    p_bucket text, p_settings text, p_key bytea, p_versioned boolean,
    p_if_match text[], p_if_none_match text[],
    p_body text, p_version_id text, p_size bigint, p_etag text, p_last_modified bigint,
    p_chunk_ids text[], p_write_id text, p_kept_shards text[], p_now bigint
  ) RETURNS TABLE (outcome text, detail text) LANGUAGE plpgsql AS $$
  DECLARE
    b_id bigint;
    b_settings text;
    current_etag text;
  BEGIN
    IF p_if_match IS NOT NULL OR p_if_none_match IS NOT NULL THEN
      -- The old function's first outcomes come first, as there: no bucket, changed settings.
      SELECT id, settings INTO b_id, b_settings FROM buckets WHERE name = p_bucket;
      IF NOT FOUND THEN
        RETURN QUERY SELECT 'no-bucket', NULL::text;
        RETURN;
      END IF;
      IF p_settings IS DISTINCT FROM b_settings THEN
        RETURN QUERY SELECT 'settings', b_settings;
        RETURN;
      END IF;
      SELECT etag INTO current_etag FROM objects WHERE bucket_id = b_id AND key = p_key;
      -- checkPutCondition: '*' in a list names any object (no ETag is '*').
      IF (p_if_match IS NOT NULL
          AND (current_etag IS NULL OR NOT ('*' = ANY(p_if_match) OR current_etag = ANY(p_if_match))))
         OR (p_if_none_match IS NOT NULL AND current_etag IS NOT NULL
          AND ('*' = ANY(p_if_none_match) OR current_etag = ANY(p_if_none_match))) THEN
        RETURN QUERY SELECT 'condition', current_etag;
        RETURN;
      END IF;
    END IF;
    RETURN QUERY SELECT * FROM qstor_put_object(
      p_bucket, p_settings, p_key, p_versioned, NULL::text, NULL::text,
      p_body, p_version_id, p_size, p_etag, p_last_modified,
      p_chunk_ids, p_write_id, p_kept_shards, p_now);
  END
  $$;
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
