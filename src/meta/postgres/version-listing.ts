import type { ListVersionsResult, VersionEntry } from '../meta-store.js';
import type { Sql } from './connection.js';
import type { Objects, VersionRow } from './objects.js';
import { walkTable, type TableScan } from './scan.js';

type ListRow = VersionRow & { key: Buffer };

export interface VersionListingOptions {
  prefix: Buffer;
  delimiter: Buffer | null;
  keyMarker: Buffer | null;
  versionIdMarker: string | null;
  max: number;
}

const COLUMNS =
  'key, seq, version_id AS "versionId", size, etag, last_modified AS "lastModified", manifest_id AS "manifestId"';
const VERSIONS: TableScan = { select: `SELECT ${COLUMNS} FROM versions`, order: 'key, seq DESC', manyPerKey: true };

/**
 * ListObjectVersions over the versions table, in its index order: key bytes, then newest first.
 * A page may end inside a key's history: the next resumes after that version (key marker and
 * version id marker), then walks on from the next key as a key listing does.
 */
export class VersionListing {
  constructor(private readonly objects: Objects) {}

  async list(
    sql: Sql,
    bucketId: number,
    { prefix, delimiter, keyMarker, versionIdMarker, max }: VersionListingOptions,
  ): Promise<ListVersionsResult> {
    const versions: VersionEntry[] = [];
    const result: ListVersionsResult = {
      versions,
      commonPrefixes: [],
      isTruncated: false,
      nextKeyMarker: null,
      nextVersionIdMarker: null,
    };
    if (max <= 0) return result;
    // Where the page ends: a version, or a common prefix (versionId null).
    let end: { key: Buffer; versionId: string | null } | null = null;
    // The rest of the key-marker's history first, unless a common prefix covers that key. A
    // marker version removed since the last page (a clean-up deleting what it lists) leaves no
    // place in that history: all of what is left of it comes then, rather than none.
    const marker =
      keyMarker && versionIdMarker !== null
        ? ((await this.objects.versionOf(sql, bucketId, keyMarker, versionIdMarker)) ?? {
            seq: Number.MAX_SAFE_INTEGER,
          })
        : null;
    if (
      keyMarker &&
      marker &&
      keyMarker.subarray(0, prefix.length).equals(prefix) &&
      !(delimiter?.length && keyMarker.indexOf(delimiter, prefix.length) >= 0)
    ) {
      const older = await sql.rows<ListRow>(
        `SELECT ${COLUMNS} FROM versions WHERE bucket_id = $1 AND key = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
        [bucketId, keyMarker, marker.seq, max + 1],
      );
      for (const row of older) {
        if (versions.length >= max) {
          result.isTruncated = true;
          break;
        }
        versions.push(entry(row, false));
        end = { key: row.key, versionId: row.versionId };
      }
    }
    if (!result.isTruncated) {
      const page = await walkTable<ListRow>(sql, VERSIONS, bucketId, {
        prefix,
        delimiter,
        after: keyMarker,
        max: max - versions.length,
      });
      // The walk starts at a key boundary, so the first row of each key is its newest.
      page.rows.forEach((row, i) => versions.push(entry(row, i === 0 || !page.rows[i - 1]!.key.equals(row.key))));
      result.commonPrefixes = page.prefixes.map((common) => common.toString());
      result.isTruncated = page.truncated;
      if (page.last) end = { key: page.last.key, versionId: page.last.row?.versionId ?? null };
    }
    if (result.isTruncated && end) {
      result.nextKeyMarker = end.key.toString();
      result.nextVersionIdMarker = end.versionId;
    }
    return result;
  }
}

function entry(row: ListRow, isLatest: boolean): VersionEntry {
  return {
    key: row.key.toString(),
    versionId: row.versionId,
    isLatest,
    lastModified: row.lastModified,
    object: row.manifestId === null ? null : { size: row.size, etag: row.etag },
  };
}
