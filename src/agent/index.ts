// The agent and registry API for the rest of qstor (the gateway, the store): import from here.
export { AgentClient } from './agent-client.js';
export { AgentError } from './errors.js';
export type { AgentErrorCode } from './errors.js';
export { RIGHTS, signGrant } from './grants.js';
export type { Grant, GrantTerms, Right } from './grants.js';
export { identityFromSeed, loadOrCreateIdentity } from './identity.js';
export type { Identity } from './identity.js';
export type { CreateRequest, NamespaceSummary, Reservation } from './namespaces.js';
export { RegistryClient } from './registry/client.js';
export type { NodeView } from './registry/client.js';
export { Registry } from './registry/registry.js';
export type {
  BackendRecord,
  Farm,
  NodeRecord,
  NodeState,
  RegistryOptions,
  StoreAdmission,
} from './registry/registry.js';
export { createRegistryServer } from './registry/server.js';
export type { RegistryServer, RegistryServerOptions } from './registry/server.js';
export type { Capacity, DiskReport, NodeReport, ZdbReport } from './report.js';
export { Signer } from './signed.js';
export { loadOrCreateTokenFile } from './tokens.js';
export type { WorkloadRequest, WorkloadStatus } from './workloads.js';
