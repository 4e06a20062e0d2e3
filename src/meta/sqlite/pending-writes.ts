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
  private readonly insert: Statement<[string, string, string]>;
  private readonly clear: Statement<[string], ShardLocation>;
  private readonly clearAll: Statement<[], ShardLocation>;

  constructor(
    db: Database.Database,
    private readonly deletes: DeleteQueue,
  ) {
    this.insert = prepare(db, 'INSERT OR IGNORE INTO pending_writes (write_id, backend, key) VALUES (?, ?, ?)');
    this.clear = prepare(db, 'DELETE FROM pending_writes WHERE write_id = ? RETURNING backend, key');
    this.clearAll = prepare(db, 'DELETE FROM pending_writes RETURNING backend, key');
  }

  begin(writeId: string, shards: ShardLocation[]): void {
    for (const { backend, key } of shards) this.insert.run(writeId, backend, key);
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

  recover(): number {
    const shards = this.clearAll.all();
    this.deletes.enqueue(shards, true);
    return shards.length;
  }
}

function id({ backend, key }: ShardLocation): string {
  return `${backend}\n${key}`;
}
