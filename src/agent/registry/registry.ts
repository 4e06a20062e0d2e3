import Database from 'better-sqlite3';
import fs from 'node:fs';
import { AgentError } from '../errors.js';
import { signGrant, type Grant, type Right } from '../grants.js';
import type { Identity } from '../identity.js';
import { parseNodeReport, type Capacity, type DiskReport, type NodeReport } from '../report.js';
import { REGISTRY_AUDIENCE, verifySigned, type Verified } from '../signed.js';
import { newToken, tokenHash, tokenMatchesHash } from '../tokens.js';
import { int, record, text } from '../../util/schema.js';
import { check } from '../validate.js';
import { migrateRegistry } from './schema.js';

export interface Farm {
  farmId: number;
  name: string;
  created: number;
}

/** A node as last reported (registration or heartbeat). */
export interface NodeRecord {
  /** The node's ed25519 public key, hex. */
  id: string;
  farmId: number;
  farmName: string;
  addresses: string[];
  agentUrl: string;
  capacity: Capacity;
  registeredAt: number;
  /** ms since the epoch of the last accepted registration or heartbeat. */
  lastHeartbeat: number;
}

export type NodeState = 'up' | 'down';

/** One zdb of one node's disk: where a store can reserve namespaces and put shards. */
export interface BackendRecord {
  nodeId: string;
  farmId: number;
  /** The disk's name within its node (`disk0`, ...). */
  disk: string;
  /** The node's first address and the zdb's port; `addresses` has the others. */
  host: string;
  port: number;
  addresses: string[];
  /** Where to reserve namespaces on this zdb (`AgentClient`). */
  agentUrl: string;
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
  /** 'up' only when the node is up and its agent saw this zdb answer. */
  state: NodeState;
}

/** A store a farm's farmer admitted: the registry grants it these rights on the farm's nodes. */
export interface StoreAdmission {
  farmId: number;
  store: string;
  /** Only this node of the farm; every node when null. */
  node: string | null;
  rights: Right[];
  /** ms since the epoch; null: until revoked. */
  expires: number | null;
  created: number;
}

export interface RegistryOptions {
  /** A node with no heartbeat for this long is down. Default 30 s. */
  downAfterMs?: number;
  /** How far a message's timestamp may be from the registry's clock (replay window). */
  windowMs?: number;
  /** The registry's own key: it signs the grants agents check (nodes pin its public half). */
  identity?: Identity;
}

/** How long a grant is good for: a revoked admission stops working within this time. */
export const GRANT_TTL_MS = 60 * 60_000;

/** The signed message kinds agents send the registry. */
export const REGISTER_KIND = 'node.register';
export const HEARTBEAT_KIND = 'node.heartbeat';
/** The signed message kind a store asks for its grant with. */
export const GRANT_KIND = 'store.grant';

interface NodeRow {
  id: string;
  farm_id: number;
  farm_name: string;
  agent_url: string;
  addresses: string;
  cores: number;
  memory_bytes: number;
  registered_at: number;
  last_heartbeat: number;
  last_seq: number;
}

interface DiskRow {
  node_id: string;
  name: string;
  total_bytes: number;
  free_bytes: number;
  zdb_port: number;
  zdb_state: 'up' | 'down';
  namespaces: number;
  used_bytes: number;
}

const NODE_SELECT = `SELECT n.*, f.name AS farm_name FROM registry_nodes n JOIN registry_farms f ON f.id = n.farm_id`;

/**
 * The registry's data layer: farms, nodes, their disks and zdbs, in `registry_*` tables of a
 * sqlite database (the gateway's meta.db, or a file of its own). Accepting a registration or a
 * heartbeat verifies the node's signature and advances its sequence in one transaction, so a
 * replay is refused even by several processes sharing the file. The gateway uses it in-process:
 * `listBackends()` is what placement needs.
 */
export class Registry {
  readonly downAfterMs: number;
  private readonly db: Database.Database;
  private readonly windowMs: number | undefined;
  private readonly identity: Identity | undefined;

  constructor(dbPath: string, options: RegistryOptions = {}) {
    this.downAfterMs = options.downAfterMs ?? 30_000;
    this.windowMs = options.windowMs;
    this.identity = options.identity;
    // 0600 before sqlite opens it, as the metadata store does with meta.db: sqlite gives the -wal
    // and -shm files the database file's mode.
    fs.closeSync(fs.openSync(dbPath, 'a', 0o600));
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrateRegistry(this.db);
  }

  close(): void {
    this.db.close();
  }

  /** The public key (hex) grants are signed with; undefined for a registry without identity (listing only). */
  get key(): string | undefined {
    return this.identity?.id;
  }

  /** A new farm. The farmer token (`<farmId>.<secret>`) is returned once; only its hash is kept. */
  createFarm(name: string, now = Date.now()): { farmId: number; farmerToken: string } {
    check(text(), name, 'name');
    const secret = newToken();
    try {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO registry_farms (name, token_hash, created) VALUES (?, ?, ?)')
        .run(name, tokenHash(secret), now);
      const farmId = Number(lastInsertRowid);
      return { farmId, farmerToken: `${farmId}.${secret}` };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AgentError('CONFLICT', `a farm named "${name}" exists already`);
      throw err;
    }
  }

  listFarms(): Farm[] {
    const rows = this.db.prepare('SELECT id, name, created FROM registry_farms ORDER BY id').all() as Array<{
      id: number;
      name: string;
      created: number;
    }>;
    return rows.map((r) => ({ farmId: r.id, name: r.name, created: r.created }));
  }

  /**
   * A signed registration (`REGISTER_KIND`, body: NodeReport plus `farmToken`). A node may
   * register again (new addresses, restarted agent) in the same farm; never in another one.
   */
  acceptRegistration(envelope: unknown, now = Date.now()): NodeRecord {
    return this.db
      .transaction(() => {
        const signer = signerOf(envelope);
        const existing = this.nodeRow(signer);
        const v = this.verify(envelope, REGISTER_KIND, existing, now);
        const farmId = this.farmOfToken(check(record({ farmToken: text() }), v.body, 'body').farmToken);
        const report = parseNodeReport(v.body);
        if (existing && existing.farm_id !== farmId)
          throw new AgentError(
            'FARM_MISMATCH',
            `node ${signer} is registered in farm ${existing.farm_id}, not ${farmId}`,
          );
        this.db
          .prepare(
            `INSERT INTO registry_nodes (id, farm_id, agent_url, addresses, cores, memory_bytes, registered_at, last_heartbeat, last_seq)
             VALUES (@id, @farm, @url, @addresses, @cores, @memory, @now, @now, @seq)
             ON CONFLICT (id) DO UPDATE SET agent_url = @url, addresses = @addresses, cores = @cores, memory_bytes = @memory,
               last_heartbeat = @now, last_seq = @seq`,
          )
          .run({ id: signer, farm: farmId, ...this.reportParams(report), now, seq: v.seq });
        this.replaceDisks(signer, report.capacity.disks);
        return this.getNode(signer)!;
      })
      .immediate();
  }

  /** A signed heartbeat (`HEARTBEAT_KIND`, body: NodeReport) from registered node `nodeId`. */
  acceptHeartbeat(nodeId: string, envelope: unknown, now = Date.now()): NodeRecord {
    return this.db
      .transaction(() => {
        const signer = signerOf(envelope);
        const existing = this.nodeRow(signer);
        const v = this.verify(envelope, HEARTBEAT_KIND, existing, now);
        if (v.signer !== nodeId)
          throw new AgentError('WRONG_AUDIENCE', `heartbeat for node ${nodeId} signed by node ${v.signer}`);
        if (!existing) throw new AgentError('UNKNOWN_NODE', `node ${nodeId} is not registered`);
        const report = parseNodeReport(v.body);
        this.db
          .prepare(
            `UPDATE registry_nodes SET agent_url = @url, addresses = @addresses, cores = @cores, memory_bytes = @memory,
               last_heartbeat = @now, last_seq = @seq WHERE id = @id`,
          )
          .run({ id: nodeId, ...this.reportParams(report), now, seq: v.seq });
        this.replaceDisks(nodeId, report.capacity.disks);
        return this.getNode(nodeId)!;
      })
      .immediate();
  }

  getNode(id: string): NodeRecord | undefined {
    const row = this.nodeRow(id);
    return row && this.toRecord(row, this.disksOf([id]).get(id) ?? []);
  }

  /** Every node, by farm then id. */
  listNodes(): NodeRecord[] {
    const rows = this.db.prepare(`${NODE_SELECT} ORDER BY n.farm_id, n.id`).all() as NodeRow[];
    const disks = this.disksOf(rows.map((r) => r.id));
    return rows.map((r) => this.toRecord(r, disks.get(r.id) ?? []));
  }

  /** 'down' once the node's last heartbeat is older than `downAfterMs`. */
  nodeState(node: NodeRecord, now = Date.now(), downAfterMs = this.downAfterMs): NodeState {
    return now - node.lastHeartbeat > downAfterMs ? 'down' : 'up';
  }

  /** Every zdb of every node (node → disks → endpoint), with its state and space. */
  listBackends(now = Date.now(), downAfterMs = this.downAfterMs): BackendRecord[] {
    return this.listNodes().flatMap((n) => {
      const nodeUp = this.nodeState(n, now, downAfterMs) === 'up';
      return n.capacity.disks.map((d) => ({
        nodeId: n.id,
        farmId: n.farmId,
        disk: d.name,
        host: n.addresses[0] ?? '',
        port: d.zdb.port,
        addresses: n.addresses,
        agentUrl: n.agentUrl,
        totalBytes: d.totalBytes,
        freeBytes: d.freeBytes,
        usedBytes: d.zdb.usedBytes,
        state: nodeUp && d.zdb.state === 'up' ? ('up' as const) : ('down' as const),
      }));
    });
  }

  private verify(envelope: unknown, kind: string, existing: NodeRow | undefined, now: number): Verified {
    return verifySigned(envelope, {
      kind,
      audience: REGISTRY_AUDIENCE,
      lastSeq: existing?.last_seq,
      now,
      windowMs: this.windowMs,
    });
  }

  /**
   * The farmer admits `store` on the farm (every node, or `node` only) for `rights`, until
   * `expires` or revoked; admitting again replaces the terms.
   */
  admitStore(
    farmId: number,
    terms: { store: string; rights: Right[]; node?: string | null; expires?: number | null },
    now = Date.now(),
  ): StoreAdmission {
    this.db
      .prepare(
        `INSERT INTO registry_admissions (farm_id, store, node, rights, expires, created) VALUES (@farm, @store, @node, @rights, @expires, @now)
         ON CONFLICT (farm_id, store) DO UPDATE SET node = @node, rights = @rights, expires = @expires, created = @now`,
      )
      .run({
        farm: farmId,
        store: terms.store,
        node: terms.node ?? null,
        rights: JSON.stringify(terms.rights),
        expires: terms.expires ?? null,
        now,
      });
    return this.admission(farmId, terms.store)!;
  }

  /** Ends an admission; grants already issued run out within GRANT_TTL_MS. */
  revokeStore(farmId: number, store: string): boolean {
    return (
      this.db.prepare('DELETE FROM registry_admissions WHERE farm_id = ? AND store = ?').run(farmId, store).changes > 0
    );
  }

  listAdmissions(farmId: number): StoreAdmission[] {
    const rows = this.db
      .prepare('SELECT * FROM registry_admissions WHERE farm_id = ? ORDER BY created, store')
      .all(farmId) as AdmissionRow[];
    return rows.map(toAdmission);
  }

  /**
   * A signed grant for `store` on the nodes of `farmId`, if the farmer admitted it and the
   * admission has not expired; good for GRANT_TTL_MS at most.
   */
  grantFor(store: string, farmId: number, now = Date.now()): Grant | undefined {
    if (!this.identity) throw new AgentError('CONFIG', 'this registry has no key to sign grants with');
    const a = this.admission(farmId, store);
    if (!a || (a.expires !== null && a.expires <= now)) return undefined;
    return signGrant(this.identity, {
      store,
      farm: farmId,
      node: a.node ?? undefined,
      rights: a.rights,
      expires: Math.min(a.expires ?? Infinity, now + GRANT_TTL_MS),
    });
  }

  /** A grant asked for over HTTP: a request signed by the store itself (`GRANT_KIND`, body `{ farmId }`). */
  acceptGrantRequest(envelope: unknown, now = Date.now()): Grant {
    // No sequence is kept: a replayed request only yields a grant that is useless without the store's key.
    const v = verifySigned(envelope, { kind: GRANT_KIND, audience: REGISTRY_AUDIENCE, now, windowMs: this.windowMs });
    const { farmId } = check(record({ farmId: int(1) }), v.body, 'body');
    const grant = this.grantFor(v.signer, farmId, now);
    if (!grant)
      throw new AgentError(
        'NOT_ADMITTED',
        `store ${v.signer} is not admitted in farm ${farmId} (its farmer runs qstor admin farm admit)`,
      );
    return grant;
  }

  private admission(farmId: number, store: string): StoreAdmission | undefined {
    const row = this.db
      .prepare('SELECT * FROM registry_admissions WHERE farm_id = ? AND store = ?')
      .get(farmId, store) as AdmissionRow | undefined;
    return row && toAdmission(row);
  }

  /** The farm a farmer token (`<farmId>.<secret>`) opens; BAD_FARM_TOKEN for anything else. */
  farmOfToken(token: string): number {
    const dot = token.indexOf('.');
    const farmId = Number(token.slice(0, dot));
    const row =
      dot > 0 && Number.isSafeInteger(farmId)
        ? (this.db.prepare('SELECT token_hash FROM registry_farms WHERE id = ?').get(farmId) as
            { token_hash: string } | undefined)
        : undefined;
    // Same answer for an unknown farm and a wrong secret: the refusal tells nothing about which farms exist.
    if (!row || !tokenMatchesHash(token.slice(dot + 1), row.token_hash))
      throw new AgentError('BAD_FARM_TOKEN', 'unknown farm or wrong farmer token');
    return farmId;
  }

  private nodeRow(id: string): NodeRow | undefined {
    return this.db.prepare(`${NODE_SELECT} WHERE n.id = ?`).get(id) as NodeRow | undefined;
  }

  private reportParams(r: NodeReport) {
    return {
      url: r.agentUrl,
      addresses: JSON.stringify(r.addresses),
      cores: r.capacity.cores,
      memory: r.capacity.memoryBytes,
    };
  }

  private replaceDisks(nodeId: string, disks: DiskReport[]): void {
    this.db.prepare('DELETE FROM registry_disks WHERE node_id = ?').run(nodeId);
    const insert = this.db.prepare(
      `INSERT INTO registry_disks (node_id, name, total_bytes, free_bytes, zdb_port, zdb_state, namespaces, used_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const d of disks) {
      try {
        insert.run(
          nodeId,
          d.name,
          d.totalBytes,
          d.freeBytes,
          d.zdb.port,
          d.zdb.state,
          d.zdb.namespaces,
          d.zdb.usedBytes,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new AgentError('BAD_REQUEST', `disk name "${d.name}" reported twice`);
        throw err;
      }
    }
  }

  private disksOf(ids: string[]): Map<string, DiskReport[]> {
    const out = new Map<string, DiskReport[]>();
    if (ids.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT * FROM registry_disks WHERE node_id IN (SELECT value FROM json_each(?)) ORDER BY node_id, name`)
      .all(JSON.stringify(ids)) as DiskRow[];
    for (const r of rows) {
      const list = out.get(r.node_id) ?? [];
      list.push({
        name: r.name,
        totalBytes: r.total_bytes,
        freeBytes: r.free_bytes,
        zdb: { port: r.zdb_port, state: r.zdb_state, namespaces: r.namespaces, usedBytes: r.used_bytes },
      });
      out.set(r.node_id, list);
    }
    return out;
  }

  private toRecord(r: NodeRow, disks: DiskReport[]): NodeRecord {
    return {
      id: r.id,
      farmId: r.farm_id,
      farmName: r.farm_name,
      addresses: JSON.parse(r.addresses) as string[],
      agentUrl: r.agent_url,
      capacity: { cores: r.cores, memoryBytes: r.memory_bytes, disks },
      registeredAt: r.registered_at,
      lastHeartbeat: r.last_heartbeat,
    };
  }
}

interface AdmissionRow {
  farm_id: number;
  store: string;
  node: string | null;
  rights: string;
  expires: number | null;
  created: number;
}

function toAdmission(r: AdmissionRow): StoreAdmission {
  return {
    farmId: r.farm_id,
    store: r.store,
    node: r.node,
    rights: JSON.parse(r.rights) as Right[],
    expires: r.expires,
    created: r.created,
  };
}

/** The claimed signer, to look its node up before verifying; verifySigned checks the rest. */
function signerOf(envelope: unknown): string {
  const s = (envelope as { signer?: unknown } | null)?.signer;
  if (typeof s !== 'string') throw new AgentError('BAD_REQUEST', 'signed envelope: "signer" must be a string');
  return s;
}
