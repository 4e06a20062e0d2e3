import { randomBytes } from 'node:crypto';
import type { ObjectLock, ObjectManifest } from '../manifest.js';
import { MetaError } from '../errors.js';
import {
  checkPutCondition,
  checkRetentionChange,
  isLocked,
  lockOfNewVersion,
  NULL_VERSION,
  versionIdOf,
  type BucketSettings,
  type DeleteMarker,
  type DeleteOptions,
  type DeleteResult,
  checkDeleteCondition,
  type ListObjectsResult,
  type ObjectChange,
  type ObjectEntry,
  type ObjectHeaders,
  type PutCondition,
  type StoredVersion,
  type VersionRecord,
} from '../meta-store.js';
import type { WalkOptions } from '../listing.js';
import type { Sql } from './connection.js';
import type { ChunkRefs } from './chunk-refs.js';
import { walkTable, type TableScan } from './scan.js';

type Owner = NonNullable<ObjectEntry['owner']>;

interface ListRow {
  key: Buffer;
  size: number;
  etag: string;
  lastModified: number;
  manifestId: number;
}

export interface VersionRow {
  seq: number;
  versionId: string;
  size: number;
  etag: string;
  lastModified: number;
  /** Null: a delete marker. */
  manifestId: number | null;
}

/** A version row with its manifest's text (null for a marker). */
type VersionWithBody = VersionRow & { body: string | null };

/** The bucket a write goes to, as its transaction read it. */
export interface BucketRef {
  id: number;
  settings: BucketSettings;
}

export const VERSION_COLUMNS =
  'seq, version_id AS "versionId", size, etag, last_modified AS "lastModified", manifest_id AS "manifestId"';
const WITH_BODY = `SELECT v.seq, v.version_id AS "versionId", v.size, v.etag, v.last_modified AS "lastModified",
  v.manifest_id AS "manifestId", m.body FROM versions v LEFT JOIN manifests m ON m.id = v.manifest_id
  WHERE v.bucket_id = $1 AND v.key = $2`;
const NEWEST = `${WITH_BODY} ORDER BY v.seq DESC LIMIT 1`;
// Found through the hash index on (bucket id, key) (migration 5), not the b-tree: under
// SERIALIZABLE a lookup locks the index page it reads (a predicate lock, kept even when the key
// is absent), and every PUT of a new key reads and then inserts into the same b-tree leaf as the
// other PUTs of neighbouring keys: each pair of concurrent PUTs was a read-write cycle, one of
// them retried (more than one retry per 4 KiB PUT at 16 at once). A hash bucket is shared by
// few keys. The expression is the index's own, so the planner can use no other.
const BY_KEY_HASH = 'int8send(v.bucket_id) || v.key = int8send($1::bigint) || $2::bytea';
const NAMED = `SELECT v.seq, v.version_id AS "versionId", v.size, v.etag, v.last_modified AS "lastModified",
  v.manifest_id AS "manifestId", m.body FROM versions v LEFT JOIN manifests m ON m.id = v.manifest_id
  WHERE ${BY_KEY_HASH} AND v.version_id = $3`;

const LISTING: TableScan = {
  select: 'SELECT key, size, etag, last_modified AS "lastModified", manifest_id AS "manifestId" FROM objects',
  order: 'key',
  manyPerKey: false,
};

/** A new opaque S3 version id: 128 random bits, URL-safe, never "null". */
function newVersionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * `manifest` as the key's new version in a bucket with `settings`: a new version id when its
 * versioning is Enabled (else the null version, which carries none), its default retention.
 */
export function newVersionOf(manifest: ObjectManifest, settings: BucketSettings): ObjectManifest {
  const stored: ObjectManifest = {
    ...manifest,
    versionId: newVersionId(),
    lock: lockOfNewVersion(manifest.lock, settings, Date.now()),
  };
  if (settings.versioning !== 'Enabled') delete stored.versionId;
  if (!stored.lock) delete stored.lock;
  return stored;
}

function parse(body: string | null): ObjectManifest {
  return JSON.parse(body!) as ObjectManifest;
}

/**
 * Objects by (bucket id, key bytes), each key a history of versions (newest: highest seq). The
 * versions table holds every version and delete marker; the objects table is the listing index
 * (key, size, etag, mtime) of the keys whose newest version is an object, kept in step by every
 * write. Manifests are rows of `manifests`, read only by point lookups. The same rules as the
 * sqlite engine (src/meta/sqlite/objects.ts), in as few round trips as each allows.
 */
export class Objects {
  constructor(private readonly refs: ChunkRefs) {}

  /**
   * Stores `manifest` as the key's newest version: a new version id when the bucket's versioning
   * is Enabled, else the null version, replacing the one there was (returned as `previous`).
   * PutObject's own is `qstor_put_object` (object-put.ts), these steps in one statement.
   */
  async put(sql: Sql, bucket: BucketRef, key: Buffer, manifest: ObjectManifest): Promise<ObjectChange> {
    const versioned = bucket.settings.versioning === 'Enabled';
    const stored = newVersionOf(manifest, bucket.settings);
    // Retained before the replaced version releases its chunks: a chunk both share never hits zero.
    await this.refs.retain(sql, stored.chunks);
    const previous = versioned
      ? null
      : ((await this.remove(sql, bucket.id, key, NULL_VERSION, false))?.manifest ?? null);
    await this.append(sql, bucket.id, key, { manifest: stored });
    return { manifest: stored, previous };
  }

  /** Restores a version or marker with the version id it carries, as the key's newest. */
  async restore(sql: Sql, bucketId: number, key: Buffer, version: StoredVersion): Promise<void> {
    const versionId = version.manifest ? versionIdOf(version.manifest) : version.marker.versionId;
    if (version.manifest) await this.refs.retain(sql, version.manifest.chunks);
    await this.remove(sql, bucketId, key, versionId, null);
    await this.append(sql, bucketId, key, version);
  }

  /**
   * Restores many versions (a rebuild, an import): as `restore` one by one, but when the keys
   * are distinct and none of the versions exists yet, in a few multi-row statements.
   */
  async restoreAll(sql: Sql, bucketId: number, records: VersionRecord[]): Promise<void> {
    const keys = records.map((r) => Buffer.from(r.key));
    const versionIds = records.map((r) => ('manifest' in r ? versionIdOf(r.manifest) : r.marker.versionId));
    const distinct = new Set(records.map((r) => r.key)).size === records.length;
    const clash =
      distinct &&
      (await sql.row(
        `SELECT 1 FROM versions v JOIN unnest($2::bytea[], $3::text[]) AS r(k, vid) ON v.key = r.k AND v.version_id = r.vid
         WHERE v.bucket_id = $1 LIMIT 1`,
        [bucketId, keys, versionIds],
      )) !== undefined;
    if (!distinct || clash) {
      for (const [i, record] of records.entries()) await this.restore(sql, bucketId, keys[i]!, record);
      return;
    }
    const objects = records.flatMap((r, i) => ('manifest' in r ? [{ key: keys[i]!, manifest: r.manifest }] : []));
    const markers = records.flatMap((r, i) => ('marker' in r ? [{ key: keys[i]!, marker: r.marker }] : []));
    await this.refs.retain(
      sql,
      objects.flatMap((o) => o.manifest.chunks),
    );
    if (objects.length > 0) {
      const ids = (
        await sql.rows<{ id: number }>("SELECT nextval('manifests_id_seq') AS id FROM generate_series(1, $1)", [
          objects.length,
        ])
      ).map((row) => row.id);
      const columns = [
        objects.map((o) => o.key),
        objects.map((o) => versionIdOf(o.manifest)),
        objects.map((o) => o.manifest.size),
        objects.map((o) => o.manifest.etag),
        objects.map((o) => o.manifest.lastModified),
        ids,
      ];
      await sql.run('INSERT INTO manifests (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])', [
        ids,
        objects.map((o) => JSON.stringify(o.manifest)),
      ]);
      const rows =
        'unnest($2::bytea[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[]) AS r(k, vid, size, etag, lm, mid)';
      await sql.run(
        `INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
         SELECT $1, k, nextval('version_seq'), vid, size, etag, lm, mid FROM ${rows}`,
        [bucketId, ...columns],
      );
      await sql.run(
        `INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id)
         SELECT $1, k, size, etag, lm, mid FROM ${rows}
         ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           last_modified = excluded.last_modified, manifest_id = excluded.manifest_id`,
        [bucketId, ...columns],
      );
    }
    if (markers.length > 0) {
      await sql.run(
        `INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
         SELECT $1, k, nextval('version_seq'), vid, 0, '', lm, NULL FROM unnest($2::bytea[], $3::text[], $4::bigint[]) AS r(k, vid, lm)`,
        [
          bucketId,
          markers.map((m) => m.key),
          markers.map((m) => m.marker.versionId),
          markers.map((m) => m.marker.lastModified),
        ],
      );
      await sql.run('DELETE FROM objects WHERE bucket_id = $1 AND key = ANY($2::bytea[])', [
        bucketId,
        markers.map((m) => m.key),
      ]);
    }
  }

  /** Throws unless `condition` holds for what the key holds now (inside the write's transaction). */
  async check(sql: Sql, bucketId: number, key: Buffer, condition: PutCondition): Promise<void> {
    const row = await sql.row<{ etag: string }>('SELECT etag FROM objects WHERE bucket_id = $1 AND key = $2', [
      bucketId,
      key,
    ]);
    checkPutCondition(condition, row?.etag);
  }

  /** The key's newest version when it is an object; throws NoSuchBucket. One statement (the GET path). */
  async get(sql: Sql, bucket: string, key: Buffer): Promise<ObjectManifest | null> {
    const row = await sql.row<{ body: string | null }>(
      `SELECT m.body FROM buckets b LEFT JOIN objects o ON o.bucket_id = b.id AND o.key = $2
       LEFT JOIN manifests m ON m.id = o.manifest_id WHERE b.name = $1`,
      [bucket, key],
    );
    if (!row) throw new MetaError('NoSuchBucket', `bucket ${bucket} does not exist`);
    return row.body === null ? null : parse(row.body);
  }

  /** The named version (newest: undefined), object or delete marker. */
  async getVersion(sql: Sql, bucketId: number, key: Buffer, versionId?: string): Promise<StoredVersion | null> {
    const row = await this.versionWithBody(sql, bucketId, key, versionId);
    if (!row) return null;
    if (row.manifestId === null) return { marker: { versionId: row.versionId, lastModified: row.lastModified } };
    return { manifest: parse(row.body) };
  }

  /** Replaces the manifest of version `manifest.versionId` if it is still `expectedId`. */
  async update(
    sql: Sql,
    bucketId: number,
    key: Buffer,
    expectedId: string,
    manifest: ObjectManifest,
  ): Promise<boolean> {
    const row = await this.versionWithBody(sql, bucketId, key, versionIdOf(manifest));
    if (!row || row.manifestId === null) return false;
    const current = parse(row.body);
    if (current.id !== expectedId) return false;
    await this.refs.retain(sql, manifest.chunks);
    // The lock is the one stored now: a repair never undoes a lock change made since its read.
    const next: ObjectManifest = { ...manifest, lock: current.lock };
    if (!next.lock) delete next.lock;
    await sql.run('UPDATE manifests SET body = $1 WHERE id = $2', [JSON.stringify(next), row.manifestId]);
    await this.refs.release(sql, current.chunks);
    return true;
  }

  /** See `MetaStore.deleteObject`. */
  async delete(
    sql: Sql,
    bucket: BucketRef,
    key: Buffer,
    versionId: string | undefined,
    options: DeleteOptions,
  ): Promise<DeleteResult> {
    if (options.condition) checkDeleteCondition(options.condition, await this.getVersion(sql, bucket.id, key));
    const bypassGovernance = options.bypassGovernance ?? false;
    if (versionId !== undefined) {
      const gone = await this.remove(sql, bucket.id, key, versionId, bypassGovernance);
      if (gone) await this.syncListing(sql, bucket.id, key);
      return {
        removed: gone?.manifest ?? null,
        versionId: gone ? versionId : null,
        deleteMarker: gone?.marker ?? false,
      };
    }
    const versioning = bucket.settings.versioning;
    if (versioning === undefined) {
      const gone = await this.remove(sql, bucket.id, key, NULL_VERSION, bypassGovernance);
      if (gone) await this.syncListing(sql, bucket.id, key);
      return { removed: gone?.manifest ?? null, versionId: null, deleteMarker: false };
    }
    // Suspended: the null version, wherever it is, gives way to a null marker as the newest.
    const removed =
      versioning === 'Suspended'
        ? ((await this.remove(sql, bucket.id, key, NULL_VERSION, bypassGovernance))?.manifest ?? null)
        : null;
    const marker: DeleteMarker = {
      versionId: versioning === 'Enabled' ? newVersionId() : NULL_VERSION,
      lastModified: Date.now(),
    };
    await this.append(sql, bucket.id, key, { marker });
    return { removed, versionId: marker.versionId, deleteMarker: true, added: marker };
  }

  /** A copy with a fresh id and mtime that shares the source version's chunks; null when `sourceId` no longer matches. */
  async copy(
    sql: Sql,
    source: { bucketId: number; key: Buffer; versionId?: string; id?: string },
    dst: BucketRef,
    dstKey: Buffer,
    replace?: ObjectHeaders,
    lock?: ObjectLock,
    condition?: PutCondition,
  ): Promise<ObjectChange | null> {
    const found = await this.getVersion(sql, source.bucketId, source.key, source.versionId);
    if (source.id !== undefined && found?.manifest?.id !== source.id) return null;
    if (found?.marker && source.versionId !== undefined) {
      throw new MetaError(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    if (!found?.manifest) throw new MetaError('NoSuchKey', `key ${source.key.toString()} does not exist`);
    if (condition) await this.check(sql, dst.id, dstKey, condition);
    // A copy is a new version: it takes the lock its request or the bucket gives, not the source's.
    const manifest: ObjectManifest = {
      ...found.manifest,
      id: randomBytes(16).toString('hex'),
      lastModified: Date.now(),
    };
    delete manifest.lock;
    if (lock) manifest.lock = lock;
    if (replace) {
      manifest.contentType = replace.contentType;
      manifest.metadata = replace.metadata;
      // A copy's ACL and tags are the request's (AWS), given with its headers.
      manifest.acl = replace.acl;
      manifest.tags = replace.tags;
    }
    return this.put(sql, dst, dstKey, manifest);
  }

  /** See `MetaStore.updateObjectLock`. */
  async updateLock(
    sql: Sql,
    bucketId: number,
    key: Buffer,
    versionId: string | undefined,
    change: { retention?: Pick<ObjectLock, 'mode' | 'retainUntil'> | null; legalHold?: boolean },
    bypassGovernance: boolean,
  ): Promise<ObjectManifest> {
    const row = await this.versionWithBody(sql, bucketId, key, versionId);
    if (!row || row.manifestId === null) throw new MetaError('NoSuchKey', 'The specified key does not exist.');
    const manifest = parse(row.body);
    const lock: ObjectLock = { ...manifest.lock };
    if (change.retention !== undefined) {
      const next = change.retention ?? {};
      checkRetentionChange(manifest.lock, next, bypassGovernance, Date.now());
      delete lock.mode;
      delete lock.retainUntil;
      Object.assign(lock, next);
    }
    if (change.legalHold !== undefined) lock.legalHold = change.legalHold;
    const updated = { ...manifest, lock };
    await sql.run('UPDATE manifests SET body = $1 WHERE id = $2', [JSON.stringify(updated), row.manifestId]);
    return updated;
  }

  /** Whether no version or delete marker is left. */
  async isEmpty(sql: Sql, bucketId: number): Promise<boolean> {
    return (await sql.row('SELECT 1 FROM versions WHERE bucket_id = $1 LIMIT 1', [bucketId])) === undefined;
  }

  async list(
    sql: Sql,
    bucketId: number,
    options: Omit<WalkOptions, 'max'>,
    maxKeys: number,
    owners = false,
  ): Promise<ListObjectsResult> {
    if (maxKeys <= 0) return { entries: [], commonPrefixes: [], isTruncated: false, nextMarker: null };
    const page = await walkTable<ListRow>(sql, LISTING, bucketId, { ...options, max: maxKeys });
    // Only the page's own manifests are read, in one query, and only when asked.
    const ownerOf = owners
      ? await this.owners(
          sql,
          page.rows.map((r) => r.manifestId),
        )
      : new Map<number, Owner>();
    return {
      entries: page.rows.map(({ key, size, etag, lastModified, manifestId }) => {
        const entry: ObjectEntry = { key: key.toString(), size, etag, lastModified };
        const owner = ownerOf.get(Number(manifestId));
        if (owner) entry.owner = owner;
        return entry;
      }),
      commonPrefixes: page.prefixes.map((prefix) => prefix.toString()),
      isTruncated: page.truncated,
      nextMarker: page.truncated && page.last ? page.last.key.toString() : null,
    };
  }

  /** The ACL owner of each manifest that has one. */
  private async owners(sql: Sql, manifestIds: number[]): Promise<Map<number, Owner>> {
    if (manifestIds.length === 0) return new Map();
    const rows = await sql.rows<{ id: number; ownerId: string | null; displayName: string | null }>(
      `SELECT id, body::json->'acl'->'owner'->>'id' AS "ownerId", body::json->'acl'->'owner'->>'displayName' AS "displayName"
       FROM manifests WHERE id = ANY($1::bigint[])`,
      [manifestIds],
    );
    return new Map(
      rows
        .filter((r) => r.ownerId !== null)
        .map((r) => [Number(r.id), { id: r.ownerId!, displayName: r.displayName ?? '' }]),
    );
  }

  /** The row of version `versionId` of the key (listing markers). */
  async versionOf(sql: Sql, bucketId: number, key: Buffer, versionId: string): Promise<VersionRow | null> {
    return (await this.versionWithBody(sql, bucketId, key, versionId)) ?? null;
  }

  private versionWithBody(
    sql: Sql,
    bucketId: number,
    key: Buffer,
    versionId: string | undefined,
  ): Promise<VersionWithBody | undefined> {
    return versionId === undefined
      ? sql.row<VersionWithBody>(NEWEST, [bucketId, key])
      : sql.row<VersionWithBody>(NAMED, [bucketId, key, versionId]);
  }

  /** Adds a version (whose chunks the caller retained) or marker as the key's newest: one statement. */
  private async append(sql: Sql, bucketId: number, key: Buffer, version: StoredVersion): Promise<void> {
    const { manifest, marker } = version;
    if (manifest) {
      await sql.run(
        `WITH m AS (INSERT INTO manifests (body) VALUES ($3) RETURNING id),
         v AS (INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
               SELECT $1, $2, nextval('version_seq'), $4, $5, $6, $7, m.id FROM m)
         INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id)
           SELECT $1, $2, $5, $6, $7, m.id FROM m
         ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           last_modified = excluded.last_modified, manifest_id = excluded.manifest_id`,
        [
          bucketId,
          key,
          JSON.stringify(manifest),
          versionIdOf(manifest),
          manifest.size,
          manifest.etag,
          manifest.lastModified,
        ],
      );
    } else {
      await sql.run(
        `WITH v AS (INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id)
                    VALUES ($1, $2, nextval('version_seq'), $3, 0, '', $4, NULL))
         DELETE FROM objects WHERE bucket_id = $1 AND key = $2`,
        [bucketId, key, marker.versionId, marker.lastModified],
      );
    }
  }

  /**
   * Removes a version for good, releasing its chunks; the caller syncs the listing. Throws
   * AccessDenied when it is locked (`bypassGovernance` null: no check, a rebuild's own records).
   */
  private async remove(
    sql: Sql,
    bucketId: number,
    key: Buffer,
    versionId: string,
    bypassGovernance: boolean | null,
  ): Promise<{ manifest: ObjectManifest | null; marker: boolean } | null> {
    const row = await this.versionWithBody(sql, bucketId, key, versionId);
    if (!row) return null;
    if (row.manifestId === null) {
      await sql.run('DELETE FROM versions WHERE bucket_id = $1 AND key = $2 AND seq = $3', [bucketId, key, row.seq]);
      return { manifest: null, marker: true };
    }
    const manifest = parse(row.body);
    if (bypassGovernance !== null && isLocked(manifest.lock, bypassGovernance, Date.now())) {
      throw new MetaError('AccessDenied', 'Access Denied because object protected by object lock.');
    }
    await sql.run(
      `WITH v AS (DELETE FROM versions WHERE bucket_id = $1 AND key = $2 AND seq = $3)
       DELETE FROM manifests WHERE id = $4`,
      [bucketId, key, row.seq, row.manifestId],
    );
    await this.refs.release(sql, manifest.chunks);
    return { manifest, marker: false };
  }

  /** Points the listing index at the key's newest version, or drops the key when that is none or a marker. */
  private async syncListing(sql: Sql, bucketId: number, key: Buffer): Promise<void> {
    const newest = await sql.row<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM versions WHERE bucket_id = $1 AND key = $2 ORDER BY seq DESC LIMIT 1`,
      [bucketId, key],
    );
    if (newest?.manifestId != null) {
      await sql.run(
        `INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           last_modified = excluded.last_modified, manifest_id = excluded.manifest_id`,
        [bucketId, key, newest.size, newest.etag, newest.lastModified, newest.manifestId],
      );
    } else {
      await sql.run('DELETE FROM objects WHERE bucket_id = $1 AND key = $2', [bucketId, key]);
    }
  }
}
