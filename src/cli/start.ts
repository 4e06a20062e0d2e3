import { parseArgs } from 'node:util';
import { DEFAULT_MAINTENANCE, Maintenance } from '../repair/maintenance.js';
import { startLocalBackends, stopLocalBackends } from './backends.js';
import { openStore, readStoreConfig, writeStoreConfig, type StoreConfig } from './local-store.js';
import fs from 'node:fs';
import path from 'node:path';

/** `qstor start`: the all-in-one store on local disk. */
export async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './qstor-data' },
      backends: { type: 'string', default: '6' },
      'backend-port': { type: 'string', default: '9900' },
      'data-shards': { type: 'string', default: '4' },
      'parity-shards': { type: 'string', default: '2' },
    },
  });
  const dir = values.data;
  const count = Number(values.backends);
  const firstPort = Number(values['backend-port']);
  const k = Number(values['data-shards']);
  const m = Number(values['parity-shards']);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error('--backends must be between 1 and 64');
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + count > 65535) throw new Error('--backend-port is out of range');
  if (!Number.isInteger(k) || k < 1 || k > 16) throw new Error('--data-shards must be between 1 and 16');
  if (!Number.isInteger(m) || m < 0 || m > 8) throw new Error('--parity-shards must be between 0 and 8');

  // A second start on the same directory finds everything again: the geometry it was made with wins.
  let config: StoreConfig;
  if (fs.existsSync(path.join(dir, 'store.json'))) {
    config = readStoreConfig(dir);
  } else {
    config = {
      dataShards: k,
      parityShards: m,
      backends: Array.from({ length: count }, (_, i) => ({ id: `local-${i}`, farm: 'local', node: `disk-${i}`, address: `127.0.0.1:${firstPort + i}`, namespace: 'default' })),
    };
    writeStoreConfig(dir, config);
  }
  const ports = config.backends.map((b) => Number(b.address.split(':').pop()));
  const backends = await startLocalBackends(dir, ports.length, ports[0]!);
  const opened = await openStore(dir);
  const orphans = opened.meta.recoverPendingWrites();
  const log = (message: string): void => void process.stdout.write(`[${new Date().toISOString()}] ${message}\n`);
  if (orphans > 0) log(`${orphans} shards of interrupted writes queued for deletion`);
  await opened.backends.refresh();
  const maintenance = new Maintenance(opened, { ...DEFAULT_MAINTENANCE, log });
  maintenance.start();

  process.stdout.write(`qstor: store ready in ${dir} (${config.dataShards}+${config.parityShards} over ${ports.length} zdb backends)\n`);
  for (const b of backends) process.stdout.write(`  zdb 127.0.0.1:${b.port}\n`);
  process.stdout.write('Ctrl-C stops it.\n');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    maintenance.stop();
    void opened
      .close()
      .then(() => stopLocalBackends(backends))
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
