import { keyAfter, prefixEnd, walk, type Scan, type Walk, type WalkOptions } from '../listing.js';
import type { Sql } from './connection.js';

/**
 * S3 listing in PostgreSQL: the rows a listing page can reach are fetched in ONE query, then the
 * engine-neutral `walk` (src/meta/listing.ts) makes the page out of them. Without a delimiter
 * that query is an index range scan. With one, it is a recursive index skip scan: each step
 * seeks the next key past the previous row, or past the whole common prefix that row falls in,
 * so a prefix of a million keys costs one index probe, and the page costs one round trip.
 *
 * Keys are UTF-8 and UTF-8 never contains the byte 0xFF: every key that starts with a common
 * prefix C sorts below C || 0xFF, and every key after them above it. That bound is what the
 * skip seeks past; it also stands for "no upper bound" (no key starts with 0xFF).
 */

export interface TableScan {
  /** The columns (the first named `key`) and table: `SELECT key, ... FROM t`. */
  select: string;
  /** The index order within a bucket, starting with key. */
  order: string;
  /** Several rows per key (versions, uploads): each key's rows all come, its first row is its head. */
  manyPerKey: boolean;
}

const FF = Buffer.from([0xff]);

/** One listing page over `table` in bucket `bucketId`: the rows `walk` needs, fetched at once. */
export async function walkTable<R extends { key: Buffer }>(
  sql: Sql,
  table: TableScan,
  bucketId: number,
  options: WalkOptions,
): Promise<Walk<R>> {
  const { prefix, after, max } = options;
  const delimiter = options.delimiter?.length ? options.delimiter : null;
  const from = after && Buffer.compare(after, prefix) >= 0 ? keyAfter(after) : prefix;
  const upper = prefixEnd(prefix) ?? FF;
  // A full page plus one entry (is it truncated?) plus one common prefix at or below `after`,
  // which the walk passes over without counting.
  const limit = max + 2;
  const rows = delimiter
    ? await skipScan<R>(sql, table, bucketId, { from, upper, delimiter, prefixLength: prefix.length, limit })
    : await sql.rows<R>(
        `${table.select} WHERE bucket_id = $1 AND key >= $2 AND key < $3 ORDER BY ${table.order} LIMIT $4`,
        [bucketId, from, upper, limit],
      );
  return walk(arrayScan(rows), { ...options, delimiter });
}

interface SkipOptions {
  from: Buffer;
  upper: Buffer;
  delimiter: Buffer;
  prefixLength: number;
  limit: number;
}

/** The head row of each key or common prefix from `from` on, then (manyPerKey) each key's other rows. */
async function skipScan<R extends { key: Buffer }>(
  sql: Sql,
  table: TableScan,
  bucketId: number,
  { from, upper, delimiter, prefixLength, limit }: SkipOptions,
): Promise<R[]> {
  // $4 delimiter, $5 prefix length: a row whose key holds the delimiter past the prefix stands
  // for its common prefix, and the next step seeks past that prefix.
  const cut = 'position($4::bytea IN substring(h.key FROM $5::int + 1))';
  const heads = await sql.rows<R>(
    `WITH RECURSIVE heads AS (
       (${table.select} WHERE bucket_id = $1 AND key >= $2 AND key < $3 ORDER BY ${table.order} LIMIT 1)
       UNION ALL
       SELECT n.* FROM heads h CROSS JOIN LATERAL (
         ${table.select} WHERE bucket_id = $1 AND key < $3 AND key > CASE
           WHEN ${cut} > 0 THEN substring(h.key FROM 1 FOR $5::int + ${cut} - 1 + length($4::bytea)) || '\\xff'::bytea
           ELSE h.key END
         ORDER BY ${table.order} LIMIT 1) n
     )
     SELECT * FROM heads LIMIT $6`,
    [bucketId, from, upper, delimiter, prefixLength, limit],
  );
  if (!table.manyPerKey) return heads;
  const rolledUp = (key: Buffer): boolean => key.indexOf(delimiter, prefixLength) >= 0;
  const keys = heads.filter((head) => !rolledUp(head.key)).map((head) => head.key);
  const more =
    keys.length === 0
      ? []
      : await sql.rows<R>(
          `${table.select} WHERE bucket_id = $1 AND key = ANY($2::bytea[]) ORDER BY ${table.order} LIMIT $3`,
          [bucketId, keys, limit],
        );
  // In key order: a common prefix's head, or every row of a key.
  const merged: R[] = [];
  let i = 0;
  for (const head of heads) {
    if (merged.length >= limit) break;
    if (rolledUp(head.key)) {
      merged.push(head);
      continue;
    }
    while (i < more.length && Buffer.compare(more[i]!.key, head.key) < 0) i++;
    while (i < more.length && more[i]!.key.equals(head.key)) merged.push(more[i++]!);
  }
  return merged;
}

/**
 * The rows fetched, as the scan `walk` expects: those from `from` on, below `upper`. The walk
 * only ever seeks forward, so each scan starts where the previous one's seek landed.
 */
function arrayScan<R extends { key: Buffer }>(rows: R[]): Scan<R> {
  let start = 0;
  return function* (from, upper) {
    while (start < rows.length && Buffer.compare(rows[start]!.key, from) < 0) start++;
    for (let i = start; i < rows.length; i++) {
      if (upper && Buffer.compare(rows[i]!.key, upper) >= 0) return;
      yield rows[i]!;
    }
  };
}
