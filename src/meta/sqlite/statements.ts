import type Database from 'better-sqlite3';
import type { Scan } from '../listing.js';

export type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Prepares `sql` with the parameter and row types of the field it is assigned to. */
export function prepare<P extends unknown[], R = unknown>(db: Database.Database, sql: string): Statement<P, R> {
  return db.prepare(sql) as Statement<P, R>;
}

/**
 * A listing scan over one bucket's rows of a table keyed by (bucket_id, key, ...): `select` is
 * the SELECT ... FROM part, `order` the index order. Both statements are prepared here, once.
 */
export function bucketScan<R extends { key: Buffer }>(
  db: Database.Database,
  select: string,
  order: string,
): (bucketId: number) => Scan<R> {
  const range = prepare<[number, Buffer, Buffer], R>(
    db,
    `${select} WHERE bucket_id = ? AND key >= ? AND key < ? ORDER BY ${order}`,
  );
  const open = prepare<[number, Buffer], R>(db, `${select} WHERE bucket_id = ? AND key >= ? ORDER BY ${order}`);
  return (bucketId) => (from, upper) => (upper ? range.iterate(bucketId, from, upper) : open.iterate(bucketId, from));
}
