import type { Backend, BackendState } from '../meta-store.js';
import type { Sql } from './connection.js';

/** The zdb backends shards can be placed on, as the registry last saw them. */
export class Backends {
  async upsert(sql: Sql, b: Backend): Promise<void> {
    await sql.run(
      `INSERT INTO backends (id, farm, node, address, namespace, password, state, free_bytes, last_seen)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET farm = excluded.farm, node = excluded.node, address = excluded.address,
         namespace = excluded.namespace, password = excluded.password, state = excluded.state,
         free_bytes = excluded.free_bytes, last_seen = excluded.last_seen`,
      [b.id, b.farm, b.node, b.address, b.namespace, b.password, b.state, b.freeBytes, b.lastSeen],
    );
  }

  async list(sql: Sql): Promise<Backend[]> {
    return sql.rows<Backend>(
      `SELECT id, farm, node, address, namespace, password, state, free_bytes AS "freeBytes", last_seen AS "lastSeen"
       FROM backends ORDER BY id`,
    );
  }

  async setState(sql: Sql, id: string, state: BackendState): Promise<boolean> {
    return (await sql.run('UPDATE backends SET state = $1 WHERE id = $2', [state, id])) > 0;
  }
}
