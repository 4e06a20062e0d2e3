import type Database from 'better-sqlite3';
import type { ChunkRef } from '../manifest.js';
import { MetaError } from '../errors.js';
import { partInfo, planCompletion } from '../multipart-completion.js';
import { walk, type Scan, type Walk } from '../listing.js';
import type {
  CompletedPart,
  CompletedUpload,
  FinalManifestFields,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ObjectHeaders,
  PartInfo,
  PartUpload,
  UploadInfo,
} from '../meta-store.js';
import type { ChunkRefs } from './chunk-refs.js';
import type { Objects } from './objects.js';
import type { PendingWrites } from './pending-writes.js';
import { bucketScan, prepare, type Statement } from './statements.js';

interface UploadRow {
  bucketId: number;
  bucket: string;
  key: Buffer;
  initiated: number;
  headers: string;
}

interface UploadEntry {
  key: Buffer;
  uploadId: string;
  initiated: number;
  ownerId: string | null;
  ownerName: string | null;
}

interface PartRow {
  partNumber: number;
  etag: string;
  size: number;
  chunks: string;
  checksum: string | null;
}

/**
 * Multipart uploads. Parts hold chunk references like objects do; completing an upload moves
 * the chosen parts' chunks into the object's manifest, in order, without touching any data.
 */
export class Multipart {
  private readonly insertUpload: Statement<[string, number, Buffer, number, string]>;
  private readonly upload: Statement<[string], UploadRow>;
  private readonly deleteUpload: Statement<[string]>;
  private readonly uploadsOfBucket: Statement<[number], { uploadId: string }>;
  private readonly sameKeyAfter: Statement<[number, Buffer, string, number], UploadEntry>;
  private readonly scan: (bucketId: number) => Scan<UploadEntry>;
  private readonly deletePart: Statement<[string, number], { chunks: string }>;
  private readonly insertPart: Statement<[string, number, string, number, number, string, string | null]>;
  private readonly partsPage: Statement<[string, number, number], PartInfo & { checksum: string | null }>;
  private readonly allParts: Statement<[string], PartRow>;
  private readonly deleteParts: Statement<[string]>;

  constructor(
    db: Database.Database,
    private readonly refs: ChunkRefs,
    private readonly writes: PendingWrites,
    private readonly objects: Objects,
  ) {
    this.insertUpload = prepare(
      db,
      'INSERT INTO uploads (upload_id, bucket_id, key, initiated, headers) VALUES (?, ?, ?, ?, ?)',
    );
    this.upload = prepare(
      db,
      `SELECT u.bucket_id AS bucketId, b.name AS bucket, u.key, u.initiated, u.headers
       FROM uploads u JOIN buckets b ON b.id = u.bucket_id WHERE u.upload_id = ?`,
    );
    this.deleteUpload = prepare(db, 'DELETE FROM uploads WHERE upload_id = ?');
    this.uploadsOfBucket = prepare(db, 'SELECT upload_id AS uploadId FROM uploads WHERE bucket_id = ?');
    const select = `SELECT key, upload_id AS uploadId, initiated, json_extract(headers, '$.acl.owner.id') AS ownerId,
      json_extract(headers, '$.acl.owner.displayName') AS ownerName FROM uploads`;
    this.sameKeyAfter = prepare(
      db,
      `${select} WHERE bucket_id = ? AND key = ? AND upload_id > ? ORDER BY upload_id LIMIT ?`,
    );
    this.scan = bucketScan(db, select, 'key, upload_id');
    this.deletePart = prepare(db, 'DELETE FROM parts WHERE upload_id = ? AND part_number = ? RETURNING chunks');
    this.insertPart = prepare(
      db,
      'INSERT INTO parts (upload_id, part_number, etag, size, last_modified, chunks, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.partsPage = prepare(
      db,
      `SELECT part_number AS partNumber, etag, size, last_modified AS lastModified, checksum FROM parts
       WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`,
    );
    this.allParts = prepare(
      db,
      'SELECT part_number AS partNumber, etag, size, chunks, checksum FROM parts WHERE upload_id = ? ORDER BY part_number',
    );
    this.deleteParts = prepare(db, 'DELETE FROM parts WHERE upload_id = ?');
  }

  create(bucketId: number, key: Buffer, uploadId: string, headers: ObjectHeaders): void {
    this.insertUpload.run(uploadId, bucketId, key, Date.now(), JSON.stringify(headers));
  }

  get(uploadId: string): UploadInfo | null {
    const row = this.upload.get(uploadId);
    return row
      ? {
          uploadId,
          bucket: row.bucket,
          key: row.key.toString(),
          initiated: row.initiated,
          headers: JSON.parse(row.headers) as ObjectHeaders,
        }
      : null;
  }

  putPart(uploadId: string, partNumber: number, part: PartUpload, writeId?: string): void {
    this.require(uploadId);
    const replaced = this.deletePart.get(uploadId, partNumber);
    this.refs.retain(part.chunks);
    this.insertPart.run(
      uploadId,
      partNumber,
      part.etag,
      part.size,
      Date.now(),
      JSON.stringify(part.chunks),
      part.checksum ?? null,
    );
    if (writeId !== undefined) this.writes.commit(writeId, part.chunks);
    if (replaced) this.refs.release(JSON.parse(replaced.chunks) as ChunkRef[]);
  }

  listParts(uploadId: string, partNumberMarker: number, maxParts: number): ListPartsResult {
    this.require(uploadId);
    const parts = (maxParts > 0 ? this.partsPage.all(uploadId, partNumberMarker, maxParts + 1) : []).map(partInfo);
    const isTruncated = parts.length > maxParts;
    if (isTruncated) parts.length = maxParts;
    return { parts, isTruncated, nextPartNumberMarker: isTruncated ? parts[parts.length - 1].partNumber : null };
  }

  list(bucketId: number, options: ListUploadsOptions): ListUploadsResult {
    const max = options.maxUploads ?? 1000;
    const prefix = Buffer.from(options.prefix ?? '');
    const delimiter = options.delimiter ? Buffer.from(options.delimiter) : null;
    const keyMarker = options.keyMarker ? Buffer.from(options.keyMarker) : null;
    if (max <= 0)
      return { uploads: [], commonPrefixes: [], isTruncated: false, nextKeyMarker: null, nextUploadIdMarker: null };
    // Uploads of the marker key itself come first, unless the key is outside the prefix or
    // rolled up into a common prefix (which an earlier page returned).
    const markerListed =
      keyMarker !== null &&
      keyMarker.subarray(0, prefix.length).equals(prefix) &&
      !(delimiter && keyMarker.indexOf(delimiter, prefix.length) >= 0);
    const head =
      markerListed && options.uploadIdMarker
        ? this.sameKeyAfter.all(bucketId, keyMarker, options.uploadIdMarker, max + 1)
        : [];
    let page: Walk<UploadEntry>;
    if (head.length > max) {
      page = { rows: head.slice(0, max), prefixes: [], truncated: true, last: null };
    } else {
      page = walk(this.scan(bucketId), { prefix, delimiter, after: keyMarker, max: max - head.length });
      page.rows.unshift(...head);
    }
    const lastRow = page.rows.at(-1);
    const last = page.last ?? (lastRow ? { key: lastRow.key, row: lastRow } : null);
    return {
      uploads: page.rows.map(({ key, uploadId, initiated, ownerId, ownerName }) => ({
        key: key.toString(),
        uploadId,
        initiated,
        ...(ownerId != null ? { owner: { id: ownerId, displayName: ownerName ?? '' } } : {}),
      })),
      commonPrefixes: page.prefixes.map((common) => common.toString()),
      isTruncated: page.truncated,
      nextKeyMarker: page.truncated && last ? last.key.toString() : null,
      nextUploadIdMarker: page.truncated && last?.row ? last.row.uploadId : null,
    };
  }

  complete(uploadId: string, parts: CompletedPart[], fields: FinalManifestFields): CompletedUpload {
    const upload = this.require(uploadId);
    const { manifest, chunksOf } = planCompletion(uploadId, parts, this.allParts.all(uploadId), upload.headers, fields);
    if (fields.condition) this.objects.check(upload.bucketId, upload.key, fields.condition);
    // The object retains the chosen chunks before the parts release theirs, so only the chunks
    // of parts left out reach zero.
    const change = this.objects.put(upload.bucketId, upload.key, manifest);
    this.drop(uploadId, chunksOf.values());
    return { bucket: upload.bucket, key: upload.key.toString(), ...change };
  }

  abort(uploadId: string): void {
    this.require(uploadId);
    this.drop(
      uploadId,
      this.allParts.all(uploadId).map((row) => JSON.parse(row.chunks) as ChunkRef[]),
    );
  }

  /** Aborts every upload into the bucket (the bucket is going). */
  abortAll(bucketId: number): void {
    for (const { uploadId } of this.uploadsOfBucket.all(bucketId)) this.abort(uploadId);
  }

  private require(uploadId: string): UploadRow {
    const row = this.upload.get(uploadId);
    if (!row) throw new MetaError('NoSuchUpload', `upload ${uploadId} does not exist`);
    return row;
  }

  private drop(uploadId: string, chunkLists: Iterable<ChunkRef[]>): void {
    for (const chunks of chunkLists) this.refs.release(chunks);
    this.deleteParts.run(uploadId);
    this.deleteUpload.run(uploadId);
  }
}
