import type { QueuedShard, RepairTask, ShardLocation } from '../meta-store.js';
import { chunkOfShard } from '../manifest.js';
import { NOW_MS, type Sql } from './connection.js';

/**
 * Persistent work queues with leases: a taken entry is hidden until its lease ends (the server's
 * clock), so a worker that dies without acknowledging leaves it to be taken again. Taking locks
 * the rows it takes with FOR UPDATE SKIP LOCKED: gateways taking at once get disjoint rows, and
 * a row another one just leased fails the re-check of its lease (READ COMMITTED re-reads it).
 */

/**
 * Shards no manifest references any more. Those of an aborted or interrupted write are marked:
 * that write may have committed after all, so when taken they are dropped, never handed out, if
 * their chunk is referenced. The others were queued by the very transaction that let go of them.
 */
export class DeleteQueue {
  async enqueue(sql: Sql, shards: ShardLocation[], interrupted = false): Promise<void> {
    if (shards.length === 0) return;
    await sql.run(
      'INSERT INTO delete_queue (backend, key, interrupted) SELECT b, k, $3 FROM unnest($1::text[], $2::text[]) AS s(b, k)',
      [shards.map((s) => s.backend), shards.map((s) => s.key), interrupted],
    );
  }

  /** Leases up to `limit` entries; `referenced` says which interrupted ones to drop. */
  async take(
    sql: Sql,
    limit: number,
    leaseMs: number,
    referenced: (chunkIds: string[]) => Promise<Set<string>>,
  ): Promise<QueuedShard[]> {
    const rows = await sql.rows<QueuedShard & { interrupted: boolean }>(
      `UPDATE delete_queue SET leased_until = ${NOW_MS} + $2
       WHERE id IN (SELECT id FROM delete_queue WHERE leased_until <= ${NOW_MS} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         AND leased_until <= ${NOW_MS}
       RETURNING id, backend, key, interrupted`,
      [limit, leaseMs],
    );
    rows.sort((a, b) => a.id - b.id);
    const held = await referenced(rows.filter((row) => row.interrupted).map((row) => chunkOfShard(row.key)));
    const dropped = rows.filter((row) => row.interrupted && held.has(chunkOfShard(row.key)));
    if (dropped.length > 0)
      await this.ack(
        sql,
        dropped.map((row) => row.id),
      );
    return rows
      .filter((row) => !(row.interrupted && held.has(chunkOfShard(row.key))))
      .map(({ id, backend, key }) => ({ id, backend, key }));
  }

  async ack(sql: Sql, ids: number[]): Promise<void> {
    if (ids.length > 0) await sql.run('DELETE FROM delete_queue WHERE id = ANY($1::bigint[])', [ids]);
  }
}

export class RepairQueue {
  async enqueue(sql: Sql, chunkId: string, reason: string): Promise<void> {
    await sql.run('INSERT INTO repair_queue (chunk_id, reason) VALUES ($1, $2) ON CONFLICT (chunk_id) DO NOTHING', [
      chunkId,
      reason,
    ]);
  }

  async take(sql: Sql, limit: number, leaseMs: number): Promise<RepairTask[]> {
    const rows = await sql.rows<RepairTask & { id: number }>(
      `UPDATE repair_queue SET leased_until = ${NOW_MS} + $2
       WHERE id IN (SELECT id FROM repair_queue WHERE leased_until <= ${NOW_MS} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         AND leased_until <= ${NOW_MS}
       RETURNING id, chunk_id AS "chunkId", reason`,
      [limit, leaseMs],
    );
    return rows.sort((a, b) => a.id - b.id).map(({ chunkId, reason }) => ({ chunkId, reason }));
  }

  async ack(sql: Sql, chunkIds: string[]): Promise<void> {
    if (chunkIds.length > 0) await sql.run('DELETE FROM repair_queue WHERE chunk_id = ANY($1::text[])', [chunkIds]);
  }
}
