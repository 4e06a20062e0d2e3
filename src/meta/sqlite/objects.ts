import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ObjectManifest } from '../manifest.js';
import { MetaError } from '../errors.js';
import { checkPutCondition, type ListObjectsResult, type ObjectChange, type ObjectHeaders, type PutCondition } from '../meta-store.js';
import { walk, type Scan, type WalkOptions } from '../listing.js';
import type { ChunkRefs } from './chunk-refs.js';
import type { PendingWrites } from './pending-writes.js';
import { bucketScan, prepare, type Statement } from './statements.js';

interface ListRow {
  key: Buffer;
  size: number;
  etag: string;
  lastModified: number;
}

/**
 * Objects by (bucket id, key bytes). The objects table is the listing index (key, size, etag,
 * mtime); the manifest itself is a row of `manifests`, read only by point lookups.
 */
export class Objects {
  private readonly insertManifest: Statement<[string]>;
  private readonly deleteManifest: Statement<[number], { body: string }>;
  private readonly upsert: Statement<[number, Buffer, number, string, number, number]>;
  private readonly lookup: Statement<[number, Buffer], { body: string }>;
  private readonly manifestIdOf: Statement<[number, Buffer], { manifestId: number }>;
  private readonly etagOf: Statement<[number, Buffer], { etag: string }>;
  private readonly deleteRow: Statement<[number, Buffer], { manifestId: number }>;
  private readonly anyInBucket: Statement<[number]>;
  private readonly scan: (bucketId: number) => Scan<ListRow>;

  constructor(
    db: Database.Database,
    private readonly refs: ChunkRefs,
    private readonly writes: PendingWrites,
  ) {
    this.insertManifest = prepare(db, 'INSERT INTO manifests (body) VALUES (?)');
    this.deleteManifest = prepare(db, 'DELETE FROM manifests WHERE id = ? RETURNING body');
    this.upsert = prepare(
      db,
      `INSERT INTO objects (bucket_id, key, size, etag, last_modified, manifest_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
         last_modified = excluded.last_modified, manifest_id = excluded.manifest_id`,
    );
    this.lookup = prepare(
      db,
      `SELECT m.body FROM objects o JOIN manifests m ON m.id = o.manifest_id WHERE o.bucket_id = ? AND o.key = ?`,
    );
    this.manifestIdOf = prepare(db, 'SELECT manifest_id AS manifestId FROM objects WHERE bucket_id = ? AND key = ?');
    this.etagOf = prepare(db, 'SELECT etag FROM objects WHERE bucket_id = ? AND key = ?');
    this.deleteRow = prepare(db, 'DELETE FROM objects WHERE bucket_id = ? AND key = ? RETURNING manifest_id AS manifestId');
    this.anyInBucket = prepare(db, 'SELECT 1 FROM objects WHERE bucket_id = ? LIMIT 1');
    this.scan = bucketScan(db, 'SELECT key, size, etag, last_modified AS lastModified FROM objects', 'key');
  }

  /** Throws unless `condition` holds for what the key holds now (inside the put's transaction). */
  check(bucketId: number, key: Buffer, condition: PutCondition): void {
    checkPutCondition(condition, this.etagOf.get(bucketId, key)?.etag);
  }

  /** Stores `manifest` under the key and returns the one it replaced. */
  put(bucketId: number, key: Buffer, manifest: ObjectManifest, writeId?: string): ObjectManifest | null {
    const previous = this.manifestIdOf.get(bucketId, key);
    this.refs.retain(manifest.chunks);
    const manifestId = Number(this.insertManifest.run(JSON.stringify(manifest)).lastInsertRowid);
    this.upsert.run(bucketId, key, manifest.size, manifest.etag, manifest.lastModified, manifestId);
    if (writeId !== undefined) this.writes.commit(writeId, manifest.chunks);
    return previous ? this.dropManifest(previous.manifestId) : null;
  }

  get(bucketId: number, key: Buffer): ObjectManifest | null {
    const row = this.lookup.get(bucketId, key);
    return row ? (JSON.parse(row.body) as ObjectManifest) : null;
  }

  delete(bucketId: number, key: Buffer): ObjectManifest | null {
    const row = this.deleteRow.get(bucketId, key);
    return row ? this.dropManifest(row.manifestId) : null;
  }

  /** A copy with a fresh id and mtime that shares the source's chunks. */
  /** Null when `sourceId` is given and the source is not that version (any more). */
  copy(srcBucketId: number, srcKey: Buffer, dstBucketId: number, dstKey: Buffer, replace?: ObjectHeaders, sourceId?: string): ObjectChange | null {
    const source = this.get(srcBucketId, srcKey);
    if (sourceId !== undefined && source?.id !== sourceId) return null;
    if (!source) throw new MetaError('NoSuchKey', `key ${srcKey.toString()} does not exist`);
    const manifest: ObjectManifest = { ...source, id: randomBytes(16).toString('hex'), lastModified: Date.now() };
    if (replace) {
      manifest.contentType = replace.contentType;
      manifest.metadata = replace.metadata;
      // A copy's ACL and tags are the request's (AWS), given with its headers.
      manifest.acl = replace.acl;
      manifest.tags = replace.tags;
    }
    return { manifest, previous: this.put(dstBucketId, dstKey, manifest) };
  }

  isEmpty(bucketId: number): boolean {
    return this.anyInBucket.get(bucketId) === undefined;
  }

  list(bucketId: number, options: Omit<WalkOptions, 'max'>, maxKeys: number): ListObjectsResult {
    if (maxKeys <= 0) return { entries: [], commonPrefixes: [], isTruncated: false, nextMarker: null };
    const page = walk(this.scan(bucketId), { ...options, max: maxKeys });
    return {
      entries: page.rows.map(({ key, size, etag, lastModified }) => ({ key: key.toString(), size, etag, lastModified })),
      commonPrefixes: page.prefixes.map((prefix) => prefix.toString()),
      isTruncated: page.truncated,
      nextMarker: page.truncated && page.last ? page.last.key.toString() : null,
    };
  }

  private dropManifest(manifestId: number): ObjectManifest {
    const manifest = JSON.parse(this.deleteManifest.get(manifestId)!.body) as ObjectManifest;
    this.refs.release(manifest.chunks);
    return manifest;
  }
}
