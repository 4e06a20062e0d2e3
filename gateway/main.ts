import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openStore } from '../src/data-dir/local-store.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { LeasedJob, leaseTtl, ORPHANED_WRITES_MS } from '../src/repair/leased-job.js';
import { startClusterLink } from './cluster-link.js';
import { DEFAULT_MAINTENANCE, Maintenance } from '../src/repair/maintenance.js';
import { LifecycleWorker } from '../src/lifecycle/index.js';
import { fileURLToPath } from 'node:url';
import { AdminServer } from './admin-server.js';
import { Console } from './console/index.js';
import { loadGatewayConfig, type GatewayConfig } from '../src/config/gateway-config.js';
import { DEFAULT_DATA_DIR } from '../src/config/store-config.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel } from '../src/config/log-level.js';
import { rootCredentials } from './credentials-file.js';
import { gatewayId, Presence, qstorVersion } from './presence.js';
import { createGateway, type Gateway } from './server.js';
import { createWebsite, type WebsiteOptions } from './website/server.js';
import { StartupError } from './startup-error.js';

/**
 * The gateway daemon: the S3 server over a store, and the store's background maintenance.
 * Either over the data directory of `qstor start` (`--data DIR`, backends in DIR/store.json)
 * or over backends named in a config file (`--config FILE`); HTTPS with `--tls-cert FILE
 * --tls-key FILE` (PEM). The admin port (`/metrics`, `/health` and the web console) comes from
 * `--admin-port N` (0: none; on `--admin-host`, 127.0.0.1 by default) or the config file's
 * `adminPort` (absent: none; 0: any free port). The website endpoint likewise from
 * `--website-port` (`--website-host`, `--website-domain`) or `websitePort` (`websiteListen`,
 * `websiteDomain`). Lines on stdout are for a parent: `credentials <id> <secret>` when new ones
 * were made, `website <port>` when it serves one, then `ready <port>`. Each start is a gateway of
 * its own id (QSTOR_GATEWAY_ID, else random) that heartbeats into the metadata database and takes leases on background work, so
 * that gateways sharing one database split it.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      config: { type: 'string' },
      port: { type: 'string', default: '9000' },
      host: { type: 'string', default: '127.0.0.1' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string', default: '127.0.0.1' },
      'website-port': { type: 'string' },
      'website-host': { type: 'string' },
      'website-domain': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  // Read before anything opens: a bad certificate path fails the start, not the first request.
  const tls = readTls(values['tls-cert'], values['tls-key']);
  const config = values.config ? loadGatewayConfig(values.config) : null;
  const dir = config?.data ?? values.data;
  for (const warning of config?.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
  const opened = config ? await openStore(dir, config.store, {}, config.metadata) : await openStore(dir);
  const logger = pino(
    { level: logLevel(values['log-level'] ?? config?.logLevel ?? DEFAULT_LOG_LEVEL) },
    pino.destination({ dest: path.join(dir, 'gateway.log'), mkdir: true, sync: false }),
  );
  const say = (message: string): void => void process.stdout.write(`${message}\n`);
  const id = gatewayId();
  const s3Port = config?.port ?? Number(values.port);
  const s3Host = config?.listen ?? values.host;
  const presence = new Presence(
    opened.meta,
    { id, address: `${s3Host}:${s3Port}`, version: qstorVersion(), startedAt: Date.now() },
    (m) => logger.warn(m),
  );
  // A row of this id left by a crash (QSTOR_GATEWAY_ID) would make its writes look alive.
  await opened.meta.forgetGateway(id);
  // The data directory's sqlite file is this process's alone (the directory lock keeps any other
  // gateway off it): every leftover write is a crashed predecessor's. A shared database holds
  // other gateways' writes in flight: only those of gateways gone silent are recovered, here
  // and then periodically (Maintenance).
  const exclusive = opened.meta instanceof SqliteMetaStore;
  const orphans = await opened.meta.recoverPendingWrites(exclusive ? undefined : ORPHANED_WRITES_MS);
  if (orphans > 0) logger.info({ orphans }, 'shards of interrupted writes queued for deletion');
  // Before any write: the heartbeat makes this store's pending writes this gateway's.
  await presence.start();
  logger.info({ gateway: id }, 'gateway id');
  const cluster = config?.registry
    ? await startClusterLink(dir, config.registry, opened, logger, id, config.metadata?.url, (line) =>
        say(`qstor: ${line}`),
      )
    : null;
  await opened.backends.refresh();
  const graceMs = config?.registry ? config.registry.graceSeconds * 1000 : DEFAULT_MAINTENANCE.graceMs;
  const maintenance = new Maintenance(opened, {
    ...DEFAULT_MAINTENANCE,
    graceMs,
    gatewayId: id,
    log: (m) => logger.info(m),
  });
  maintenance.start();
  // Its day is QSTOR_LIFECYCLE_DAY_SECONDS when set (tests), else 24 h. Under a lease: with
  // several gateways on one database, one of them walks the buckets.
  const lifecycleWorker = new LifecycleWorker(opened.store, { log: (m) => logger.info(m) });
  const lifecycle = new LeasedJob(opened.meta, {
    name: 'lifecycle',
    holder: id,
    periodMs: lifecycleWorker.checkMs,
    ttlMs: leaseTtl(lifecycleWorker.checkMs),
    run: () => lifecycleWorker.runOnce(),
    log: (m) => logger.warn(m),
  });
  lifecycle.start();
  if (cluster) say(`registry ${cluster.port}`);
  // --admin-port 0 turns the admin server off; in a config file it is off when adminPort is
  // absent, and 0 there asks for any free port (tests).
  const flagPort = values['admin-port'] !== undefined ? portOption('--admin-port', values['admin-port']) : undefined;
  const adminPort = flagPort !== undefined ? (flagPort === 0 ? null : flagPort) : (config?.adminPort ?? null);
  const adminHost =
    values['admin-port'] !== undefined ? values['admin-host'] : (config?.adminListen ?? values['admin-host']);
  const creds = rootCredentials(dir);
  // Made once the S3 port is known (the console's share links name it); counts from then on.
  let admin: AdminServer | null = null;
  if (creds.source === 'created') say(`credentials ${creds.accessKey} ${creds.secretKey}`);
  const shared = {
    store: opened.store,
    meta: opened.meta,
    masterKey: opened.masterKey,
    rootAccessKey: creds.accessKey,
    rootSecretKey: creds.secretKey,
    logger,
  };
  const gateway = createGateway({
    ...shared,
    onRequest: adminPort !== null ? (r) => admin?.record(r) : undefined,
    tls,
    idleTimeoutMs: config?.idleTimeoutSeconds != null ? config.idleTimeoutSeconds * 1000 : undefined,
    maxConnections: config?.maxConnections ?? undefined,
  });
  const port = await gateway.listen(s3Port, s3Host);
  await presence.moveTo(`${s3Host}:${port}`);
  const webConsole = new Console({
    store: opened.store,
    meta: opened.meta,
    backends: opened.backends,
    masterKey: opened.masterKey,
    rootAccessKey: creds.accessKey,
    rootSecretKey: creds.secretKey,
    s3Port: port,
    s3Tls: tls !== undefined,
    // Beside dist/gateway/main.js: dist/console-ui, written by npm run build:console.
    uiDir: fileURLToPath(new URL('../console-ui/', import.meta.url)),
    logger,
    traffic: async () => (admin ? admin.traffic() : null),
    reservationFailures: () => cluster?.reservationFailures() ?? [],
  });
  admin =
    adminPort !== null
      ? new AdminServer({ backends: opened.backends, store: opened.store, meta: opened.meta }, webConsole)
      : null;
  if (admin && adminPort !== null) say(`admin ${await admin.listen(adminPort, adminHost)}`);
  const website = await startWebsite(values, config, shared);
  if (website) say(`website ${website.port}`);
  say(`ready ${port}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.all([
      maintenance.stop(),
      // The worker ends its pass at the next key, then the lease is given up.
      lifecycleWorker.stop().then(() => lifecycle.stop()),
      gateway.close(),
      website?.server.close(),
      admin?.close(),
      cluster?.close(),
    ])
      .then(() => presence.leave())
      .catch((e: unknown) => logger.error({ err: e }, 'shutdown'))
      .then(() => opened.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * The website endpoint when `--website-port N` (N > 0) or the config file's `websitePort` asks for
 * one (flags win); off otherwise. Its host and domain likewise.
 */
async function startWebsite(
  values: { 'website-port'?: string; 'website-host'?: string; 'website-domain'?: string },
  config: GatewayConfig | null,
  shared: Omit<WebsiteOptions, 'domain'>,
): Promise<{ server: Gateway; port: number } | null> {
  const flagPort = values['website-port'] !== undefined ? portOption('--website-port', values['website-port']) : null;
  // As the admin port: 0 turns the flag's off, and asks the file's for any free port (tests).
  if (flagPort === 0) return null;
  const port = flagPort ?? config?.website.port ?? null;
  if (port === null) return null;
  const domain = values['website-domain'] ?? config?.website.domain ?? undefined;
  const server = createWebsite({ ...shared, domain });
  const host = values['website-host'] ?? config?.website.listen ?? '127.0.0.1';
  return { server, port: await server.listen(port, host) };
}

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new StartupError('INVALID_OPTION', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

function portOption(option: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new StartupError('INVALID_OPTION', `${option} must be a port number (0 turns it off)`);
  return port;
}

/** The PEM files of --tls-cert and --tls-key, which come together or not at all. */
function readTls(certFile: string | undefined, keyFile: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new StartupError('INVALID_OPTION', '--tls-cert and --tls-key go together: give both or neither');
  const read = (option: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new StartupError('INVALID_OPTION', `cannot read ${option} ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  return { cert: read('--tls-cert', certFile), key: read('--tls-key', keyFile) };
}

main().catch((e: unknown) => {
  process.stderr.write(`qstor gateway: ${(e as Error).message}\n`);
  process.exit(1);
});
