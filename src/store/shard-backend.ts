import type { Backend } from '../placement/backend.js';
import { ZdbClient, type Key, type NamespaceInfo } from '../zdb-client/index.js';

/** What the store reads of a backend's namespace (NSINFO): its size and free space. */
export type ShardSpace = Pick<
  NamespaceInfo,
  'entries' | 'dataSizeBytes' | 'dataLimitsBytes' | 'dataDiskFreespaceBytes' | 'indexDiskFreespaceBytes'
>;

/**
 * A backend as the store and repair use it: the calls they make through `BackendPool.run`
 * (and `meta rebuild` through `BackendPool.client`). The zdb client is one (`connectZdb`);
 * `src/testing/memory-backend.ts` is another, with injected latency and faults.
 *
 * A call that fails with `code` 'CONNECTION' (not reached) or 'TIMEOUT' (no answer in time)
 * says the backend is unwell; any other failure is an answer from a healthy backend.
 */
export interface ShardBackend {
  /** Stores a value; what it resolves with is not used. */
  set(key: Key, value: Buffer): Promise<unknown>;
  /** The value, or null when the key is absent. */
  get(key: Key): Promise<Buffer | null>;
  /** Values in the order of `keys`, null for absent ones. */
  mget(keys: readonly Key[]): Promise<(Buffer | null)[]>;
  /** True when the key was deleted, false when it did not exist. */
  del(key: Key): Promise<boolean>;
  /** Whether the stored value still matches the checksum taken when it was written; null when absent. */
  check(key: Key): Promise<boolean | null>;
  nsinfo(namespace: string): Promise<ShardSpace>;
  /** Every key stored. */
  scanAll(): AsyncIterable<{ key: Buffer }>;
  /** Lets calls under way finish, then lets go of the backend. */
  close(): Promise<void>;
  /** Fails calls under way and lets go of the backend at once. */
  destroy(): void;
}

/** What a connector is told: the pool's settings for every backend. */
export interface ShardConnectOptions {
  /** Connections per backend. */
  connections: number;
  /** A call slower than this fails with TIMEOUT. */
  requestTimeoutMs: number;
}

/** Makes the ShardBackend a BackendPool uses for a backend. */
export type ShardConnector = (backend: Backend, options: ShardConnectOptions) => ShardBackend;

/** The production connector: a pooled zdb client to the backend's namespace, over its unix socket when it has one. */
export const connectZdb: ShardConnector = (b, o) =>
  new ZdbClient({
    ...(b.socket !== undefined ? { path: b.socket } : { host: b.host, port: b.port }),
    namespace: b.namespace,
    namespacePassword: b.password,
    connections: o.connections,
    requestTimeoutMs: o.requestTimeoutMs,
    connectTimeoutMs: Math.min(o.requestTimeoutMs, 5000),
    reconnectMaxDelayMs: 2000,
  });

/** 'TIMEOUT' or 'CONNECTION' when an error says the backend is unwell, null when it is an answer. */
export function backendFault(e: unknown): 'TIMEOUT' | 'CONNECTION' | null {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'TIMEOUT' || code === 'CONNECTION' ? code : null;
}
