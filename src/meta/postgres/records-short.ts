import type { Sql } from './connection.js';

/**
 * Metadata records stored with fewer copies than wanted (see store/meta-replica.ts), by record
 * id, oldest first, as the sqlite engine's (src/meta/sqlite/records-short.ts). Taking skips rows
 * another gateway is taking at the same moment, so no record is handed to two.
 */
export class RecordsShort {
  async add(sql: Sql, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await sql.run(
      `INSERT INTO records_short (record_id, since) SELECT id, $2 FROM unnest($1::bytea[]) WITH ORDINALITY AS t(id, n)
       ORDER BY n ON CONFLICT (record_id) DO NOTHING`,
      [ids.map((id) => Buffer.from(id)), Date.now()],
    );
  }

  async take(sql: Sql, limit: number): Promise<string[]> {
    const rows = await sql.rows<{ seq: string; id: Buffer }>(
      `DELETE FROM records_short WHERE seq IN (SELECT seq FROM records_short ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING seq, record_id AS id`,
      [limit],
    );
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => r.id.toString());
  }

  async count(sql: Sql): Promise<number> {
    return Number((await sql.row<{ n: string }>('SELECT count(*) AS n FROM records_short'))!.n);
  }
}
