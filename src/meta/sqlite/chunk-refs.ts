import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';
import type { ChunkRef } from '../manifest.js';
import type { DeleteQueue } from './queues.js';

/**
 * How many manifests and parts reference each chunk, so that copies can share chunks: a chunk's
 * shards are queued for deletion when its last reference goes, in the caller's transaction.
 * Callers retain the new chunks before releasing the old, so a chunk kept across a replacement
 * never touches zero.
 */
export class ChunkRefs {
  private readonly increment: Statement<[string]>;
  private readonly decrement: Statement<[string], { refs: number }>;
  private readonly remove: Statement<[string]>;
  private readonly count: Statement<[string], { refs: number }>;

  constructor(
    db: Database.Database,
    private readonly deletes: DeleteQueue,
  ) {
    this.increment = prepare(
      db,
      'INSERT INTO chunk_refs (chunk_id, refs) VALUES (?, 1) ON CONFLICT (chunk_id) DO UPDATE SET refs = refs + 1',
    );
    this.decrement = prepare(db, 'UPDATE chunk_refs SET refs = refs - 1 WHERE chunk_id = ? RETURNING refs');
    this.remove = prepare(db, 'DELETE FROM chunk_refs WHERE chunk_id = ?');
    this.count = prepare(db, 'SELECT refs FROM chunk_refs WHERE chunk_id = ?');
  }

  retain(chunks: ChunkRef[]): void {
    for (const chunk of chunks) this.increment.run(chunk.id);
  }

  /** Whether a manifest or part references the chunk. */
  held(chunkId: string): boolean {
    return (this.count.get(chunkId)?.refs ?? 0) > 0;
  }

  release(chunks: ChunkRef[]): void {
    for (const chunk of chunks) {
      // No row means the count is unknown (a bug, a partial rebuild): leaking shards beats
      // deleting ones another manifest may still need.
      const row = this.decrement.get(chunk.id);
      if (!row || row.refs > 0) continue;
      this.remove.run(chunk.id);
      this.deletes.enqueue(chunk.shards);
    }
  }
}
