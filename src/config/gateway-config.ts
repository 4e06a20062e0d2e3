import fs from 'node:fs';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../erasure/codec.js';
import { backendList } from '../placement/config.js';
import { CodedError } from '../util/coded-error.js';
import { fields, int, num, oneOf, parseWith, text } from '../util/schema.js';
import { LOG_LEVELS, type LogLevel } from './log-level.js';
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
  /** The static website endpoint (`gateway/website/`); none when `port` is null. */
  website: { listen: string; port: number | null; domain: string | null };
  /** A client quiet this long mid-request is cut off; null: the gateway's default (30 s). */
  idleTimeoutSeconds: number | null;
  /** S3 connections open at once, more are refused; null: the gateway's default (512). */
  maxConnections: number | null;
  /** The gateway log's level (`--log-level` overrides it); null: info. */
  logLevel: LogLevel | null;
  /**
   * The registry in this process: nodes register and heartbeat here, and the store reserves a
   * namespace on every zdb they report (then `backends` may be left out).
   */
  registry: RegistryConfig | null;
  store: StoreConfig;
  /** Where the metadata lives: null, sqlite in `data`; else a PostgreSQL database shared by several gateways. */
  metadata: MetadataConfig | null;
  /** What the operator should hear about the file (said on stderr at start), e.g. a password in a readable file. */
  warnings: string[];
}

export interface MetadataConfig {
  /** `postgres://USER[:PASS]@HOST:PORT/DB`; never logged as is (see redactUrl). */
  url: string;
  /** Connections in the gateway's pool. */
  poolMax: number;
  /** A statement running longer is cancelled (the request fails with 503). */
  statementTimeoutMs: number;
}

/** The environment variable that gives the metadata URL, so that its password need not be in the file. */
export const METADATA_URL_ENV = 'QSTOR_METADATA_URL';

const POSTGRES_URL = /^postgres(ql)?:\/\/[^/]+\/[^/?]+/;
const POSTGRES_URL_FORM = 'must be a URL postgres://USER[:PASS]@HOST:PORT/DB';

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

/** The `registry` section: the defaults apply to a field left out. */
const registrySection = fields({
  listen: text().default('127.0.0.1'),
  port: int(0, 65535).default(9800),
  downAfterSeconds: num(0.1, 86_400).default(30),
  namespaceBytes: int(1 << 20).default(100 * 2 ** 30),
  graceSeconds: num(0, 30 * 86_400).default(15 * 60),
});

/** The file. Shard counts within the erasure codec's limits. */
const gatewayFile = fields({
  data: text(),
  listen: text().default('127.0.0.1'),
  port: int(0, 65535).default(9000),
  adminListen: text().default('127.0.0.1'),
  adminPort: int(0, 65535).optional(),
  tls: fields({ cert: text(), key: text() }).optional(),
  websiteListen: text().default('127.0.0.1'),
  websitePort: int(0, 65535).optional(),
  websiteDomain: text().optional(),
  dataShards: int(1, MAX_DATA_SHARDS).default(4),
  parityShards: int(0, MAX_PARITY_SHARDS).default(2),
  // With a registry the backends come from the nodes; a list may still name fixed ones.
  backends: backendList.optional(),
  registry: registrySection.optional(),
  idleTimeoutSeconds: int(1, 3600).optional(),
  maxConnections: int(1, 1_000_000).optional(),
  logLevel: oneOf(LOG_LEVELS).optional(),
  metadata: text().regex(POSTGRES_URL, POSTGRES_URL_FORM).optional(),
  metadataPool: fields({
    max: int(1, 1000).default(10),
    statementTimeoutMs: int(100, 3_600_000).default(30_000),
  }).optional(),
}).superRefine((c, ctx) => {
  const shards = c.dataShards + c.parityShards;
  if (c.registry) return;
  if (c.backends === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['backends'],
      message: 'missing (must be a non-empty array; or a "registry" section)',
    });
  else if (c.backends.length < shards)
    ctx.addIssue({
      code: 'custom',
      path: ['backends'],
      message: `has ${c.backends.length} entries: ${c.dataShards}+${c.parityShards} needs at least ${shards}`,
    });
});

/**
 * Reads and validates the file; every error names the field. The metadata URL is the file's
 * `metadata`, else QSTOR_METADATA_URL from `env` (a secret kept out of a readable file).
 */
export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GatewayConfigError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  const c = parseWith(gatewayFile, doc, '', (message) => new GatewayConfigError(`${file}: ${message}`));
  const url = c.metadata ?? env[METADATA_URL_ENV];
  if (url !== undefined && !POSTGRES_URL.test(url))
    throw new GatewayConfigError(`${METADATA_URL_ENV}: ${POSTGRES_URL_FORM}`);
  const warnings: string[] = [];
  if (c.metadata !== undefined && urlHasPassword(c.metadata) && (fs.statSync(file).mode & 0o077) !== 0)
    warnings.push(
      `${file} holds the metadata database password and others may read it: chmod 600 it, or give the URL in ${METADATA_URL_ENV}`,
    );
  return {
    data: c.data,
    listen: c.listen,
    port: c.port,
    adminListen: c.adminListen,
    adminPort: c.adminPort ?? null,
    tls: c.tls ?? null,
    website: { listen: c.websiteListen, port: c.websitePort ?? null, domain: c.websiteDomain ?? null },
    idleTimeoutSeconds: c.idleTimeoutSeconds ?? null,
    maxConnections: c.maxConnections ?? null,
    logLevel: c.logLevel ?? null,
    registry: c.registry ?? null,
    store: {
      dataShards: c.dataShards,
      parityShards: c.parityShards,
      backends: (c.backends ?? []).map((b) => ({
        id: b.id,
        farm: b.farm,
        node: b.node,
        address: `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`,
        namespace: b.namespace,
        ...(b.password ? { password: b.password } : {}),
      })),
    },
    metadata:
      url === undefined
        ? null
        : {
            url,
            poolMax: c.metadataPool?.max ?? 10,
            statementTimeoutMs: c.metadataPool?.statementTimeoutMs ?? 30_000,
          },
    warnings,
  };
}

/** Whether a postgres URL carries a password. */
function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}
