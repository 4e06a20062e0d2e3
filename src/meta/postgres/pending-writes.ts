import type { ChunkRef } from '../manifest.js';
import type { ShardLocation } from '../meta-store.js';
import type { Sql } from './connection.js';
import type { DeleteQueue } from './queues.js';

/**
 * The intent log of shard writes in flight. Recorded before the shards are written, cleared by
 * the commit that references them; whatever is left (a failed PUT, a crash) is deleted, so no
 * shard is ever stored that neither a manifest nor the delete queue knows about.
 */
export class PendingWrites {
  constructor(private readonly deletes: DeleteQueue) {}

  /** `owner`: the gateway writing, whose heartbeats keep the write from being recovered. */
  async begin(sql: Sql, writeId: string, shards: ShardLocation[], owner: string): Promise<void> {
    if (shards.length === 0) return;
    await sql.run(
      `INSERT INTO pending_writes (write_id, backend, key, owner)
       SELECT $1, b, k, $4 FROM unnest($2::text[], $3::text[]) AS s(b, k) ON CONFLICT DO NOTHING`,
      [writeId, shards.map((s) => s.backend), shards.map((s) => s.key), owner],
    );
  }

  /** The write committed `chunks`: its other shards (given up for a spare backend) are deleted. */
  async commit(sql: Sql, writeId: string, chunks: ChunkRef[]): Promise<void> {
    const kept = new Set<string>();
    for (const chunk of chunks) for (const shard of chunk.shards) kept.add(id(shard));
    const cleared = await this.clear(sql, writeId);
    await this.deletes.enqueue(
      sql,
      cleared.filter((shard) => !kept.has(id(shard))),
    );
  }

  async abort(sql: Sql, writeId: string): Promise<void> {
    await this.deletes.enqueue(sql, await this.clear(sql, writeId), true);
  }

  /** Every leftover write, or with `maxAgeMs` those of gateways with no heartbeat that recent (server clock). */
  async recover(sql: Sql, maxAgeMs?: number): Promise<number> {
    const shards =
      maxAgeMs === undefined
        ? await sql.rows<ShardLocation>('DELETE FROM pending_writes RETURNING backend, key')
        : await sql.rows<ShardLocation>(
            `DELETE FROM pending_writes WHERE owner NOT IN
               (SELECT id FROM gateways WHERE last_seen > now() - $1::float8 * interval '1 millisecond')
             RETURNING backend, key`,
            [maxAgeMs],
          );
    await this.deletes.enqueue(sql, shards, true);
    return shards.length;
  }

  private clear(sql: Sql, writeId: string): Promise<ShardLocation[]> {
    return sql.rows<ShardLocation>('DELETE FROM pending_writes WHERE write_id = $1 RETURNING backend, key', [writeId]);
  }
}

function id({ backend, key }: ShardLocation): string {
  return `${backend}\n${key}`;
}
