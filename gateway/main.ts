import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openStore } from '../src/cli/local-store.js';
import { DEFAULT_MAINTENANCE, Maintenance } from '../src/repair/maintenance.js';
import { rootCredentials } from './credentials-file.js';
import { createGateway } from './server.js';

/**
 * The gateway daemon of a data directory (what `qstor start` runs beside its zdb backends):
 * the S3 server, and the store's background maintenance. Lines on stdout are for the
 * parent: `credentials <id> <secret>` when new ones were made, then `ready <port>`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: './qstor-data' },
      port: { type: 'string', default: '9000' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const dir = values.data;
  const opened = await openStore(dir);
  const logger = pino({ level: 'info' }, pino.destination({ dest: path.join(dir, 'gateway.log'), mkdir: true, sync: false }));
  const say = (message: string): void => void process.stdout.write(`${message}\n`);
  const orphans = opened.meta.recoverPendingWrites();
  if (orphans > 0) logger.info({ orphans }, 'shards of interrupted writes queued for deletion');
  await opened.backends.refresh();
  const maintenance = new Maintenance(opened, { ...DEFAULT_MAINTENANCE, log: (m) => logger.info(m) });
  maintenance.start();
  const creds = rootCredentials(dir);
  if (creds.source === 'created') say(`credentials ${creds.accessKey} ${creds.secretKey}`);
  const gateway = createGateway({
    store: opened.store,
    meta: opened.meta,
    masterKey: opened.masterKey,
    rootAccessKey: creds.accessKey,
    rootSecretKey: creds.secretKey,
    logger,
  });
  const port = await gateway.listen(Number(values.port), values.host);
  say(`ready ${port}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    maintenance.stop();
    void gateway
      .close()
      .then(() => opened.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`qstor gateway: ${(e as Error).message}\n`);
  process.exit(1);
});
