import path from 'node:path';
import type { Logger } from 'pino';
import { createRegistryServer, loadOrCreateIdentity, loadOrCreateTokenFile, Signer } from '../src/agent/index.js';
import type { OpenStore } from '../src/data-dir/local-store.js';
import { layout } from '../src/data-dir/local-store.js';
import { Discovery, type ReservationFailure } from '../src/cluster/discovery.js';
import { failureLine, writeReservationFailures } from '../src/cluster/reservation-report.js';
import type { RegistryConfig } from '../src/config/gateway-config.js';
import { LeasedJob, leaseTtl } from '../src/repair/leased-job.js';

/** How often the registry's view is applied to the backend pool. */
const SYNC_MS = 2000;

/**
 * The registry served by this gateway (over its metadata database) and the store's link to
 * it: the namespaces reserved earlier join the pool at once, new nodes' zdbs get one reserved
 * as they appear, silent nodes are held down. The operator's token is DIR/registry-admin.token,
 * the registry's signing key DIR/registry.key (it signs the grants agents check) and the store's
 * identity DIR/store.key (all 0600, made on first start, never printed). The store's public key
 * is logged: each farmer admits it (`qstor admin farm admit --store KEY`) before its nodes serve it.
 * Gateways sharing the metadata all apply the registry's view to their pools; only the holder
 * of the `registry-reserve` lease reserves namespaces on new zdbs (two would reserve two each).
 * That one tells each reservation that fails (`tell`: one line for the operator, on stdout) and
 * keeps the list in DIR/reservation-failures.json for `qstor admin status`.
 */
export async function startClusterLink(
  dir: string,
  config: RegistryConfig,
  opened: OpenStore,
  logger: Logger,
  gatewayId: string,
  metadataUrl: string | undefined,
  tell: (line: string) => void,
): Promise<{ port: number; reservationFailures(): ReservationFailure[]; close(): Promise<void> }> {
  const server = await createRegistryServer({
    // The registry's tables live beside the metadata: in PostgreSQL when the gateways share one
    // (any gateway serves the same farms and nodes), else in the data directory's sqlite file.
    dbPath: layout(dir).meta,
    ...(metadataUrl ? { metadataUrl } : {}),
    identityFile: path.join(dir, 'registry.key'),
    adminToken: loadOrCreateTokenFile(path.join(dir, 'registry-admin.token')),
    downAfterMs: config.downAfterSeconds * 1000,
    logger: logger.child({ component: 'registry' }),
  });
  const signer = new Signer(loadOrCreateIdentity(path.join(dir, 'store.key')));
  logger.info(
    { store: signer.id, registryKey: server.registry.key },
    'store identity: farmers admit this key for storage on their farms',
  );
  const discovery = new Discovery({
    registry: server.registry,
    pool: opened.backends,
    meta: opened.meta,
    masterKey: opened.masterKey,
    signer,
    namespaceBytes: config.namespaceBytes,
    log: (m) => logger.info(m),
  });
  const port = await server.listen(config.port, config.listen);
  // Each failing zdb's reason as last told: a failure is told once, not at every retry. Null:
  // nothing written yet (the first pass replaces the file an earlier run left).
  let told: Map<string, string> | null = null;
  const reserve = async (): Promise<void> => {
    await discovery.sync(Date.now(), { reserve: true });
    const failures = discovery.failures();
    const now = new Map(failures.map((f) => [f.backend, f.reason]));
    const before = told;
    if (before && now.size === before.size && [...now].every(([id, reason]) => before.get(id) === reason)) return;
    for (const f of failures) if (before?.get(f.backend) !== f.reason) tell(failureLine(f));
    told = now;
    writeReservationFailures(dir, failures);
  };
  const sync = new LeasedJob(opened.meta, {
    name: 'registry-reserve',
    holder: gatewayId,
    periodMs: SYNC_MS,
    ttlMs: leaseTtl(SYNC_MS),
    run: reserve,
    otherwise: () => discovery.sync(Date.now(), { reserve: false }),
    log: (m) => logger.error(`registry sync: ${m}`),
  });
  void sync.tick();
  sync.start();
  return {
    port,
    reservationFailures: () => discovery.failures(),
    async close() {
      await sync.stop();
      await server.close();
    },
  };
}
