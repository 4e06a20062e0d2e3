import pg from 'pg';
import { AgentError } from '../errors.js';
import { migrateRegistryPostgres } from './postgres-schema.js';
import {
  disksByNode,
  NODE_SELECT,
  nodeParams,
  toAdmission,
  toFarm,
  toNodeRecord,
  toStoredNode,
  type AdmissionRow,
  type DiskRow,
  type Farm,
  type FarmRow,
  type NodeRecord,
  type NodeRow,
  type NodeWrite,
  type RegistryStore,
  type StoreAdmission,
  type StoredNode,
} from './store.js';

/**
 * First key of the per-node advisory locks ('qsrg'); the second is the node id's hash. The
 * two-key form never meets the one-key locks (migrations, leases) of the same database.
 */
const NODE_LOCK_CLASS = 0x71737267;

type Queryable = pg.Pool | pg.PoolClient;

/**
 * The registry in `registry_*` tables of a PostgreSQL database, shared by every gateway over it.
 * A registration or heartbeat is one transaction holding the node's advisory lock (a node not
 * registered yet has no row to lock) and its row: the sequence check and the write that
 * advances it cannot interleave with another gateway's.
 */
export class PostgresRegistryStore implements RegistryStore {
  private constructor(
    private readonly pool: pg.Pool,
    /** Whether close() ends the pool: only one made here from a URL. */
    private readonly ownsPool: boolean,
  ) {}

  /** Over `pool` (the metadata's, left open by close()), or a pool of its own on `url`. */
  static async open(where: { pool: pg.Pool } | { url: string }): Promise<PostgresRegistryStore> {
    const owns = !('pool' in where);
    const pool = 'pool' in where ? where.pool : new pg.Pool({ connectionString: where.url, max: 4 });
    // An idle connection the server cut (a restart) is dropped by the pool and the next query
    // connects again; unheard, the pool's 'error' event would end the process.
    if (owns) pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migrateRegistryPostgres(client);
      } finally {
        client.release();
      }
    } catch (err) {
      if (owns) await pool.end();
      throw err;
    }
    return new PostgresRegistryStore(pool, owns);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  async createFarm(name: string, tokenHash: string, now: number): Promise<number> {
    try {
      const { rows } = await this.pool.query<{ id: string }>(
        'INSERT INTO registry_farms (name, token_hash, created) VALUES ($1, $2, $3) RETURNING id',
        [name, tokenHash, now],
      );
      return Number(rows[0]!.id);
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new AgentError('CONFLICT', `a farm named "${name}" exists already`);
      throw err;
    }
  }

  async listFarms(): Promise<Farm[]> {
    const { rows } = await this.pool.query<FarmRow>('SELECT id, name, created FROM registry_farms ORDER BY id');
    return rows.map(toFarm);
  }

  async farmTokenHash(farmId: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ token_hash: string }>(
      'SELECT token_hash FROM registry_farms WHERE id = $1',
      [farmId],
    );
    return rows[0]?.token_hash;
  }

  async writeNode(id: string, decide: (existing: StoredNode | undefined) => NodeWrite): Promise<NodeRecord> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [NODE_LOCK_CLASS, id]);
      const { rows } = await c.query<NodeRow>(`${NODE_SELECT} WHERE n.id = $1 FOR UPDATE OF n`, [id]);
      const w = decide(rows[0] && toStoredNode(rows[0]));
      const p = nodeParams(w);
      await c.query(
        `INSERT INTO registry_nodes (id, farm_id, agent_url, addresses, cores, memory_bytes, registered_at, last_heartbeat, last_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
         ON CONFLICT (id) DO UPDATE SET agent_url = $3, addresses = $4, cores = $5, memory_bytes = $6,
           last_heartbeat = $7, last_seq = $8`,
        [id, p.farm, p.url, p.addresses, p.cores, p.memory, p.now, p.seq],
      );
      await c.query('DELETE FROM registry_disks WHERE node_id = $1', [id]);
      const disks = w.report.capacity.disks;
      if (disks.length > 0)
        await c.query(
          `INSERT INTO registry_disks (node_id, name, total_bytes, free_bytes, zdb_port, zdb_state, namespaces, used_bytes)
           SELECT $1::text, * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::int[], $8::bigint[])`,
          [
            id,
            disks.map((d) => d.name),
            disks.map((d) => d.totalBytes),
            disks.map((d) => d.freeBytes),
            disks.map((d) => d.zdb.port),
            disks.map((d) => d.zdb.state),
            disks.map((d) => d.zdb.namespaces),
            disks.map((d) => d.zdb.usedBytes),
          ],
        );
      return (await this.node(c, id))!;
    });
  }

  getNode(id: string): Promise<NodeRecord | undefined> {
    return this.node(this.pool, id);
  }

  async listNodes(): Promise<NodeRecord[]> {
    // One snapshot for both reads: a node written between them would otherwise show stale disks.
    return this.transaction(async (c) => {
      const nodes = await c.query<NodeRow>(`${NODE_SELECT} ORDER BY n.farm_id, n.id`);
      const disks = await c.query<DiskRow>('SELECT * FROM registry_disks ORDER BY node_id, name');
      const byNode = disksByNode(disks.rows);
      return nodes.rows.map((r) => toNodeRecord(r, byNode.get(r.id) ?? []));
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async admitStore(a: StoreAdmission): Promise<StoreAdmission> {
    const { rows } = await this.pool.query<AdmissionRow>(
      `INSERT INTO registry_admissions (farm_id, store, node, rights, expires, created) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (farm_id, store) DO UPDATE SET node = $3, rights = $4, expires = $5, created = $6
       RETURNING *`,
      [a.farmId, a.store, a.node, JSON.stringify(a.rights), a.expires, a.created],
    );
    return toAdmission(rows[0]!);
  }

  async revokeStore(farmId: number, store: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM registry_admissions WHERE farm_id = $1 AND store = $2', [
      farmId,
      store,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async listAdmissions(farmId: number): Promise<StoreAdmission[]> {
    const { rows } = await this.pool.query<AdmissionRow>(
      'SELECT * FROM registry_admissions WHERE farm_id = $1 ORDER BY created, store',
      [farmId],
    );
    return rows.map(toAdmission);
  }

  async admission(farmId: number, store: string): Promise<StoreAdmission | undefined> {
    const { rows } = await this.pool.query<AdmissionRow>(
      'SELECT * FROM registry_admissions WHERE farm_id = $1 AND store = $2',
      [farmId, store],
    );
    return rows[0] && toAdmission(rows[0]);
  }

  private async node(q: Queryable, id: string): Promise<NodeRecord | undefined> {
    const { rows } = await q.query<NodeRow>(`${NODE_SELECT} WHERE n.id = $1`, [id]);
    if (!rows[0]) return undefined;
    const disks = await q.query<DiskRow>('SELECT * FROM registry_disks WHERE node_id = $1 ORDER BY name', [id]);
    return toNodeRecord(rows[0], disksByNode(disks.rows).get(id) ?? []);
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const c = await this.pool.connect();
    // A connection whose ROLLBACK failed is in no known state: the pool drops it instead of reusing it.
    let broken: Error | undefined;
    try {
      await c.query(begin);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      c.release(broken);
    }
  }
}
