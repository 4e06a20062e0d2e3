import fs from 'node:fs';
import { ConfigError, parseConfig } from './config.js';
import { Engine } from './engine/engine.js';
import { ZdbServer } from './server/server.js';

const COMPACT_CHECK_MS = 10_000;

function explicitPort(argv: string[]): boolean {
  return argv.some((a) => a === '--port' || a.startsWith('--port='));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let config;
  try {
    config = parseConfig(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(e instanceof ConfigError && argv.includes('--help') ? 0 : 1);
  }
  const logStream = config.logfile ? fs.createWriteStream(config.logfile, { flags: 'a', mode: 0o600 }) : process.stderr;
  const log = (message: string): void => {
    logStream.write(`[${new Date().toISOString()}] ${message}\n`);
  };
  const engine = new Engine({
    dataDir: config.data,
    indexDir: config.index,
    mode: config.mode,
    datasize: config.datasize,
    defaultMaxsize: config.maxsize,
    defaultPassword: config.protect ? config.admin : '',
  });
  const reports = engine.open();
  for (const [name, r] of reports) {
    if (r.recovered > 0 || r.truncatedBytes > 0) log(`namespace ${name}: recovered ${r.recovered} entries, cut ${r.truncatedBytes} torn bytes`);
  }
  const server = new ZdbServer(engine, { adminPassword: config.admin, sync: config.sync, compactRatio: config.compactRatio }, log);
  const tcp = config.socket === null || config.dualnet || explicitPort(argv);
  await server.listen({ host: config.listen, port: tcp ? config.port : undefined, socketPath: config.socket ?? undefined });
  log(`zdb ready: ${tcp ? `tcp ${config.listen}:${config.port}` : ''}${config.socket ? ` unix ${config.socket}` : ''}, ${engine.namespaces.size} namespaces, sync ${config.sync ? 'on' : 'off'}`);

  const timers: NodeJS.Timeout[] = [];
  if (config.synctime > 0) timers.push(setInterval(() => engine.commit.background(), config.synctime * 1000));
  if (config.compactRatio > 0) timers.push(setInterval(() => void server.autoCompact(), COMPACT_CHECK_MS));
  const stop = (): void => {
    for (const t of timers) clearInterval(t);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
