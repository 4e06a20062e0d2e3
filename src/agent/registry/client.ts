import { AgentError } from '../errors.js';
import type { Grant, Right } from '../grants.js';
import { requestJson } from '../http.js';
import type { NodeReport } from '../report.js';
import { REGISTRY_AUDIENCE, type Signer } from '../signed.js';
import {
  GRANT_KIND,
  HEARTBEAT_KIND,
  REGISTER_KIND,
  type BackendRecord,
  type Farm,
  type NodeRecord,
  type NodeState,
  type StoreAdmission,
} from './registry.js';

export type NodeView = NodeRecord & { state: NodeState };

/** The registry's HTTP API from the outside: agents (signed) and operators (admin token). */
export class RegistryClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  /** Registers the node; the answer names the registry's key (which the agent pins). */
  async register(
    signer: Signer,
    farmToken: string,
    report: NodeReport,
  ): Promise<{ nodeId: string; farmId: number; registryKey: string }> {
    const r = (await requestJson(
      'POST',
      `${this.url}/v1/nodes`,
      signer.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report, farmToken }),
    )) as { nodeId?: unknown; farmId?: unknown; registryKey?: unknown };
    if (
      typeof r?.nodeId !== 'string' ||
      typeof r.farmId !== 'number' ||
      typeof r.registryKey !== 'string' ||
      !/^[0-9a-f]{64}$/.test(r.registryKey)
    )
      throw new AgentError('PROTOCOL', 'POST /v1/nodes: no nodeId/farmId/registryKey in the answer');
    return { nodeId: r.nodeId, farmId: r.farmId, registryKey: r.registryKey };
  }

  async heartbeat(signer: Signer, report: NodeReport): Promise<void> {
    await requestJson(
      'POST',
      `${this.url}/v1/nodes/${signer.id}/heartbeat`,
      signer.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report),
    );
  }

  async createFarm(adminToken: string, name: string): Promise<{ farmId: number; farmerToken: string }> {
    const r = (await requestJson('POST', `${this.url}/v1/farms`, { name }, adminToken)) as {
      farmId?: unknown;
      farmerToken?: unknown;
    };
    if (typeof r?.farmId !== 'number' || typeof r.farmerToken !== 'string')
      throw new AgentError('PROTOCOL', 'POST /v1/farms: no farmId/farmerToken in the answer');
    return { farmId: r.farmId, farmerToken: r.farmerToken };
  }

  /** The farmer (with the farm's token) admits a store on the farm's nodes; the registry then grants it. */
  async admitStore(
    farmToken: string,
    farmId: number,
    terms: { store: string; rights: Right[]; node?: string; expires?: number },
  ): Promise<StoreAdmission> {
    return (await requestJson('POST', `${this.url}/v1/farms/${farmId}/stores`, terms, farmToken)) as StoreAdmission;
  }

  async revokeStore(farmToken: string, farmId: number, store: string): Promise<void> {
    await requestJson('DELETE', `${this.url}/v1/farms/${farmId}/stores/${store}`, undefined, farmToken);
  }

  async listAdmissions(farmToken: string, farmId: number): Promise<StoreAdmission[]> {
    return (
      (await requestJson('GET', `${this.url}/v1/farms/${farmId}/stores`, undefined, farmToken)) as {
        stores: StoreAdmission[];
      }
    ).stores;
  }

  /** The store's grant for the nodes of `farmId` (NOT_ADMITTED unless its farmer admitted it). */
  async grant(store: Signer, farmId: number): Promise<Grant> {
    return (await requestJson(
      'POST',
      `${this.url}/v1/grants`,
      store.sign(GRANT_KIND, REGISTRY_AUDIENCE, { farmId }),
    )) as Grant;
  }

  async listFarms(adminToken: string): Promise<Farm[]> {
    return ((await requestJson('GET', `${this.url}/v1/farms`, undefined, adminToken)) as { farms: Farm[] }).farms;
  }

  async listNodes(adminToken: string): Promise<{ now: number; downAfterMs: number; nodes: NodeView[] }> {
    return (await requestJson('GET', `${this.url}/v1/nodes`, undefined, adminToken)) as {
      now: number;
      downAfterMs: number;
      nodes: NodeView[];
    };
  }

  async listBackends(adminToken: string): Promise<BackendRecord[]> {
    return (
      (await requestJson('GET', `${this.url}/v1/backends`, undefined, adminToken)) as { backends: BackendRecord[] }
    ).backends;
  }
}
