import type { Right } from '../grants.js';
import type { Capacity, DiskReport, NodeReport } from '../report.js';

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

/** What a registration or heartbeat is checked against: the node's farm and last accepted sequence. */
export interface StoredNode {
  farmId: number;
  lastSeq: number;
}

/** What an accepted registration or heartbeat writes. */
export interface NodeWrite {
  farmId: number;
  report: NodeReport;
  seq: number;
  now: number;
}

/**
 * Where the registry keeps farms, nodes, disks and admissions: sqlite (the gateway's meta.db)
 * or PostgreSQL (the database several gateways share). Every method is one transaction; the
 * checks of a registration or heartbeat (signature, sequence, farm) run inside `writeNode`'s,
 * with the node locked, so two gateways cannot both accept one sequence number.
 */
export interface RegistryStore {
  /** The new farm's id. Throws AgentError CONFLICT when the name is taken. */
  createFarm(name: string, tokenHash: string, now: number): Promise<number>;
  listFarms(): Promise<Farm[]>;
  /** The stored hash of the farm's farmer token; undefined for an unknown farm. */
  farmTokenHash(farmId: number): Promise<string | undefined>;
  /**
   * In one transaction with node `id` locked: `decide` sees what is stored (undefined for a new
   * node) and returns what to write, or throws and nothing is written. `registeredAt` is kept
   * for a known node; its disks are replaced by the report's.
   */
  writeNode(id: string, decide: (existing: StoredNode | undefined) => NodeWrite): Promise<NodeRecord>;
  getNode(id: string): Promise<NodeRecord | undefined>;
  /** Every node, by farm then id. */
  listNodes(): Promise<NodeRecord[]>;
  /** Inserts or replaces the terms of (farmId, store); returns them as stored. */
  admitStore(admission: StoreAdmission): Promise<StoreAdmission>;
  revokeStore(farmId: number, store: string): Promise<boolean>;
  listAdmissions(farmId: number): Promise<StoreAdmission[]>;
  admission(farmId: number, store: string): Promise<StoreAdmission | undefined>;
  close(): Promise<void>;
}

/**
 * The rows both engines read, as they come: PostgreSQL hands BIGINT columns over as strings,
 * sqlite as numbers, so every number goes through Number().
 */
type Num = number | string;

export interface NodeRow {
  id: string;
  farm_id: Num;
  farm_name: string;
  agent_url: string;
  addresses: string;
  cores: Num;
  memory_bytes: Num;
  registered_at: Num;
  last_heartbeat: Num;
  last_seq: Num;
}

export interface DiskRow {
  node_id: string;
  name: string;
  total_bytes: Num;
  free_bytes: Num;
  zdb_port: Num;
  zdb_state: 'up' | 'down';
  namespaces: Num;
  used_bytes: Num;
}

export interface AdmissionRow {
  farm_id: Num;
  store: string;
  node: string | null;
  rights: string;
  expires: Num | null;
  created: Num;
}

export interface FarmRow {
  id: Num;
  name: string;
  created: Num;
}

export const NODE_SELECT = `SELECT n.*, f.name AS farm_name FROM registry_nodes n JOIN registry_farms f ON f.id = n.farm_id`;

export function toFarm(r: FarmRow): Farm {
  return { farmId: Number(r.id), name: r.name, created: Number(r.created) };
}

export function toStoredNode(r: NodeRow): StoredNode {
  return { farmId: Number(r.farm_id), lastSeq: Number(r.last_seq) };
}

/** Disk rows (ordered by node, name) grouped by node. */
export function disksByNode(rows: DiskRow[]): Map<string, DiskReport[]> {
  const out = new Map<string, DiskReport[]>();
  for (const r of rows) {
    const list = out.get(r.node_id) ?? [];
    list.push({
      name: r.name,
      totalBytes: Number(r.total_bytes),
      freeBytes: Number(r.free_bytes),
      zdb: {
        port: Number(r.zdb_port),
        state: r.zdb_state,
        namespaces: Number(r.namespaces),
        usedBytes: Number(r.used_bytes),
      },
    });
    out.set(r.node_id, list);
  }
  return out;
}

export function toNodeRecord(r: NodeRow, disks: DiskReport[]): NodeRecord {
  return {
    id: r.id,
    farmId: Number(r.farm_id),
    farmName: r.farm_name,
    addresses: JSON.parse(r.addresses) as string[],
    agentUrl: r.agent_url,
    capacity: { cores: Number(r.cores), memoryBytes: Number(r.memory_bytes), disks },
    registeredAt: Number(r.registered_at),
    lastHeartbeat: Number(r.last_heartbeat),
  };
}

export function toAdmission(r: AdmissionRow): StoreAdmission {
  return {
    farmId: Number(r.farm_id),
    store: r.store,
    node: r.node,
    rights: JSON.parse(r.rights) as Right[],
    expires: r.expires === null ? null : Number(r.expires),
    created: Number(r.created),
  };
}

/** The node columns of a write, named as both engines' statements use them. */
export function nodeParams(w: NodeWrite) {
  return {
    farm: w.farmId,
    url: w.report.agentUrl,
    addresses: JSON.stringify(w.report.addresses),
    cores: w.report.capacity.cores,
    memory: w.report.capacity.memoryBytes,
    now: w.now,
    seq: w.seq,
  };
}
