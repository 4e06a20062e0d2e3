import Database from 'better-sqlite3';
import fs from 'node:fs';
import { AgentError } from '../errors.js';
import { migrateRegistry } from './schema.js';
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
 * The registry in `registry_*` tables of a sqlite file (the gateway's meta.db, or a file of its
 * own). better-sqlite3 is synchronous: each method runs to its end before another starts, and
 * `writeNode` is a `BEGIN IMMEDIATE` transaction, which also holds off other processes on the file.
 */
export class SqliteRegistryStore implements RegistryStore {
  private readonly db: Database.Database;

  constructor(dbPath: string) {
    // 0600 before sqlite opens it, as the metadata store does with meta.db: sqlite gives the -wal
    // and -shm files the database file's mode.
    fs.closeSync(fs.openSync(dbPath, 'a', 0o600));
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrateRegistry(this.db);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async createFarm(name: string, tokenHash: string, now: number): Promise<number> {
    try {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO registry_farms (name, token_hash, created) VALUES (?, ?, ?)')
        .run(name, tokenHash, now);
      return Number(lastInsertRowid);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AgentError('CONFLICT', `a farm named "${name}" exists already`);
      throw err;
    }
  }

  async listFarms(): Promise<Farm[]> {
    return (this.db.prepare('SELECT id, name, created FROM registry_farms ORDER BY id').all() as FarmRow[]).map(toFarm);
  }

  async farmTokenHash(farmId: number): Promise<string | undefined> {
    const row = this.db.prepare('SELECT token_hash FROM registry_farms WHERE id = ?').get(farmId) as
      { token_hash: string } | undefined;
    return row?.token_hash;
  }

  async writeNode(id: string, decide: (existing: StoredNode | undefined) => NodeWrite): Promise<NodeRecord> {
    return this.db
      .transaction(() => {
        const row = this.nodeRow(id);
        const w = decide(row && toStoredNode(row));
        this.db
          .prepare(
            `INSERT INTO registry_nodes (id, farm_id, agent_url, addresses, cores, memory_bytes, registered_at, last_heartbeat, last_seq)
             VALUES (@id, @farm, @url, @addresses, @cores, @memory, @now, @now, @seq)
             ON CONFLICT (id) DO UPDATE SET agent_url = @url, addresses = @addresses, cores = @cores, memory_bytes = @memory,
               last_heartbeat = @now, last_seq = @seq`,
          )
          .run({ id, ...nodeParams(w) });
        this.db.prepare('DELETE FROM registry_disks WHERE node_id = ?').run(id);
        const insert = this.db.prepare(
          `INSERT INTO registry_disks (node_id, name, total_bytes, free_bytes, zdb_port, zdb_state, namespaces, used_bytes)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const d of w.report.capacity.disks)
          insert.run(id, d.name, d.totalBytes, d.freeBytes, d.zdb.port, d.zdb.state, d.zdb.namespaces, d.zdb.usedBytes);
        return this.recordOf(this.nodeRow(id)!);
      })
      .immediate();
  }

  async getNode(id: string): Promise<NodeRecord | undefined> {
    const row = this.nodeRow(id);
    return row && this.recordOf(row);
  }

  async listNodes(): Promise<NodeRecord[]> {
    const rows = this.db.prepare(`${NODE_SELECT} ORDER BY n.farm_id, n.id`).all() as NodeRow[];
    const disks = disksByNode(
      this.db.prepare('SELECT * FROM registry_disks ORDER BY node_id, name').all() as DiskRow[],
    );
    return rows.map((r) => toNodeRecord(r, disks.get(r.id) ?? []));
  }

  async admitStore(a: StoreAdmission): Promise<StoreAdmission> {
    this.db
      .prepare(
        `INSERT INTO registry_admissions (farm_id, store, node, rights, expires, created) VALUES (@farm, @store, @node, @rights, @expires, @now)
         ON CONFLICT (farm_id, store) DO UPDATE SET node = @node, rights = @rights, expires = @expires, created = @now`,
      )
      .run({
        farm: a.farmId,
        store: a.store,
        node: a.node,
        rights: JSON.stringify(a.rights),
        expires: a.expires,
        now: a.created,
      });
    return (await this.admission(a.farmId, a.store))!;
  }

  async revokeStore(farmId: number, store: string): Promise<boolean> {
    return (
      this.db.prepare('DELETE FROM registry_admissions WHERE farm_id = ? AND store = ?').run(farmId, store).changes > 0
    );
  }

  async listAdmissions(farmId: number): Promise<StoreAdmission[]> {
    const rows = this.db
      .prepare('SELECT * FROM registry_admissions WHERE farm_id = ? ORDER BY created, store')
      .all(farmId) as AdmissionRow[];
    return rows.map(toAdmission);
  }

  async admission(farmId: number, store: string): Promise<StoreAdmission | undefined> {
    const row = this.db
      .prepare('SELECT * FROM registry_admissions WHERE farm_id = ? AND store = ?')
      .get(farmId, store) as AdmissionRow | undefined;
    return row && toAdmission(row);
  }

  private nodeRow(id: string): NodeRow | undefined {
    return this.db.prepare(`${NODE_SELECT} WHERE n.id = ?`).get(id) as NodeRow | undefined;
  }

  private recordOf(row: NodeRow): NodeRecord {
    const disks = this.db
      .prepare('SELECT * FROM registry_disks WHERE node_id = ? ORDER BY name')
      .all(row.id) as DiskRow[];
    return toNodeRecord(row, disksByNode(disks).get(row.id) ?? []);
  }
}
