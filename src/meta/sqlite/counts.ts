import type Database from 'better-sqlite3';
import type { BucketUsage } from '../meta-store.js';
import { prepare, type Statement } from './statements.js';

/**
 * Counts for operators: queue depths and what a bucket holds. Each is one aggregate over an
 * index (a bucket's usage scans its rows: fine for a console refresh, not for every request).
 */
export class Counts {
  private readonly repairs: Statement<[], { n: number }>;
  private readonly deletes: Statement<[], { n: number }>;
  private readonly current: Statement<[number], { n: number; bytes: number }>;
  private readonly stored: Statement<[number], { n: number; bytes: number }>;

  constructor(db: Database.Database) {
    this.repairs = prepare(db, 'SELECT count(*) AS n FROM repair_queue');
    this.deletes = prepare(db, 'SELECT count(*) AS n FROM delete_queue');
    this.current = prepare(
      db,
      'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM objects WHERE bucket_id = ?',
    );
    // Delete markers have no manifest.
    this.stored = prepare(
      db,
      'SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM versions WHERE bucket_id = ? AND manifest_id IS NOT NULL',
    );
  }

  repairQueue(): number {
    return this.repairs.get()!.n;
  }

  deleteQueue(): number {
    return this.deletes.get()!.n;
  }

  usage(bucketId: number): BucketUsage {
    const current = this.current.get(bucketId)!;
    const stored = this.stored.get(bucketId)!;
    return { objects: current.n, bytes: current.bytes, versions: stored.n, versionBytes: stored.bytes };
  }
}
