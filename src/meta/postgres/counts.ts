import type { BucketUsage } from '../meta-store.js';
import type { Sql } from './connection.js';

/**
 * Counts for operators: queue depths and what a bucket holds, as the sqlite engine's
 * (src/meta/sqlite/counts.ts). A bucket's usage scans its rows: fine for a console refresh, not
 * for every request. bigint sums come back as strings from pg: turned into numbers here.
 */
export class Counts {
  async repairQueue(sql: Sql): Promise<number> {
    return Number((await sql.row<{ n: string }>('SELECT count(*) AS n FROM repair_queue'))!.n);
  }

  async deleteQueue(sql: Sql): Promise<number> {
    return Number((await sql.row<{ n: string }>('SELECT count(*) AS n FROM delete_queue'))!.n);
  }

  async usage(sql: Sql, bucketId: number): Promise<BucketUsage> {
    const current = (await sql.row<{ n: string; bytes: string }>(
      'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM objects WHERE bucket_id = $1',
      [bucketId],
    ))!;
    // Delete markers have no manifest.
    const stored = (await sql.row<{ n: string; bytes: string }>(
      'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM versions WHERE bucket_id = $1 AND manifest_id IS NOT NULL',
      [bucketId],
    ))!;
    return {
      objects: Number(current.n),
      bytes: Number(current.bytes),
      versions: Number(stored.n),
      versionBytes: Number(stored.bytes),
    };
  }
}
