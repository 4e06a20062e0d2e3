import { arrayHeader, bulk, PONG, type Chunks } from '../../../src/resp/encode.js';
import { DATA_VERSION, INDEX_VERSION } from '../../engine/format.js';
import type { CommandContext, CommandSpec } from '../context.js';

function ping(): Chunks {
  return [PONG];
}

function time(): Chunks {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const usec = (now % 1000) * 1000;
  return [arrayHeader(2), ...bulk(String(sec)), ...bulk(String(usec))];
}

function info(ctx: CommandContext): Chunks {
  const s = ctx.server.stats;
  let reads = 0;
  let writes = 0;
  let readBytes = 0;
  let writeBytes = 0;
  let errors = 0;
  for (const ns of ctx.server.engine.namespaces.values()) {
    reads += ns.stats.reads;
    writes += ns.stats.writes;
    readBytes += ns.stats.readBytes;
    writeBytes += ns.stats.writeBytes;
    errors += ns.stats.errors;
  }
  const mb = (n: number): string => (n / (1024 * 1024)).toFixed(2);
  const now = Math.floor(Date.now() / 1000);
  const lines = [
    '# server',
    'server_name: 0-db (zdb)',
    'server_revision: qstor-zdb 0.1.0',
    'engine_revision: qstor-zdb 0.1.0',
    `instance_id: ${process.pid}`,
    `boot_time: ${s.bootTime}`,
    `uptime: ${now - s.bootTime}`,
    '',
    '# clients',
    `clients_lifetime: ${s.clientsLifetime}`,
    '',
    '# internals',
    'sequential_key_size: 8',
    `data_version: ${DATA_VERSION}`,
    `index_version: ${INDEX_VERSION}`,
    '',
    '# stats',
    `commands_executed: ${s.commandsExecuted}`,
    `commands_failed: ${s.commandsFailed}`,
    `commands_unauthorized: ${s.commandsUnauthorized}`,
    'index_disk_read_failed: 0',
    `index_disk_write_failed: ${errors}`,
    'data_disk_read_failed: 0',
    `data_disk_write_failed: ${errors}`,
    `index_disk_read_bytes: 0`,
    `index_disk_read_mb: 0.00`,
    `index_disk_write_bytes: ${writes * 42}`,
    `index_disk_write_mb: ${mb(writes * 42)}`,
    `data_disk_read_bytes: ${readBytes}`,
    `data_disk_read_mb: ${mb(readBytes)}`,
    `data_disk_write_bytes: ${writeBytes}`,
    `data_disk_write_mb: ${mb(writeBytes)}`,
    `network_rx_bytes: ${s.networkRx}`,
    `network_rx_mb: ${mb(s.networkRx)}`,
    `network_tx_bytes: ${s.networkTx}`,
    `network_tx_mb: ${mb(s.networkTx)}`,
    '',
    `# qstor`,
    `reads: ${reads}`,
    `writes: ${writes}`,
    '',
  ];
  return bulk(lines.join('\n'));
}

export const systemCommands: CommandSpec[] = [
  { name: 'PING', handler: ping },
  { name: 'TIME', handler: time },
  { name: 'INFO', handler: info },
];
