import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';
import type { QueuedShard, RepairTask, ShardLocation } from '../meta-store.js';

/**
 * Persistent work queues with leases: a taken entry is hidden until its lease ends, so a worker
 * that dies without acknowledging leaves it to be taken again.
 */

interface LeaseParams {
  until: number;
  now: number;
  limit: number;
}

export class DeleteQueue {
  private readonly insert: Statement<[string, string]>;
  private readonly lease: Statement<[LeaseParams], QueuedShard>;
  private readonly remove: Statement<[number]>;

  constructor(db: Database.Database) {
    this.insert = prepare(db, 'INSERT INTO delete_queue (backend, key) VALUES (?, ?)');
    this.lease = prepare(db, `
      UPDATE delete_queue SET leased_until = @until
      WHERE id IN (SELECT id FROM delete_queue WHERE leased_until <= @now ORDER BY id LIMIT @limit)
      RETURNING id, backend, key`);
    this.remove = prepare(db, 'DELETE FROM delete_queue WHERE id = ?');
  }

  enqueue(shards: Iterable<ShardLocation>): void {
    for (const { backend, key } of shards) this.insert.run(backend, key);
  }

  take(limit: number, leaseMs: number): QueuedShard[] {
    const now = Date.now();
    return this.lease.all({ until: now + leaseMs, now, limit }).sort((a, b) => a.id - b.id);
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
    this.insert = prepare(db, 'INSERT INTO repair_queue (chunk_id, reason) VALUES (?, ?) ON CONFLICT (chunk_id) DO NOTHING');
    this.lease = prepare(db, `
      UPDATE repair_queue SET leased_until = @until
      WHERE id IN (SELECT id FROM repair_queue WHERE leased_until <= @now ORDER BY id LIMIT @limit)
      RETURNING id, chunk_id AS chunkId, reason`);
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
