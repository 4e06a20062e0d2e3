import type { ChunkRef } from '../manifest.js';
import { MetaError } from '../errors.js';
import { partInfo, planCompletion } from '../multipart-completion.js';
import type { Walk } from '../listing.js';
import type {
  BucketSettings,
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
import type { Sql } from './connection.js';
import type { ChunkRefs } from './chunk-refs.js';
import type { Objects } from './objects.js';
import type { PendingWrites } from './pending-writes.js';
import { walkTable, type TableScan } from './scan.js';

interface UploadRow {
  bucketId: number;
  bucket: string;
  settings: string;
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

const UPLOAD = `SELECT u.bucket_id AS "bucketId", b.name AS bucket, b.settings, u.key, u.initiated, u.headers
  FROM uploads u JOIN buckets b ON b.id = u.bucket_id WHERE u.upload_id = $1`;
const ENTRY = `SELECT key, upload_id AS "uploadId", initiated, headers::jsonb #>> '{acl,owner,id}' AS "ownerId",
  headers::jsonb #>> '{acl,owner,displayName}' AS "ownerName" FROM uploads`;
const UPLOADS: TableScan = { select: ENTRY, order: 'key, upload_id', manyPerKey: true };
const ALL_PARTS =
  'SELECT part_number AS "partNumber", etag, size, chunks, checksum FROM parts WHERE upload_id = $1 ORDER BY part_number';

/**
 * Multipart uploads. Parts hold chunk references like objects do; completing an upload moves
 * the chosen parts' chunks into the object's manifest, in order, without touching any data.
 * Completing reads the upload row FOR UPDATE: of two completions (or a completion and an abort)
 * racing on different gateways, the second waits, then finds the upload gone (NoSuchUpload).
 */
export class Multipart {
  constructor(
    private readonly refs: ChunkRefs,
    private readonly writes: PendingWrites,
    private readonly objects: Objects,
  ) {}

  async create(sql: Sql, bucketId: number, key: Buffer, uploadId: string, headers: ObjectHeaders): Promise<void> {
    await sql.run('INSERT INTO uploads (upload_id, bucket_id, key, initiated, headers) VALUES ($1, $2, $3, $4, $5)', [
      uploadId,
      bucketId,
      key,
      Date.now(),
      JSON.stringify(headers),
    ]);
  }

  async get(sql: Sql, uploadId: string): Promise<UploadInfo | null> {
    const row = await sql.row<UploadRow>(UPLOAD, [uploadId]);
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

  async putPart(sql: Sql, uploadId: string, partNumber: number, part: PartUpload, writeId?: string): Promise<void> {
    // FOR SHARE: a completion or abort of this upload (FOR UPDATE) waits for this part, or this part for it.
    await this.require(sql, uploadId, 'FOR SHARE OF u');
    const replaced = await sql.row<{ chunks: string }>(
      'DELETE FROM parts WHERE upload_id = $1 AND part_number = $2 RETURNING chunks',
      [uploadId, partNumber],
    );
    await this.refs.retain(sql, part.chunks);
    await sql.run(
      `INSERT INTO parts (upload_id, part_number, etag, size, last_modified, chunks, checksum)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [uploadId, partNumber, part.etag, part.size, Date.now(), JSON.stringify(part.chunks), part.checksum ?? null],
    );
    if (writeId !== undefined) await this.writes.commit(sql, writeId, part.chunks);
    if (replaced) await this.refs.release(sql, JSON.parse(replaced.chunks) as ChunkRef[]);
  }

  async listParts(sql: Sql, uploadId: string, partNumberMarker: number, maxParts: number): Promise<ListPartsResult> {
    await this.require(sql, uploadId);
    const parts =
      maxParts > 0
        ? (
            await sql.rows<PartInfo & { checksum: string | null }>(
              `SELECT part_number AS "partNumber", etag, size, last_modified AS "lastModified", checksum FROM parts
               WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`,
              [uploadId, partNumberMarker, maxParts + 1],
            )
          ).map(partInfo)
        : [];
    const isTruncated = parts.length > maxParts;
    if (isTruncated) parts.length = maxParts;
    return { parts, isTruncated, nextPartNumberMarker: isTruncated ? parts[parts.length - 1]!.partNumber : null };
  }

  async list(sql: Sql, bucketId: number, options: ListUploadsOptions): Promise<ListUploadsResult> {
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
        ? await sql.rows<UploadEntry>(
            `${ENTRY} WHERE bucket_id = $1 AND key = $2 AND upload_id > $3 ORDER BY upload_id LIMIT $4`,
            [bucketId, keyMarker, options.uploadIdMarker, max + 1],
          )
        : [];
    let page: Walk<UploadEntry>;
    if (head.length > max) {
      page = { rows: head.slice(0, max), prefixes: [], truncated: true, last: null };
    } else {
      page = await walkTable<UploadEntry>(sql, UPLOADS, bucketId, {
        prefix,
        delimiter,
        after: keyMarker,
        max: max - head.length,
      });
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

  async complete(
    sql: Sql,
    uploadId: string,
    parts: CompletedPart[],
    fields: FinalManifestFields,
  ): Promise<CompletedUpload> {
    const upload = await this.require(sql, uploadId, 'FOR UPDATE OF u');
    const { manifest, chunksOf } = planCompletion(
      uploadId,
      parts,
      await sql.rows<PartRow>(ALL_PARTS, [uploadId]),
      upload.headers,
      fields,
    );
    if (fields.condition) await this.objects.check(sql, upload.bucketId, upload.key, fields.condition);
    // The object retains the chosen chunks before the parts release theirs, so only the chunks
    // of parts left out reach zero.
    const bucket = { id: upload.bucketId, settings: JSON.parse(upload.settings) as BucketSettings };
    const change = await this.objects.put(sql, bucket, upload.key, manifest);
    await this.drop(sql, uploadId, chunksOf.values());
    return { bucket: upload.bucket, key: upload.key.toString(), ...change };
  }

  async abort(sql: Sql, uploadId: string): Promise<void> {
    await this.require(sql, uploadId, 'FOR UPDATE OF u');
    const rows = await sql.rows<PartRow>(ALL_PARTS, [uploadId]);
    await this.drop(
      sql,
      uploadId,
      rows.map((row) => JSON.parse(row.chunks) as ChunkRef[]),
    );
  }

  /** Aborts every upload into the bucket (the bucket is going). */
  async abortAll(sql: Sql, bucketId: number): Promise<void> {
    const uploads = await sql.rows<{ uploadId: string }>(
      'SELECT upload_id AS "uploadId" FROM uploads WHERE bucket_id = $1',
      [bucketId],
    );
    for (const { uploadId } of uploads) await this.abort(sql, uploadId);
  }

  private async require(sql: Sql, uploadId: string, lock = ''): Promise<UploadRow> {
    const row = await sql.row<UploadRow>(`${UPLOAD} ${lock}`, [uploadId]);
    if (!row) throw new MetaError('NoSuchUpload', `upload ${uploadId} does not exist`);
    return row;
  }

  private async drop(sql: Sql, uploadId: string, chunkLists: Iterable<ChunkRef[]>): Promise<void> {
    await this.refs.release(sql, [...chunkLists].flat());
    await sql.run('WITH p AS (DELETE FROM parts WHERE upload_id = $1) DELETE FROM uploads WHERE upload_id = $1', [
      uploadId,
    ]);
  }
}
