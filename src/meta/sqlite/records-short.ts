import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';

/**
 * Metadata records stored with fewer copies than wanted (see store/meta-replica.ts), by record
 * id, oldest first: kept here so that a gateway restarted before the backends return still
 * writes the missed copies. Its own table, made here if absent: nothing else reads it, and no
 * migration of the shared schema is needed for it.
 */
export class RecordsShort {
  private readonly insert: Statement<[string, number]>;
  private readonly take_: Statement<[number], { id: string }>;
  private readonly count_: Statement<[], { n: number }>;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS records_short (
      seq INTEGER PRIMARY KEY,
      record_id TEXT NOT NULL UNIQUE,
      since INTEGER NOT NULL
    )`);
    this.insert = prepare(db, 'INSERT INTO records_short (record_id, since) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.take_ = prepare(
      db,
      `DELETE FROM records_short WHERE seq IN (SELECT seq FROM records_short ORDER BY seq LIMIT ?)
       RETURNING seq, record_id AS id`,
    );
    this.count_ = prepare(db, 'SELECT count(*) AS n FROM records_short');
  }

  add(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) this.insert.run(id, now);
  }

  take(limit: number): string[] {
    return (this.take_.all(limit) as Array<{ seq: number; id: string }>).sort((a, b) => a.seq - b.seq).map((r) => r.id);
  }

  count(): number {
    return this.count_.get()!.n;
  }
}
