import crypto from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { AgentError } from './errors.js';
import { publicKeyOf, type Identity } from './identity.js';
import { fields, int, list, oneOf, text } from '../util/schema.js';
import { check } from './validate.js';

/** What a store may do on a node: reserve namespaces (storage), run workloads (compute). */
export const RIGHTS = ['storage', 'compute'] as const;
export type Right = (typeof RIGHTS)[number];

/** What the registry signs: this store may use the nodes of this farm (or one node) for these rights until `expires`. */
export interface GrantTerms {
  /** The store's ed25519 public key, hex. */
  store: string;
  farm: number;
  /** Only this node (its id); every node of the farm when left out. */
  node?: string;
  rights: Right[];
  /** ms since the epoch. */
  expires: number;
}

export interface Grant extends GrantTerms {
  /** The public key (hex) of the registry that signed it. */
  registry: string;
  /** base64 ed25519 signature over the canonical JSON of the terms. */
  sig: string;
}

// Domain separation: the bytes a registry signs for a grant can never be read as another message.
const GRANT_CONTEXT = 'qstor-store-grant-v1';

function grantBytes(t: GrantTerms): Buffer {
  return Buffer.from(
    canonicalJson({
      context: GRANT_CONTEXT,
      store: t.store,
      farm: t.farm,
      node: t.node,
      rights: t.rights,
      expires: t.expires,
    }),
  );
}

export function signGrant(registry: Identity, terms: GrantTerms): Grant {
  const sig = crypto.sign(null, grantBytes(terms), registry.privateKey).toString('base64');
  return {
    store: terms.store,
    farm: terms.farm,
    node: terms.node,
    rights: terms.rights,
    expires: terms.expires,
    registry: registry.id,
    sig,
  };
}

/** A non-empty list of rights, each once. */
export const rightsSchema = list(oneOf(RIGHTS), RIGHTS.length * 2)
  .min(1, `name at least one of ${RIGHTS.join(', ')}`)
  .transform((rights) => [...new Set(rights)]);

/** A store or node key (64 lowercase hex digits, an ed25519 public key). */
export const publicKeySchema = text().regex(/^[0-9a-f]{64}$/, 'must be an ed25519 public key, 64 lowercase hex digits');

const grantSchema = fields({
  store: publicKeySchema,
  farm: int(1),
  node: publicKeySchema.optional(),
  rights: rightsSchema,
  expires: int(),
  registry: publicKeySchema,
  sig: text(),
});

export interface GrantCheck {
  /** The registry key this node trusts (from its config, or pinned at its first registration). */
  registryKey: string | undefined;
  /** The store that signed the request presenting the grant. */
  store: string;
  farm: number;
  node: string;
  now: number;
}

/** The rights a grant gives `store` on this node; NOT_ADMITTED, saying why, for any grant that does not hold. */
export function verifyGrant(v: unknown, c: GrantCheck): Right[] {
  const g: Grant = check(grantSchema, v, 'grant');
  const refuse = (why: string): never => {
    throw new AgentError('NOT_ADMITTED', `grant refused: ${why}`);
  };
  if (c.registryKey === undefined)
    refuse('this node has no registry key yet (it pins its registry key when it first registers)');
  if (g.registry !== c.registryKey)
    refuse(
      `signed by registry key ${g.registry.slice(0, 16)}…, not by this node's registry (${c.registryKey!.slice(0, 16)}…)`,
    );
  if (!crypto.verify(null, grantBytes(g), publicKeyOf(c.registryKey!), Buffer.from(g.sig, 'base64')))
    refuse('its signature does not verify with the registry key');
  if (g.store !== c.store) refuse(`it is for store ${g.store.slice(0, 16)}…, not for the signer of this request`);
  if (g.farm !== c.farm) refuse(`it is for farm ${g.farm}; this node is in farm ${c.farm}`);
  if (g.node !== undefined && g.node !== c.node) refuse(`it is for node ${g.node.slice(0, 16)}…, not this one`);
  if (g.expires <= c.now) refuse(`it expired at ${new Date(g.expires).toISOString()}`);
  return g.rights;
}
