import { AgentError } from './errors.js';
import { verifyGrant, type Right } from './grants.js';

export interface AdmissionOptions {
  /** Stores the farmer listed in the agent's config, with their rights. */
  stores: ReadonlyMap<string, readonly Right[]>;
  farmId: number;
  nodeId: string;
  /** The registry key grants must be signed by (config, or pinned at the first registration); read at each check. */
  registryKey: () => string | undefined;
}

/**
 * Which stores this agent acts for, as Zero-OS acts only on deployments with a contract: the
 * ones its farmer listed in the config, and the ones holding a grant the registry signed for
 * this farm (or node), which the registry issues only for stores the farmer admitted there.
 * Storage (namespaces) and compute (workloads) are separate rights.
 */
export class Admission {
  constructor(private readonly o: AdmissionOptions) {}

  /** Throws NOT_ADMITTED unless `store` holds `right` here; `grant` is what the request presented, if anything. */
  check(store: string, right: Right, grant: unknown, now = Date.now()): void {
    if (this.o.stores.get(store)?.includes(right)) return;
    if (grant === undefined) {
      throw new AgentError(
        'NOT_ADMITTED',
        `store ${store} has no ${right} right on this node: its farmer lists it in the agent's config, or admits it at the registry (qstor admin farm admit), whose grant the store presents`,
      );
    }
    const rights = verifyGrant(grant, {
      registryKey: this.o.registryKey(),
      store,
      farm: this.o.farmId,
      node: this.o.nodeId,
      now,
    });
    if (!rights.includes(right))
      throw new AgentError('NOT_ADMITTED', `store ${store} is granted ${rights.join(', ')} on this farm, not ${right}`);
  }
}
