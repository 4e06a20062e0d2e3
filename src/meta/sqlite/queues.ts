import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';
import type { QueuedShard, RepairTask, ShardLocation } from '../meta-store.js';
import { chunkOfShard } from '../manifest.js';

/**
 * Persistent work queues with leases: a taken entry is hidden until its lease ends, so a worker
 * that dies without acknowledging leaves it to be taken again.
 */

interface LeaseParams {
  until: number;
  now: number;
  limit: number;
}

/**
 * Shards no manifest references any more. Those of an aborted or interrupted write are marked:
 * that write may have committed after all (a second process on the same database once recovered
 * a live one's writes in flight), so when taken they are dropped, never handed out, if their
 * chunk is referenced. The others were queued by the very transaction that let go of them.
 */
export class DeleteQueue {
  private readonly insert: Statement<[string, string, number]>;
  private readonly lease: Statement<[LeaseParams], QueuedShard & { interrupted: number }>;
  private readonly remove: Statement<[number]>;

  constructor(db: Database.Database) {
    this.insert = prepare(db, 'INSERT INTO delete_queue (backend, key, interrupted) VALUES (?, ?, ?)');
    this.lease = prepare(
      db,
      `
      UPDATE delete_queue SET leased_until = @until
      WHERE id IN (SELECT id FROM delete_queue WHERE leased_until <= @now ORDER BY id LIMIT @limit)
      RETURNING id, backend, key, interrupted`,
    );
    this.remove = prepare(db, 'DELETE FROM delete_queue WHERE id = ?');
  }

  enqueue(shards: Iterable<ShardLocation>, interrupted = false): void {
    for (const { backend, key } of shards) this.insert.run(backend, key, interrupted ? 1 : 0);
  }

  /** Leases up to `limit` entries; `referenced(chunkId)` says which interrupted ones to drop. */
  take(limit: number, leaseMs: number, referenced: (chunkId: string) => boolean): QueuedShard[] {
    const now = Date.now();
    const taken: QueuedShard[] = [];
    for (const { id, backend, key, interrupted } of this.lease
      .all({ until: now + leaseMs, now, limit })
      .sort((a, b) => a.id - b.id)) {
      if (interrupted && referenced(chunkOfShard(key))) this.remove.run(id);
      else taken.push({ id, backend, key });
    }
    return taken;
  }

  ack(ids: number[]): void {
    for (const id of ids) this.remove.run(id);
  }
}

export class RepairQueue {
  private readonly insert: Statement<[string, string]>;
  private readonly lease: Statement<[LeaseParams], RepairTask & { id: number }>;
  private readonly remove: Statement<[string]>;

  constructor(db: Database.Database) {
    this.insert = prepare(
      db,
      'INSERT INTO repair_queue (chunk_id, reason) VALUES (?, ?) ON CONFLICT (chunk_id) DO NOTHING',
    );
    this.lease = prepare(
      db,
      `
      UPDATE repair_queue SET leased_until = @until
      WHERE id IN (SELECT id FROM repair_queue WHERE leased_until <= @now ORDER BY id LIMIT @limit)
      RETURNING id, chunk_id AS chunkId, reason`,
    );
    this.remove = prepare(db, 'DELETE FROM repair_queue WHERE chunk_id = ?');
  }

  enqueue(chunkId: string, reason: string): void {
    this.insert.run(chunkId, reason);
  }

  take(limit: number, leaseMs: number): RepairTask[] {
    const now = Date.now();
    return this.lease
      .all({ until: now + leaseMs, now, limit })
      .sort((a, b) => a.id - b.id)
      .map(({ chunkId, reason }) => ({ chunkId, reason }));
  }

  ack(chunkIds: string[]): void {
    for (const chunkId of chunkIds) this.remove.run(chunkId);
  }
}
