import type { ChunkRef } from '../manifest.js';
import type { Sql } from './connection.js';
import type { DeleteQueue } from './queues.js';

/**
 * How many manifests and parts reference each chunk, so that copies can share chunks: a chunk's
 * shards are queued for deletion when its last reference goes, in the caller's transaction.
 * Callers retain the new chunks before releasing the old, so a chunk kept across a replacement
 * never touches zero. Each call is one statement whatever the number of chunks, in chunk id
 * order (transactions touching the same chunks lock them in the same order).
 */
export class ChunkRefs {
  constructor(private readonly deletes: DeleteQueue) {}

  async retain(sql: Sql, chunks: ChunkRef[]): Promise<void> {
    if (chunks.length === 0) return;
    await sql.run(
      `INSERT INTO chunk_refs (chunk_id, refs)
       SELECT id, count(*) FROM unnest($1::text[]) AS id GROUP BY id ORDER BY id
       ON CONFLICT (chunk_id) DO UPDATE SET refs = chunk_refs.refs + excluded.refs`,
      [chunks.map((chunk) => chunk.id)],
    );
  }

  /** Which of `chunkIds` a manifest or part references. */
  async held(sql: Sql, chunkIds: string[]): Promise<Set<string>> {
    if (chunkIds.length === 0) return new Set();
    const rows = await sql.rows<{ chunkId: string }>(
      'SELECT chunk_id AS "chunkId" FROM chunk_refs WHERE chunk_id = ANY($1::text[]) AND refs > 0',
      [chunkIds],
    );
    return new Set(rows.map((row) => row.chunkId));
  }

  async release(sql: Sql, chunks: ChunkRef[]): Promise<void> {
    if (chunks.length === 0) return;
    // No row means the count is unknown (a bug, a partial rebuild): leaking shards beats
    // deleting ones another manifest may still need.
    const counts = await sql.rows<{ chunkId: string; refs: number }>(
      `UPDATE chunk_refs c SET refs = c.refs - d.n
       FROM (SELECT id, count(*) AS n FROM unnest($1::text[]) AS id GROUP BY id ORDER BY id) d
       WHERE c.chunk_id = d.id RETURNING c.chunk_id AS "chunkId", c.refs`,
      [chunks.map((chunk) => chunk.id)],
    );
    const freed = counts.filter((row) => row.refs <= 0);
    if (freed.length > 0)
      await sql.run('DELETE FROM chunk_refs WHERE chunk_id = ANY($1::text[])', [freed.map((row) => row.chunkId)]);
    if (freed.length === 0) return;
    const gone = new Set(freed.map((row) => row.chunkId));
    const shards = new Map<string, ChunkRef['shards']>();
    for (const chunk of chunks) if (gone.has(chunk.id)) shards.set(chunk.id, chunk.shards);
    await this.deletes.enqueue(sql, [...shards.values()].flat());
  }
}
