import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MetaStore } from '../meta/meta-store.js';
import { PostgresMetaStore } from '../meta/postgres/postgres-meta-store.js';
import { SqliteMetaStore } from '../meta/sqlite/sqlite-meta-store.js';
import type { MetadataConfig } from '../config/gateway-config.js';
import { checkMasterKey, keyCheckValue, loadOrCreateMasterKey } from '../pipeline/keys.js';
import { PipelinePool } from '../pipeline/pool.js';
import type { Backend } from '../placement/backend.js';
import { parseBackendConfig } from '../placement/config.js';
import { BackendPool, type BackendPoolOptions } from '../store/backend-pool.js';
import { ObjectStore } from '../store/object-store.js';
import { poolBackend } from '../cluster/discovery.js';
import { parseStoreConfig, type StoreConfig } from '../config/store-config.js';
import { CodedError } from '../util/coded-error.js';

/** A directory that is not a store's data directory. */
export class StoreSetupError extends CodedError<'NOT_A_DATA_DIR'> {
  constructor(message: string) {
    super('NOT_A_DATA_DIR', message);
  }
}

export function layout(dir: string): {
  config: string;
  meta: string;
  masterKey: string;
  keyCheck: string;
  backendSecret: string;
} {
  return {
    config: path.join(dir, 'store.json'),
    meta: path.join(dir, 'meta.db'),
    masterKey: path.join(dir, 'master.key'),
    keyCheck: path.join(dir, 'master.check'),
    backendSecret: path.join(dir, 'backends.secret'),
  };
}

/**
 * The admin secret of the local zdb backends (DIR/backends.secret, 0600), made on the first
 * start that needs it (data directories of older versions get theirs then). The zdbs read it
 * with --admin-file and protect their namespace with it; the store selects the namespace with
 * it. Never on a command line, where any local user reads it in /proc/PID/cmdline.
 */
export function loadOrCreateBackendSecret(dir: string): string {
  const file = layout(dir).backendSecret;
  const existing = readBackendSecret(file);
  if (existing !== undefined) return existing;
  // Written whole under another name, then linked: a crash never leaves a half-written secret.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flush: true });
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.unlinkSync(tmp);
  }
  return readBackendSecret(file)!;
}

/** The secret in `file`, refused when others may read it; undefined when there is none. */
function readBackendSecret(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    if ((fs.fstatSync(fd).mode & 0o077) !== 0) throw new StoreSetupError(`${file} is readable by others: chmod 600 it`);
    const secret = fs.readFileSync(fd, 'utf8').split('\n', 1)[0]!;
    if (!/^[0-9a-f]{64}$/.test(secret)) throw new StoreSetupError(`${file} does not hold a backend secret`);
    return secret;
  } finally {
    fs.closeSync(fd);
  }
}

export function readStoreConfig(dir: string): StoreConfig {
  const file = layout(dir).config;
  if (!fs.existsSync(file))
    throw new StoreSetupError(`${file} not found: is ${dir} a qstor data directory (made by qstor start)?`);
  return parseStoreConfig(JSON.parse(fs.readFileSync(file, 'utf8')), file);
}

export function writeStoreConfig(dir: string, config: StoreConfig): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(layout(dir).config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}

/** The local backends' entries with the secret as their namespace password (none: as they are). */
function withBackendSecret(config: StoreConfig, secret: string | undefined): StoreConfig {
  if (secret === undefined) return config;
  return { ...config, backends: config.backends.map((b) => ({ password: secret, ...b })) };
}

export interface OpenStore {
  store: ObjectStore;
  meta: MetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
  masterKey: Buffer;
  config: StoreConfig;
  close(): Promise<void>;
}

/** The metadata engine: PostgreSQL when configured, else the data directory's sqlite file. */
async function openMeta(sqliteFile: string, metadata: MetadataConfig | null): Promise<MetaStore> {
  if (!metadata) return new SqliteMetaStore(sqliteFile);
  return PostgresMetaStore.open(metadata.url, {
    max: metadata.poolMax,
    statementTimeoutMs: metadata.statementTimeoutMs,
  });
}

/**
 * Refuses a master key other than the one the store was created with (its key check value):
 * recorded in the database a store's gateways share, else in the data directory beside sqlite.
 */
async function checkKey(meta: MetaStore, file: string, masterKey: Buffer): Promise<void> {
  if (meta instanceof PostgresMetaStore)
    return checkMasterKey(masterKey, await meta.claimKeyCheck(keyCheckValue(masterKey)));
  if (fs.existsSync(file)) checkMasterKey(masterKey, fs.readFileSync(file, 'utf8').trim());
  else fs.writeFileSync(file, keyCheckValue(masterKey) + '\n', { mode: 0o600 });
}

/** Runs `fn` on the store of a data directory (as openStore opens it), closing it after. */
export async function withStore(dir: string, fn: (s: OpenStore) => Promise<void>): Promise<void> {
  const s = await openStore(dir);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/**
 * Opens the store of a data directory: its metadata database, its master key (checked
 * against the one the data was written with), a client pool over its backends (those of
 * DIR/store.json, selected with the local backends' secret, or of `config` for a gateway
 * configured by file) and the worker pool. The metadata is DIR/meta.db (sqlite) unless
 * `metadata` names a PostgreSQL database (several gateways share it).
 */
export async function openStore(
  dir: string,
  given?: StoreConfig,
  pool: Partial<BackendPoolOptions> = {},
  metadata: MetadataConfig | null = null,
): Promise<OpenStore> {
  const files = layout(dir);
  const config = given ?? withBackendSecret(readStoreConfig(dir), readBackendSecret(files.backendSecret));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { key: masterKey } = await loadOrCreateMasterKey(files.masterKey);
  // A gateway with a registry may start with no fixed backend: they come from the nodes.
  const list: Backend[] = config.backends.length === 0 ? [] : parseBackendConfig(config, files.config);
  const meta = await openMeta(files.meta, metadata);
  try {
    await checkKey(meta, files.keyCheck, masterKey);
  } catch (e) {
    await meta.close();
    throw e;
  }
  const backends = new BackendPool(list, pool);
  // Namespaces reserved on the nodes of a registry (src/cluster) join the fixed backends.
  for (const b of await meta.listBackends()) if (!backends.get(b.id)) backends.add(poolBackend(b, masterKey));
  const pipeline = new PipelinePool();
  const store = new ObjectStore({
    meta,
    backends,
    pipeline,
    masterKey,
    dataShards: config.dataShards,
    parityShards: config.parityShards,
    writeQuorum: config.writeQuorum,
  });
  return {
    store,
    meta,
    backends,
    pipeline,
    masterKey,
    config,
    async close() {
      await backends.close();
      await pipeline.close();
      await meta.close();
    },
  };
}
