import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';
import type { ChunkRef } from '../manifest.js';
import type { ShardLocation } from '../meta-store.js';
import type { DeleteQueue } from './queues.js';

/**
 * The intent log of shard writes in flight. Recorded before the shards are written, cleared by
 * the commit that references them; whatever is left (a failed PUT, a crash) is deleted, so no
 * shard is ever stored that neither a manifest nor the delete queue knows about.
 */
export class PendingWrites {
  private readonly insert: Statement<[string, string, string, string]>;
  private readonly clear: Statement<[string], ShardLocation>;
  private readonly clearAll: Statement<[], ShardLocation>;
  private readonly clearOrphaned: Statement<[number], ShardLocation>;

  constructor(
    db: Database.Database,
    private readonly deletes: DeleteQueue,
  ) {
    this.insert = prepare(
      db,
      'INSERT OR IGNORE INTO pending_writes (write_id, backend, key, owner) VALUES (?, ?, ?, ?)',
    );
    this.clear = prepare(db, 'DELETE FROM pending_writes WHERE write_id = ? RETURNING backend, key');
    this.clearAll = prepare(db, 'DELETE FROM pending_writes RETURNING backend, key');
    this.clearOrphaned = prepare(
      db,
      `DELETE FROM pending_writes WHERE owner NOT IN (SELECT id FROM gateways WHERE last_seen > ?)
       RETURNING backend, key`,
    );
  }

  /** `owner`: the gateway writing, whose heartbeats keep the write from being recovered. */
  begin(writeId: string, shards: ShardLocation[], owner: string): void {
    for (const { backend, key } of shards) this.insert.run(writeId, backend, key, owner);
  }

  /** The write committed `chunks`: its other shards (given up for a spare backend) are deleted. */
  commit(writeId: string, chunks: ChunkRef[]): void {
    const kept = new Set<string>();
    for (const chunk of chunks) for (const shard of chunk.shards) kept.add(id(shard));
    this.deletes.enqueue(this.clear.all(writeId).filter((shard) => !kept.has(id(shard))));
  }

  abort(writeId: string): void {
    this.deletes.enqueue(this.clear.all(writeId), true);
  }

  /** Every leftover write, or with `maxAgeMs` those of gateways with no heartbeat that recent. */
  recover(maxAgeMs?: number): number {
    const shards = maxAgeMs === undefined ? this.clearAll.all() : this.clearOrphaned.all(Date.now() - maxAgeMs);
    this.deletes.enqueue(shards, true);
    return shards.length;
  }
}

function id({ backend, key }: ShardLocation): string {
  return `${backend}\n${key}`;
}
