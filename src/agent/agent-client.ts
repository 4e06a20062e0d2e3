import { AGENT_KINDS, AGENT_PATHS, type AgentOperation } from './agent-api.js';
import { AgentError } from './errors.js';
import type { Grant } from './grants.js';
import { requestJson } from './http.js';
import type { CreateRequest, NamespaceSummary, Reservation } from './namespaces.js';
import type { Signer } from './signed.js';
import type { WorkloadRequest, WorkloadStatus } from './workloads.js';

/**
 * A store's side of one agent's API: namespace reservations signed with the store's identity
 * (`loadOrCreateIdentity`, wrapped in a Signer). `nodeId` is the agent's node id from the
 * registry (it is the audience of each message). Requests of one client go one at a time, in
 * order: the agent refuses a sequence below one it already accepted, and parallel requests
 * could arrive out of order. `grant`, the registry's grant for the node's farm, goes with every
 * request (a store the farmer listed in the agent's config needs none).
 */
export class AgentClient {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: { url: string; nodeId: string; signer: Signer; grant?: Grant }) {}

  async createNamespace(req: CreateRequest): Promise<Reservation> {
    const r = (await this.call('create', req)) as Reservation;
    if (typeof r?.password !== 'string' || typeof r.port !== 'number')
      throw new AgentError('PROTOCOL', 'namespace create: no endpoint/password in the answer');
    return r;
  }

  async listNamespaces(): Promise<NamespaceSummary[]> {
    return ((await this.call('list', {})) as { namespaces: NamespaceSummary[] }).namespaces;
  }

  async resizeNamespace(namespace: string, size: number): Promise<void> {
    await this.call('resize', { namespace, size });
  }

  async lockNamespace(namespace: string, locked = true): Promise<void> {
    await this.call('lock', { namespace, locked });
  }

  async deleteNamespace(namespace: string): Promise<void> {
    await this.call('delete', { namespace });
  }

  /** Runs `command` from the flist at `flist` (a path on the node) under `qstor flist run`. */
  async startWorkload(req: WorkloadRequest): Promise<WorkloadStatus> {
    return (await this.call('workloadStart', req)) as WorkloadStatus;
  }

  async workload(id: string): Promise<WorkloadStatus> {
    return (await this.call('workloadGet', { id })) as WorkloadStatus;
  }

  /** Stops it; resolves once it is gone and its flist unmounted. */
  async stopWorkload(id: string): Promise<WorkloadStatus> {
    return (await this.call('workloadStop', { id })) as WorkloadStatus;
  }

  private call(op: AgentOperation, payload: unknown): Promise<unknown> {
    const send = () =>
      requestJson('POST', `${this.o.url.replace(/\/+$/, '')}${AGENT_PATHS[op]}`, {
        ...this.o.signer.sign(AGENT_KINDS[op], this.o.nodeId, payload),
        grant: this.o.grant,
      });
    const run = this.tail.then(send, send);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
