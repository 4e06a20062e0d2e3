import fs from 'node:fs';
import { parseBackendConfig } from '../placement/config.js';
import { CodedError } from '../util/coded-error.js';
import type { StoreConfig } from './store-config.js';

/** `qstor gateway --config FILE`: a gateway over backends named in a file. */
export interface GatewayConfig {
  /** Where the gateway keeps its metadata database, master key, credentials and log. */
  data: string;
  listen: string;
  port: number;
  /** `/metrics` and `/health`; no admin server when absent. */
  adminListen: string;
  adminPort: number | null;
  tls: { cert: string; key: string } | null;
  /** A client quiet this long mid-request is cut off; null: the gateway's default (30 s). */
  idleTimeoutSeconds: number | null;
  /** S3 connections open at once, more are refused; null: the gateway's default (512). */
  maxConnections: number | null;
  /**
   * The registry in this process: nodes register and heartbeat here, and the store reserves a
   * namespace on every zdb they report (then `backends` may be left out).
   */
  registry: RegistryConfig | null;
  store: StoreConfig;
}

export interface RegistryConfig {
  listen: string;
  port: number;
  /** A node silent this long is down. */
  downAfterSeconds: number;
  /** maxsize of each namespace the store reserves. */
  namespaceBytes: number;
  /** A backend down this long has lost its shards: repair rebuilds them elsewhere. */
  graceSeconds: number;
}

export class GatewayConfigError extends CodedError<'INVALID_GATEWAY_CONFIG'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_GATEWAY_CONFIG', message, options);
  }
}

/** Reads and validates the file; every error names the field. */
export function loadGatewayConfig(file: string): GatewayConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GatewayConfigError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayConfigError(`${file}: must be a JSON object`);
  const o = doc as Record<string, unknown>;
  const fail = (field: string, what: string): never => {
    throw new GatewayConfigError(`${file}: "${field}" ${what}`);
  };
  const str = (field: string, fallback?: string): string => {
    const v = o[field] ?? fallback;
    if (typeof v !== 'string' || v.length === 0) fail(field, 'must be a non-empty string');
    return v as string;
  };
  const int = (field: string, min: number, max: number, fallback?: number): number => {
    const v = o[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer from ${min} to ${max}`);
    return v as number;
  };
  const known = new Set(['data', 'listen', 'port', 'adminListen', 'adminPort', 'tls', 'dataShards', 'parityShards', 'backends', 'registry', 'idleTimeoutSeconds', 'maxConnections']);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(k, 'is not a known setting');
  let tls: GatewayConfig['tls'] = null;
  if (o['tls'] !== undefined) {
    const t = o['tls'] as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || typeof t['cert'] !== 'string' || typeof t['key'] !== 'string') fail('tls', 'must be { "cert": FILE, "key": FILE }');
    tls = { cert: t['cert'] as string, key: t['key'] as string };
  }
  const registry = o['registry'] === undefined ? null : registrySection(o['registry'], (field, what) => fail(`registry.${field}`, what));
  // With a registry the backends come from the nodes; a list may still name fixed ones.
  const backends = registry && o['backends'] === undefined ? [] : parseBackendConfig(o, file);
  const dataShards = int('dataShards', 1, 16, 4);
  const parityShards = int('parityShards', 0, 8, 2);
  if (!registry && backends.length < dataShards + parityShards) fail('backends', `has ${backends.length} entries: ${dataShards}+${parityShards} needs at least ${dataShards + parityShards}`);
  return {
    data: str('data'),
    listen: str('listen', '127.0.0.1'),
    port: int('port', 0, 65535, 9000),
    adminListen: str('adminListen', '127.0.0.1'),
    adminPort: o['adminPort'] === undefined ? null : int('adminPort', 0, 65535),
    tls,
    idleTimeoutSeconds: o['idleTimeoutSeconds'] === undefined ? null : int('idleTimeoutSeconds', 1, 3600),
    maxConnections: o['maxConnections'] === undefined ? null : int('maxConnections', 1, 1_000_000),
    registry,
    store: {
      dataShards,
      parityShards,
      backends: backends.map((b) => ({ id: b.id, farm: b.farm, node: b.node, address: `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`, namespace: b.namespace, ...(b.password ? { password: b.password } : {}) })),
    },
  };
}

function registrySection(v: unknown, fail: (field: string, what: string) => never): RegistryConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('', 'must be an object');
  const r = v as Record<string, unknown>;
  const known = new Set(['listen', 'port', 'downAfterSeconds', 'namespaceBytes', 'graceSeconds']);
  for (const k of Object.keys(r)) if (!known.has(k)) fail(k, 'is not a known setting');
  const num = (field: string, min: number, max: number, fallback: number, integer = true): number => {
    const x = r[field] ?? fallback;
    if (typeof x !== 'number' || (integer && !Number.isInteger(x)) || x < min || x > max) fail(field, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    return x as number;
  };
  const listen = r['listen'] ?? '127.0.0.1';
  if (typeof listen !== 'string' || listen.length === 0) fail('listen', 'must be a non-empty string');
  return {
    listen: listen as string,
    port: num('port', 0, 65535, 9800),
    downAfterSeconds: num('downAfterSeconds', 0.1, 86_400, 30, false),
    namespaceBytes: num('namespaceBytes', 1 << 20, Number.MAX_SAFE_INTEGER, 100 * 2 ** 30),
    graceSeconds: num('graceSeconds', 0, 30 * 86_400, 15 * 60, false),
  };
}
