import { AgentError } from '../errors.js';
import { signGrant, type Grant, type Right } from '../grants.js';
import type { Identity } from '../identity.js';
import { parseNodeReport, type NodeReport } from '../report.js';
import { REGISTRY_AUDIENCE, verifySigned, type Verified } from '../signed.js';
import { newToken, tokenHash, tokenMatchesHash } from '../tokens.js';
import { int, record, text } from '../../util/schema.js';
import { check } from '../validate.js';
import { openRegistryStore, type RegistryLocation } from './open.js';
import type { Farm, NodeRecord, NodeWrite, RegistryStore, StoreAdmission, StoredNode } from './store.js';

export type { Farm, NodeRecord, StoreAdmission } from './store.js';

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

/**
 * The registry: farms, nodes, their disks and zdbs, admissions, over a `RegistryStore` (sqlite
 * or PostgreSQL). Accepting a registration or a heartbeat verifies the node's signature and
 * advances its sequence in one transaction with the node locked, so a replay is refused even
 * by several gateways sharing the database. The gateway uses it in-process: `listBackends()`
 * is what placement needs.
 */
export class Registry {
  readonly downAfterMs: number;
  private readonly windowMs: number | undefined;
  private readonly identity: Identity | undefined;

  constructor(
    private readonly store: RegistryStore,
    options: RegistryOptions = {},
  ) {
    this.downAfterMs = options.downAfterMs ?? 30_000;
    this.windowMs = options.windowMs;
    this.identity = options.identity;
  }

  /** Over the tables at `where` (migrated first): PostgreSQL given a URL or pool, else sqlite. */
  static async open(where: RegistryLocation, options: RegistryOptions = {}): Promise<Registry> {
    return new Registry(await openRegistryStore(where), options);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** The public key (hex) grants are signed with; undefined for a registry without identity (listing only). */
  get key(): string | undefined {
    return this.identity?.id;
  }

  /** A new farm. The farmer token (`<farmId>.<secret>`) is returned once; only its hash is kept. */
  async createFarm(name: string, now = Date.now()): Promise<{ farmId: number; farmerToken: string }> {
    check(text(), name, 'name');
    const secret = newToken();
    const farmId = await this.store.createFarm(name, tokenHash(secret), now);
    return { farmId, farmerToken: `${farmId}.${secret}` };
  }

  listFarms(): Promise<Farm[]> {
    return this.store.listFarms();
  }

  /**
   * A signed registration (`REGISTER_KIND`, body: NodeReport plus `farmToken`). A node may
   * register again (new addresses, restarted agent) in the same farm; never in another one.
   */
  async acceptRegistration(envelope: unknown, now = Date.now()): Promise<NodeRecord> {
    const signer = signerOf(envelope);
    // The farm's token hash, looked up before the transaction for the token the body claims; the
    // token only counts once the signature over the body verifies, inside it.
    const claimed = farmIdOf(claimedFarmToken(envelope));
    const hash = claimed === undefined ? undefined : await this.store.farmTokenHash(claimed);
    return this.store.writeNode(signer, (existing) => {
      const v = this.verify(envelope, REGISTER_KIND, existing, now);
      const { farmToken } = check(record({ farmToken: text() }), v.body, 'body');
      const farmId = farmOfToken(farmToken, farmIdOf(farmToken) === claimed ? hash : undefined);
      if (existing && existing.farmId !== farmId)
        throw new AgentError('FARM_MISMATCH', `node ${signer} is registered in farm ${existing.farmId}, not ${farmId}`);
      return nodeWrite(farmId, parseNodeReport(v.body), v.seq, now);
    });
  }

  /** A signed heartbeat (`HEARTBEAT_KIND`, body: NodeReport) from registered node `nodeId`. */
  acceptHeartbeat(nodeId: string, envelope: unknown, now = Date.now()): Promise<NodeRecord> {
    return this.store.writeNode(signerOf(envelope), (existing) => {
      const v = this.verify(envelope, HEARTBEAT_KIND, existing, now);
      if (v.signer !== nodeId)
        throw new AgentError('WRONG_AUDIENCE', `heartbeat for node ${nodeId} signed by node ${v.signer}`);
      if (!existing) throw new AgentError('UNKNOWN_NODE', `node ${nodeId} is not registered`);
      return nodeWrite(existing.farmId, parseNodeReport(v.body), v.seq, now);
    });
  }

  getNode(id: string): Promise<NodeRecord | undefined> {
    return this.store.getNode(id);
  }

  /** Every node, by farm then id. */
  listNodes(): Promise<NodeRecord[]> {
    return this.store.listNodes();
  }

  /** 'down' once the node's last heartbeat is older than `downAfterMs`. */
  nodeState(node: NodeRecord, now = Date.now(), downAfterMs = this.downAfterMs): NodeState {
    return now - node.lastHeartbeat > downAfterMs ? 'down' : 'up';
  }

  /** Every zdb of every node (node → disks → endpoint), with its state and space. */
  async listBackends(now = Date.now(), downAfterMs = this.downAfterMs): Promise<BackendRecord[]> {
    return (await this.listNodes()).flatMap((n) => {
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

  private verify(envelope: unknown, kind: string, existing: StoredNode | undefined, now: number): Verified {
    return verifySigned(envelope, {
      kind,
      audience: REGISTRY_AUDIENCE,
      lastSeq: existing?.lastSeq,
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
  ): Promise<StoreAdmission> {
    return this.store.admitStore({
      farmId,
      store: terms.store,
      node: terms.node ?? null,
      rights: terms.rights,
      expires: terms.expires ?? null,
      created: now,
    });
  }

  /** Ends an admission; grants already issued run out within GRANT_TTL_MS. */
  revokeStore(farmId: number, store: string): Promise<boolean> {
    return this.store.revokeStore(farmId, store);
  }

  listAdmissions(farmId: number): Promise<StoreAdmission[]> {
    return this.store.listAdmissions(farmId);
  }

  /**
   * A signed grant for `store` on the nodes of `farmId`, if the farmer admitted it and the
   * admission has not expired; good for GRANT_TTL_MS at most.
   */
  async grantFor(store: string, farmId: number, now = Date.now()): Promise<Grant | undefined> {
    if (!this.identity) throw new AgentError('CONFIG', 'this registry has no key to sign grants with');
    const a = await this.store.admission(farmId, store);
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
  async acceptGrantRequest(envelope: unknown, now = Date.now()): Promise<Grant> {
    // No sequence is kept: a replayed request only yields a grant that is useless without the store's key.
    const v = verifySigned(envelope, { kind: GRANT_KIND, audience: REGISTRY_AUDIENCE, now, windowMs: this.windowMs });
    const { farmId } = check(record({ farmId: int(1) }), v.body, 'body');
    const grant = await this.grantFor(v.signer, farmId, now);
    if (!grant)
      throw new AgentError(
        'NOT_ADMITTED',
        `store ${v.signer} is not admitted in farm ${farmId} (its farmer runs qstor admin farm admit)`,
      );
    return grant;
  }

  /** The farm a farmer token (`<farmId>.<secret>`) opens; BAD_FARM_TOKEN for anything else. */
  async farmOfToken(token: string): Promise<number> {
    const farmId = farmIdOf(token);
    return farmOfToken(token, farmId === undefined ? undefined : await this.store.farmTokenHash(farmId));
  }
}

/** The farm id a token (`<farmId>.<secret>`) names, unchecked; undefined when it names none. */
function farmIdOf(token: string | undefined): number | undefined {
  const dot = token?.indexOf('.') ?? -1;
  const farmId = Number(token?.slice(0, dot));
  return dot > 0 && Number.isSafeInteger(farmId) ? farmId : undefined;
}

/** The token's farm if its secret matches `storedHash`, that farm's token hash (constant time). */
function farmOfToken(token: string, storedHash: string | undefined): number {
  // Same answer for an unknown farm and a wrong secret: the refusal tells nothing about which farms exist.
  if (storedHash === undefined || !tokenMatchesHash(token.slice(token.indexOf('.') + 1), storedHash))
    throw new AgentError('BAD_FARM_TOKEN', 'unknown farm or wrong farmer token');
  return farmIdOf(token)!;
}

/** What a node registration or heartbeat writes; a disk name twice is refused before any write. */
function nodeWrite(farmId: number, report: NodeReport, seq: number, now: number): NodeWrite {
  const names = new Set<string>();
  for (const d of report.capacity.disks) {
    if (names.has(d.name)) throw new AgentError('BAD_REQUEST', `disk name "${d.name}" reported twice`);
    names.add(d.name);
  }
  return { farmId, report, seq, now };
}

/** The farm token a registration's body claims, before its signature is checked. */
function claimedFarmToken(envelope: unknown): string | undefined {
  const t = (envelope as { body?: { farmToken?: unknown } } | null)?.body?.farmToken;
  return typeof t === 'string' ? t : undefined;
}

/** The claimed signer, to look its node up before verifying; verifySigned checks the rest. */
function signerOf(envelope: unknown): string {
  const s = (envelope as { signer?: unknown } | null)?.signer;
  if (typeof s !== 'string') throw new AgentError('BAD_REQUEST', 'signed envelope: "signer" must be a string');
  return s;
}
