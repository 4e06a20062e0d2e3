import type Database from 'better-sqlite3';
import type { Backend, BackendState } from '../meta-store.js';
import { prepare, type Statement } from './statements.js';

/** The zdb backends shards can be placed on, as the registry last saw them. */
export class Backends {
  private readonly upsertRow: Statement<[Backend]>;
  private readonly all: Statement<[], Backend>;
  private readonly updateState: Statement<[BackendState, string]>;

  constructor(db: Database.Database) {
    this.upsertRow = prepare(
      db,
      `INSERT INTO backends (id, farm, node, address, namespace, password, state, free_bytes, last_seen)
       VALUES (@id, @farm, @node, @address, @namespace, @password, @state, @freeBytes, @lastSeen)
       ON CONFLICT (id) DO UPDATE SET farm = excluded.farm, node = excluded.node, address = excluded.address,
         namespace = excluded.namespace, password = excluded.password, state = excluded.state,
         free_bytes = excluded.free_bytes, last_seen = excluded.last_seen`,
    );
    this.all = prepare(
      db,
      `SELECT id, farm, node, address, namespace, password, state, free_bytes AS freeBytes, last_seen AS lastSeen
       FROM backends ORDER BY id`,
    );
    this.updateState = prepare(db, 'UPDATE backends SET state = ? WHERE id = ?');
  }

  upsert(backend: Backend): void {
    this.upsertRow.run(backend);
  }

  list(): Backend[] {
    return this.all.all();
  }

  setState(id: string, state: BackendState): boolean {
    return this.updateState.run(state, id).changes > 0;
  }
}
