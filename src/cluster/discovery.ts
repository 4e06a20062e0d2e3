import { AgentClient, type BackendRecord, type Grant, type Registry, type Signer } from '../agent/index.js';
import type { Backend as MetaBackend, MetaStore } from '../meta/meta-store.js';
import { openSecret, sealSecret } from '../pipeline/keys.js';
import type { Backend } from '../placement/backend.js';
import type { BackendPool } from '../store/backend-pool.js';

export interface DiscoveryOptions {
  registry: Registry;
  pool: BackendPool;
  meta: MetaStore;
  masterKey: Buffer;
  /** The store's own identity: agents give a namespace's password only to the store that reserved it. */
  signer: Signer;
  /** maxsize of each namespace reserved. */
  namespaceBytes: number;
  log: (message: string) => void;
}

export interface DiscoveryReport {
  reserved: number;
  down: number;
  failed: number;
  /** New zdbs in farms whose farmer has not admitted this store (nothing asked of their agents). */
  notAdmitted: number;
}

/** The id a zdb of the registry gets in manifests: stable across restarts and address changes. */
export function backendId(r: Pick<BackendRecord, 'nodeId' | 'disk'>): string {
  return `${r.nodeId.slice(0, 16)}/${r.disk}`;
}

function address(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A reserved namespace as the pool connects to it (the password opened). */
export function poolBackend(b: MetaBackend, masterKey: Buffer): Backend {
  const colon = b.address.lastIndexOf(':');
  return {
    id: b.id,
    farm: b.farm,
    node: b.node,
    host: b.address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(b.address.slice(colon + 1)),
    namespace: b.namespace,
    password: b.password ? openSecret(masterKey, `backend:${b.id}`, b.password) : undefined,
    freeBytes: b.freeBytes,
    state: b.state,
  };
}

/**
 * The store's side of the registry: every zdb a node reports gets one namespace reserved for
 * this store through the node's agent (kept in the metadata's backends table, its password
 * sealed under the master key), and joins the backend pool with the node and farm as its
 * failure domains. A node whose heartbeats stop is held down in the pool, so placement skips
 * it and, past the grace period, repair moves its shards; when it heartbeats again it is used
 * again, under the same backend ids, so nothing is duplicated. Agents act only for stores their
 * farmer admitted: a farm's zdbs are used once its farmer runs `qstor admin farm admit` for
 * this store's key, and each reservation carries the registry's grant for that farm.
 */
export class Discovery {
  /** Farms already told about in the log as not admitting this store: said once, not every sync. */
  private readonly toldNotAdmitted = new Set<number>();

  constructor(private readonly o: DiscoveryOptions) {}

  /**
   * Applies the registry's view to the pool. `reserve` false (gateways sharing the metadata:
   * another one holds the reservation lease) leaves new zdbs to the gateway that reserves.
   */
  async sync(now = Date.now(), { reserve = true } = {}): Promise<DiscoveryReport> {
    const report: DiscoveryReport = { reserved: 0, down: 0, failed: 0, notAdmitted: 0 };
    const known = new Map((await this.o.meta.listBackends()).map((b) => [b.id, b]));
    for (const r of this.o.registry.listBackends(now)) {
      const id = backendId(r);
      let have = known.get(id);
      if (!have) {
        if (r.state !== 'up' || !reserve) continue;
        const grant = this.o.registry.grantFor(this.o.signer.id, r.farmId, now);
        if (!grant) {
          report.notAdmitted++;
          this.tellNotAdmitted(r.farmId);
          continue;
        }
        try {
          have = await this.reserve(id, r, grant);
          report.reserved++;
        } catch (e) {
          report.failed++;
          this.o.log(`could not reserve a namespace on ${id}: ${(e as Error).message}`);
          continue;
        }
      } else if (have.address !== address(r.host, r.port) || have.freeBytes !== r.freeBytes) {
        have = { ...have, address: address(r.host, r.port), freeBytes: r.freeBytes };
        await this.o.meta.upsertBackend(have);
        if (this.o.pool.get(id)?.host !== r.host || this.o.pool.get(id)?.port !== r.port)
          this.o.pool.add(poolBackend(have, this.o.masterKey));
      }
      if (!this.o.pool.get(id)) this.o.pool.add(poolBackend(have, this.o.masterKey));
      this.o.pool.hold(id, r.state === 'down');
      if (r.state === 'down') report.down++;
    }
    return report;
  }

  private tellNotAdmitted(farmId: number): void {
    if (this.toldNotAdmitted.has(farmId)) return;
    this.toldNotAdmitted.add(farmId);
    this.o.log(
      `farm ${farmId} has not admitted this store: its farmer runs qstor admin farm admit --farm ${farmId} --store ${this.o.signer.id} --rights storage`,
    );
  }

  private async reserve(id: string, r: BackendRecord, grant: Grant): Promise<MetaBackend> {
    const agent = new AgentClient({ url: r.agentUrl, nodeId: r.nodeId, signer: this.o.signer, grant });
    const ns = await agent.createNamespace({ size: this.o.namespaceBytes, mode: 'user', disk: r.disk });
    const backend: MetaBackend = {
      id,
      farm: String(r.farmId),
      node: r.nodeId,
      address: address(ns.host, ns.port),
      namespace: ns.namespace,
      password: sealSecret(this.o.masterKey, `backend:${id}`, ns.password),
      state: 'up',
      freeBytes: r.freeBytes,
      lastSeen: Date.now(),
    };
    await this.o.meta.upsertBackend(backend);
    this.o.log(`reserved namespace ${ns.namespace} on ${id} (farm ${r.farmId}) at ${backend.address}`);
    return backend;
  }
}
