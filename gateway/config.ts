import fs from 'node:fs';
import { parseBackendConfig } from '../src/placement/config.js';
import type { StoreConfig } from '../src/cli/local-store.js';

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
  store: StoreConfig;
}

export class GatewayConfigError extends Error {
  readonly code = 'InvalidGatewayConfig';
}

/** Reads and validates the file; every error names the field. */
export function loadGatewayConfig(file: string): GatewayConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GatewayConfigError(`${file}: ${(e as Error).message}`);
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
  const known = new Set(['data', 'listen', 'port', 'adminListen', 'adminPort', 'tls', 'dataShards', 'parityShards', 'backends']);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(k, 'is not a known setting');
  let tls: GatewayConfig['tls'] = null;
  if (o['tls'] !== undefined) {
    const t = o['tls'] as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || typeof t['cert'] !== 'string' || typeof t['key'] !== 'string') fail('tls', 'must be { "cert": FILE, "key": FILE }');
    tls = { cert: t['cert'] as string, key: t['key'] as string };
  }
  const backends = parseBackendConfig(o, file);
  const dataShards = int('dataShards', 1, 16, 4);
  const parityShards = int('parityShards', 0, 8, 2);
  if (backends.length < dataShards + parityShards) fail('backends', `has ${backends.length} entries: ${dataShards}+${parityShards} needs at least ${dataShards + parityShards}`);
  return {
    data: str('data'),
    listen: str('listen', '127.0.0.1'),
    port: int('port', 0, 65535, 9000),
    adminListen: str('adminListen', '127.0.0.1'),
    adminPort: o['adminPort'] === undefined ? null : int('adminPort', 0, 65535),
    tls,
    store: {
      dataShards,
      parityShards,
      backends: backends.map((b) => ({ id: b.id, farm: b.farm, node: b.node, address: `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`, namespace: b.namespace, ...(b.password ? { password: b.password } : {}) })),
    },
  };
}
