import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ObjectLock, ObjectManifest } from '../manifest.js';
import { MetaError } from '../errors.js';
import {
  checkPutCondition,
  checkRetentionChange,
  isLocked,
  lockOfNewVersion,
  NULL_VERSION,
  versionIdOf,
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
} from '../meta-store.js';
import { walk, type Scan, type WalkOptions } from '../listing.js';
import type { Buckets } from './buckets.js';
import type { ChunkRefs } from './chunk-refs.js';
import type { PendingWrites } from './pending-writes.js';
import { bucketScan, prepare, type Statement } from './statements.js';

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

const VERSION_COLUMNS =
  'seq, version_id AS versionId, size, etag, last_modified AS lastModified, manifest_id AS manifestId';

/** A new opaque S3 version id: 128 random bits, URL-safe, never "null". */
function newVersionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Objects by (bucket id, key bytes), each key a history of versions (newest: highest seq). The
 * versions table holds every version and delete marker; the objects table is the listing index
 * (key, size, etag, mtime) of the keys whose newest version is an object, kept in step by every
 * write. Manifests are rows of `manifests`, read only by point lookups.
 */
export class Objects {
  private readonly insertManifest: Statement<[string]>;
  private readonly deleteManifest: Statement<[number], { body: string }>;
  private readonly manifestBody: Statement<[number], { body: string }>;
  private readonly manifestOwner: Statement<[number], { id: string | null; displayName: string | null }>;
  private readonly updateManifestBody: Statement<[string, number]>;
  private readonly upsertListing: Statement<[number, Buffer, number, string, number, number]>;
  private readonly deleteListing: Statement<[number, Buffer]>;
  private readonly lookup: Statement<[number, Buffer], { body: string }>;
  private readonly etagOf: Statement<[number, Buffer], { etag: string }>;
  private readonly newestRow: Statement<[number, Buffer], VersionRow>;
  private readonly versionRow: Statement<[number, Buffer, string], VersionRow>;
  private readonly insertVersion: Statement<[number, Buffer, number, string, number, string, number, number | null]>;
  private readonly deleteVersion: Statement<[number, Buffer, number]>;
  private readonly anyInBucket: Statement<[number]>;
  private readonly scan: (bucketId: number) => Scan<ListRow>;

  constructor(
    db: Database.Database,
    private readonly buckets: Buckets,
    private readonly refs: ChunkRefs,
    private readonly writes: PendingWrites,
  ) {
    this.insertManifest = prepare(db, 'INSERT INTO manifests (body) VALUES (?)');
    this.deleteManifest = prepare(db, 'DELETE FROM manifests WHERE id = ? RETURNING body');
    this.manifestBody = prepare(db, 'SELECT body FROM manifests WHERE id = ?');
    this.manifestOwner = prepare(
      db,
      `SELECT json_extract(body, '$.acl.owner.id') AS id, json_extract(body, '$.acl.owner.displayName') AS displayName
       FROM manifests WHERE id = ?`,
    );
    this.updateManifestBody = prepare(db, 'UPDATE manifests SET body = ? WHERE id = ?');
    this.upsertListing = prepare(
      db,
      `INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
         last_modified = excluded.last_modified, manifest_id = excluded.manifest_id`,
    );
    this.deleteListing = prepare(db, 'DELETE FROM objects WHERE bucket_id = ? AND key = ?');
    this.lookup = prepare(
      db,
      `SELECT m.body FROM objects o JOIN manifests m ON m.id = o.manifest_id WHERE o.bucket_id = ? AND o.key = ?`,
    );
    this.etagOf = prepare(db, 'SELECT etag FROM objects WHERE bucket_id = ? AND key = ?');
    this.newestRow = prepare(
      db,
      `SELECT ${VERSION_COLUMNS} FROM versions WHERE bucket_id = ? AND key = ? ORDER BY seq DESC LIMIT 1`,
    );
    this.versionRow = prepare(
      db,
      `SELECT ${VERSION_COLUMNS} FROM versions WHERE bucket_id = ? AND key = ? AND version_id = ?`,
    );
    this.insertVersion = prepare(
      db,
      'INSERT INTO versions (bucket_id, key, seq, version_id, size, etag, last_modified, manifest_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteVersion = prepare(db, 'DELETE FROM versions WHERE bucket_id = ? AND key = ? AND seq = ?');
    this.anyInBucket = prepare(db, 'SELECT 1 FROM versions WHERE bucket_id = ? LIMIT 1');
    this.scan = bucketScan(
      db,
      'SELECT key, size, etag, last_modified AS lastModified, manifest_id AS manifestId FROM objects',
      'key',
    );
  }

  /** Throws unless `condition` holds for what the key holds now (inside the put's transaction). */
  check(bucketId: number, key: Buffer, condition: PutCondition): void {
    checkPutCondition(condition, this.etagOf.get(bucketId, key)?.etag);
  }

  /**
   * Stores `manifest` as the key's newest version: a new version id when the bucket's versioning
   * is Enabled, else the null version, replacing the one there was (returned as `previous`).
   */
  put(bucketId: number, key: Buffer, manifest: ObjectManifest, writeId?: string): ObjectChange {
    const settings = this.buckets.settingsOf(bucketId);
    const versioned = settings.versioning === 'Enabled';
    const stored: ObjectManifest = {
      ...manifest,
      versionId: newVersionId(),
      lock: lockOfNewVersion(manifest.lock, settings, Date.now()),
    };
    if (!versioned) delete stored.versionId; // the null version carries none
    if (!stored.lock) delete stored.lock;
    // Retained before the replaced version releases its chunks: a chunk both share never hits zero.
    this.refs.retain(stored.chunks);
    const previous = versioned ? null : (this.remove(bucketId, key, NULL_VERSION, false)?.manifest ?? null);
    this.append(bucketId, key, { manifest: stored });
    if (writeId !== undefined) this.writes.commit(writeId, stored.chunks);
    return { manifest: stored, previous };
  }

  /** Restores a version or marker with the version id it carries, as the key's newest. */
  restore(bucketId: number, key: Buffer, version: StoredVersion): void {
    const versionId = version.manifest ? versionIdOf(version.manifest) : version.marker.versionId;
    if (version.manifest) this.refs.retain(version.manifest.chunks);
    this.remove(bucketId, key, versionId, null);
    this.append(bucketId, key, version);
  }

  /** The key's newest version when it is an object. */
  get(bucketId: number, key: Buffer): ObjectManifest | null {
    const row = this.lookup.get(bucketId, key);
    return row ? (JSON.parse(row.body) as ObjectManifest) : null;
  }

  /** The named version (newest: undefined), object or delete marker. */
  getVersion(bucketId: number, key: Buffer, versionId?: string): StoredVersion | null {
    const row =
      versionId === undefined ? this.newestRow.get(bucketId, key) : this.versionRow.get(bucketId, key, versionId);
    if (!row) return null;
    if (row.manifestId === null) return { marker: { versionId: row.versionId, lastModified: row.lastModified } };
    return { manifest: JSON.parse(this.manifestBody.get(row.manifestId)!.body) as ObjectManifest };
  }

  /** Replaces the manifest of version `manifest.versionId` if it is still `expectedId`. */
  update(bucketId: number, key: Buffer, expectedId: string, manifest: ObjectManifest): boolean {
    const row = this.versionRow.get(bucketId, key, versionIdOf(manifest));
    if (!row || row.manifestId === null) return false;
    const current = JSON.parse(this.manifestBody.get(row.manifestId)!.body) as ObjectManifest;
    if (current.id !== expectedId) return false;
    this.refs.retain(manifest.chunks);
    // The lock is the one stored now: a repair never undoes a lock change made since its read.
    const next: ObjectManifest = { ...manifest, lock: current.lock };
    if (!next.lock) delete next.lock;
    this.updateManifestBody.run(JSON.stringify(next), row.manifestId);
    this.refs.release(current.chunks);
    return true;
  }

  /** See `MetaStore.deleteObject`. */
  delete(bucketId: number, key: Buffer, versionId: string | undefined, options: DeleteOptions): DeleteResult {
    if (options.condition) checkDeleteCondition(options.condition, this.getVersion(bucketId, key));
    const bypassGovernance = options.bypassGovernance ?? false;
    if (versionId !== undefined) {
      const gone = this.remove(bucketId, key, versionId, bypassGovernance);
      if (gone) this.syncListing(bucketId, key);
      return {
        removed: gone?.manifest ?? null,
        versionId: gone ? versionId : null,
        deleteMarker: gone?.marker ?? false,
      };
    }
    const versioning = this.buckets.versioning(bucketId);
    if (versioning === undefined) {
      const gone = this.remove(bucketId, key, NULL_VERSION, bypassGovernance);
      if (gone) this.syncListing(bucketId, key);
      return { removed: gone?.manifest ?? null, versionId: null, deleteMarker: false };
    }
    // Suspended: the null version, wherever it is, gives way to a null marker as the newest.
    const removed =
      versioning === 'Suspended'
        ? (this.remove(bucketId, key, NULL_VERSION, bypassGovernance)?.manifest ?? null)
        : null;
    const marker: DeleteMarker = {
      versionId: versioning === 'Enabled' ? newVersionId() : NULL_VERSION,
      lastModified: Date.now(),
    };
    this.append(bucketId, key, { marker });
    return { removed, versionId: marker.versionId, deleteMarker: true, added: marker };
  }

  /** A copy with a fresh id and mtime that shares the source version's chunks; null when `sourceId` no longer matches. */
  copy(
    source: { bucketId: number; key: Buffer; versionId?: string; id?: string },
    dstBucketId: number,
    dstKey: Buffer,
    replace?: ObjectHeaders,
    lock?: ObjectLock,
    condition?: PutCondition,
  ): ObjectChange | null {
    const found = this.getVersion(source.bucketId, source.key, source.versionId);
    if (source.id !== undefined && found?.manifest?.id !== source.id) return null;
    if (found?.marker && source.versionId !== undefined) {
      throw new MetaError(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    if (!found?.manifest) throw new MetaError('NoSuchKey', `key ${source.key.toString()} does not exist`);
    if (condition) this.check(dstBucketId, dstKey, condition);
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
    return this.put(dstBucketId, dstKey, manifest);
  }

  /** See `MetaStore.updateObjectLock`. */
  updateLock(
    bucketId: number,
    key: Buffer,
    versionId: string | undefined,
    change: { retention?: Pick<ObjectLock, 'mode' | 'retainUntil'> | null; legalHold?: boolean },
    bypassGovernance: boolean,
  ): ObjectManifest {
    const row =
      versionId === undefined ? this.newestRow.get(bucketId, key) : this.versionRow.get(bucketId, key, versionId);
    if (!row || row.manifestId === null) throw new MetaError('NoSuchKey', 'The specified key does not exist.');
    const manifest = JSON.parse(this.manifestBody.get(row.manifestId)!.body) as ObjectManifest;
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
    this.updateManifestBody.run(JSON.stringify(updated), row.manifestId);
    return updated;
  }

  /** Whether no version or delete marker is left. */
  isEmpty(bucketId: number): boolean {
    return this.anyInBucket.get(bucketId) === undefined;
  }

  list(bucketId: number, options: Omit<WalkOptions, 'max'>, maxKeys: number, owners = false): ListObjectsResult {
    if (maxKeys <= 0) return { entries: [], commonPrefixes: [], isTruncated: false, nextMarker: null };
    const page = walk(this.scan(bucketId), { ...options, max: maxKeys });
    return {
      entries: page.rows.map(({ key, size, etag, lastModified, manifestId }) => {
        const entry: ObjectEntry = { key: key.toString(), size, etag, lastModified };
        // Only the page's own manifests are read, and only when asked: listing stays index-only.
        const owner = owners ? this.manifestOwner.get(manifestId) : undefined;
        if (owner?.id != null) entry.owner = { id: owner.id, displayName: owner.displayName ?? '' };
        return entry;
      }),
      commonPrefixes: page.prefixes.map((prefix) => prefix.toString()),
      isTruncated: page.truncated,
      nextMarker: page.truncated && page.last ? page.last.key.toString() : null,
    };
  }

  /** The row of version `versionId` of the key (listing markers). */
  versionOf(bucketId: number, key: Buffer, versionId: string): VersionRow | null {
    return this.versionRow.get(bucketId, key, versionId) ?? null;
  }

  /** Adds a version (whose chunks the caller retained) or marker as the key's newest. */
  private append(bucketId: number, key: Buffer, version: StoredVersion): void {
    const seq = (this.newestRow.get(bucketId, key)?.seq ?? 0) + 1;
    const { manifest, marker } = version;
    if (manifest) {
      const manifestId = Number(this.insertManifest.run(JSON.stringify(manifest)).lastInsertRowid);
      this.insertVersion.run(
        bucketId,
        key,
        seq,
        versionIdOf(manifest),
        manifest.size,
        manifest.etag,
        manifest.lastModified,
        manifestId,
      );
      this.upsertListing.run(bucketId, key, manifest.size, manifest.etag, manifest.lastModified, manifestId);
    } else {
      this.insertVersion.run(bucketId, key, seq, marker.versionId, 0, '', marker.lastModified, null);
      this.deleteListing.run(bucketId, key);
    }
  }

  /**
   * Removes a version for good, releasing its chunks; the caller syncs the listing. Throws
   * AccessDenied when it is locked (`bypassGovernance` null: no check, a rebuild's own records).
   */
  private remove(
    bucketId: number,
    key: Buffer,
    versionId: string,
    bypassGovernance: boolean | null,
  ): { manifest: ObjectManifest | null; marker: boolean } | null {
    const row = this.versionRow.get(bucketId, key, versionId);
    if (!row) return null;
    if (row.manifestId === null) {
      this.deleteVersion.run(bucketId, key, row.seq);
      return { manifest: null, marker: true };
    }
    const stored = JSON.parse(this.manifestBody.get(row.manifestId)!.body) as ObjectManifest;
    if (bypassGovernance !== null && isLocked(stored.lock, bypassGovernance, Date.now())) {
      throw new MetaError('AccessDenied', 'Access Denied because object protected by object lock.');
    }
    this.deleteVersion.run(bucketId, key, row.seq);
    const manifest = JSON.parse(this.deleteManifest.get(row.manifestId)!.body) as ObjectManifest;
    this.refs.release(manifest.chunks);
    return { manifest, marker: false };
  }

  /** Points the listing index at the key's newest version, or drops the key when that is none or a marker. */
  private syncListing(bucketId: number, key: Buffer): void {
    const newest = this.newestRow.get(bucketId, key);
    if (newest?.manifestId != null) {
      this.upsertListing.run(bucketId, key, newest.size, newest.etag, newest.lastModified, newest.manifestId);
    } else {
      this.deleteListing.run(bucketId, key);
    }
  }
}
