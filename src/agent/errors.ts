import { CodedError } from '../util/coded-error.js';
/**
 * Typed errors of the agent and the registry. Every refusal a peer can cause has a code and
 * an HTTP status, so both services answer `{ code, message }` the same way and clients
 * branch on `code`, never on message text.
 */
export type AgentErrorCode =
  /** The request body is not what the route takes (JSON shape, field types). */
  | 'BAD_REQUEST'
  /** The signature does not verify with the signer's key, or the envelope is malformed. */
  | 'BAD_SIGNATURE'
  /** Sequence not above the last one accepted from this signer, or timestamp outside the window. */
  | 'REPLAY'
  /** Signed for another audience (another node, another registry) or another purpose. */
  | 'WRONG_AUDIENCE'
  /** Missing or wrong admin bearer token. */
  | 'UNAUTHORIZED'
  /** Unknown farm, or the farmer token does not match it. */
  | 'BAD_FARM_TOKEN'
  /** A heartbeat (or other node message) from a node that never registered. */
  | 'UNKNOWN_NODE'
  /** A node already registered in another farm. */
  | 'FARM_MISMATCH'
  /** The namespace (or workload) belongs to another store. */
  | 'NOT_OWNER'
  /** The signer is not a store this node's farmer admitted, or not for this right (storage, compute). */
  | 'NOT_ADMITTED'
  | 'NOT_FOUND'
  /** A name already taken (farm name, namespace name). */
  | 'CONFLICT'
  /** No disk with a running zdb can take the request. */
  | 'UNAVAILABLE'
  /** The agent's configuration file is invalid. */
  | 'CONFIG'
  /** The agent's state file cannot be read. */
  | 'STATE'
  /** A peer answered something this client cannot use. */
  | 'PROTOCOL'
  /** The disk has not the space for the reservation, counting what is reserved already. */
  | 'INSUFFICIENT_STORAGE';

const STATUS: Record<AgentErrorCode, number> = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 401,
  REPLAY: 409,
  WRONG_AUDIENCE: 403,
  UNAUTHORIZED: 401,
  BAD_FARM_TOKEN: 403,
  UNKNOWN_NODE: 404,
  FARM_MISMATCH: 409,
  NOT_OWNER: 403,
  NOT_ADMITTED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  CONFIG: 400,
  STATE: 500,
  PROTOCOL: 502,
  INSUFFICIENT_STORAGE: 507,
};

export class AgentError extends CodedError<AgentErrorCode> {
  /** The HTTP status a service answers this error with. */
  get status(): number {
    return STATUS[this.code];
  }
}

export function isAgentErrorCode(v: unknown): v is AgentErrorCode {
  return typeof v === 'string' && Object.hasOwn(STATUS, v);
}
