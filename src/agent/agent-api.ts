import type http from 'node:http';
import type { Logger } from 'pino';
import { ZdbError } from '../zdb-client/index.js';
import type { Admission } from './admission.js';
import { AgentError } from './errors.js';
import type { Right } from './grants.js';
import { jsonService, readJson, type JsonService } from './http.js';
import { parseCreateRequest, type Namespaces } from './namespaces.js';
import { verifySigned } from './signed.js';
import type { StateFile } from './state-file.js';
import { parseWorkloadRequest, type Workloads } from './workloads.js';
import { bool, int, record, text } from '../util/schema.js';
import { check } from './validate.js';

/** Each route of the agent's API takes one message kind, named after its path. */
export const AGENT_KINDS = {
  create: 'ns.create',
  list: 'ns.list',
  resize: 'ns.resize',
  lock: 'ns.lock',
  delete: 'ns.delete',
  workloadStart: 'workload.start',
  workloadGet: 'workload.get',
  workloadStop: 'workload.stop',
} as const;
export type AgentOperation = keyof typeof AGENT_KINDS;

export const AGENT_PATHS: Record<AgentOperation, string> = {
  create: '/v1/namespaces',
  list: '/v1/namespaces/list',
  resize: '/v1/namespaces/resize',
  lock: '/v1/namespaces/lock',
  delete: '/v1/namespaces/delete',
  workloadStart: '/v1/workloads',
  workloadGet: '/v1/workloads/get',
  workloadStop: '/v1/workloads/stop',
};

/** The right each operation needs: namespaces are storage, workloads compute. */
const RIGHT: Record<AgentOperation, Right> = {
  create: 'storage',
  list: 'storage',
  resize: 'storage',
  lock: 'storage',
  delete: 'storage',
  workloadStart: 'compute',
  workloadGet: 'compute',
  workloadStop: 'compute',
};

export interface AgentApiOptions {
  /** This node's id: the audience every request must be signed for. */
  nodeId: string;
  /** Which stores this node acts for, and for what. */
  admission: Admission;
  namespaces: Namespaces;
  workloads: Workloads;
  stateFile: StateFile;
  log: Logger;
}

/**
 * The agent's HTTP API for stores: every request is a SignedEnvelope from the store's own
 * ed25519 identity, for this node, with a sequence above the store's last one (kept in the
 * state file), from a store admitted for the operation's right (`Admission`; a registry grant
 * rides in the envelope's `grant` member, outside the store's signature: the registry signed
 * it). The signer is the owner: only it may change, or learn anything of, the namespaces and
 * workloads it created.
 */
/** The bodies of the operations on one workload or one namespace (beside their own fields). */
const WORKLOAD_ID = record({ id: text() });
const NAMESPACE = record({ namespace: text() });

export function createAgentApi(o: AgentApiOptions): JsonService {
  const operations: Record<string, AgentOperation> = Object.fromEntries(
    Object.entries(AGENT_PATHS).map(([op, p]) => [p, op as AgentOperation]),
  );

  const handle = async (req: http.IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const op = operations[path];
    if (req.method !== 'POST' || op === undefined) throw new AgentError('NOT_FOUND', `no route ${req.method} ${path}`);
    const envelope = await readJson(req);
    const signer = (envelope as { signer?: unknown } | null)?.signer;
    const seqs = o.stateFile.state.storeSeq;
    const v = verifySigned(envelope, {
      kind: AGENT_KINDS[op],
      audience: o.nodeId,
      lastSeq: typeof signer === 'string' ? seqs[signer] : undefined,
    });
    o.admission.check(v.signer, RIGHT[op], (envelope as { grant?: unknown }).grant);
    // Only now, for an admitted store, is anything kept: an unknown signer leaves no trace.
    seqs[v.signer] = v.seq;
    o.stateFile.save();
    const store = v.signer;
    if (op === 'create') return [201, await o.namespaces.create(store, parseCreateRequest(v.body))];
    if (op === 'list') return [200, { namespaces: o.namespaces.list(store) }];
    if (op === 'workloadStart') return [201, o.workloads.start(store, parseWorkloadRequest(v.body))];
    if (op === 'workloadGet') return [200, o.workloads.get(store, check(WORKLOAD_ID, v.body, 'body').id)];
    if (op === 'workloadStop') return [200, await o.workloads.stop(store, check(WORKLOAD_ID, v.body, 'body').id)];
    const { namespace } = check(NAMESPACE, v.body, 'body');
    if (op === 'resize')
      await o.namespaces.resize(store, namespace, check(record({ size: int(1) }), v.body, 'body').size);
    else if (op === 'lock')
      await o.namespaces.lock(store, namespace, check(record({ locked: bool() }), v.body, 'body').locked);
    else await o.namespaces.delete(store, namespace);
    return [200, { namespace }];
  };

  return jsonService(handle, o.log, asAgentError);
}

/** A zdb refusal as the API's answer: the store learns it is retriable, or a conflict. */
function asAgentError(err: unknown): AgentError | undefined {
  if (err instanceof AgentError) return err;
  if (!(err instanceof ZdbError)) return undefined;
  if (err.retriable) return new AgentError('UNAVAILABLE', `zdb unavailable: ${err.message}`, { cause: err });
  if (err.code === 'NS_EXISTS') return new AgentError('CONFLICT', 'the namespace exists on the zdb', { cause: err });
  if (err.code === 'NS_NOT_FOUND')
    return new AgentError('NOT_FOUND', 'the namespace is gone from the zdb', { cause: err });
  return undefined;
}
