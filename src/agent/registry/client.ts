import { AgentError } from '../errors.js';
import { requestJson } from '../http.js';
import type { NodeReport } from '../report.js';
import { REGISTRY_AUDIENCE, type Signer } from '../signed.js';
import { HEARTBEAT_KIND, REGISTER_KIND, type BackendRecord, type Farm, type NodeRecord, type NodeState } from './registry.js';

export type NodeView = NodeRecord & { state: NodeState };

/** The registry's HTTP API from the outside: agents (signed) and operators (admin token). */
export class RegistryClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async register(signer: Signer, farmToken: string, report: NodeReport): Promise<void> {
    await requestJson('POST', `${this.url}/v1/nodes`, signer.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report, farmToken }));
  }

  async heartbeat(signer: Signer, report: NodeReport): Promise<void> {
    await requestJson('POST', `${this.url}/v1/nodes/${signer.id}/heartbeat`, signer.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report));
  }

  async createFarm(adminToken: string, name: string): Promise<{ farmId: number; farmerToken: string }> {
    const r = (await requestJson('POST', `${this.url}/v1/farms`, { name }, adminToken)) as { farmId?: unknown; farmerToken?: unknown };
    if (typeof r?.farmId !== 'number' || typeof r.farmerToken !== 'string') throw new AgentError('PROTOCOL', 'POST /v1/farms: no farmId/farmerToken in the answer');
    return { farmId: r.farmId, farmerToken: r.farmerToken };
  }

  async listFarms(adminToken: string): Promise<Farm[]> {
    return ((await requestJson('GET', `${this.url}/v1/farms`, undefined, adminToken)) as { farms: Farm[] }).farms;
  }

  async listNodes(adminToken: string): Promise<{ now: number; downAfterMs: number; nodes: NodeView[] }> {
    return (await requestJson('GET', `${this.url}/v1/nodes`, undefined, adminToken)) as { now: number; downAfterMs: number; nodes: NodeView[] };
  }

  async listBackends(adminToken: string): Promise<BackendRecord[]> {
    return ((await requestJson('GET', `${this.url}/v1/backends`, undefined, adminToken)) as { backends: BackendRecord[] }).backends;
  }
}
