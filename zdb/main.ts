import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { ConfigError, parseConfig, type ZdbConfig } from './config.js';
import { Engine } from './engine/engine.js';
import { ZdbServer } from './server/server.js';
import { canDropFromPageCache } from '../src/util/page-cache.js';

const COMPACT_CHECK_MS = 10_000;

function explicitPort(argv: string[]): boolean {
  return argv.some((a) => a === '--port' || a.startsWith('--port='));
}

/**
 * --background, as 0-db: start the same command detached (its output to --logfile) and
 * return once it accepts connections, so a service script can rely on it being up.
 */
async function daemonize(argv: string[], config: ZdbConfig): Promise<never> {
  const args = argv.filter((a) => a !== '--background');
  const out = config.logfile ? fs.openSync(config.logfile, 'a', 0o600) : 'ignore';
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) process.exit(child.exitCode || 1);
    const up = await new Promise<boolean>((resolve) => {
      const s =
        config.socket && !explicitPort(argv)
          ? net.connect(config.socket)
          : net.connect(config.port, config.listen === '::' ? '127.0.0.1' : config.listen);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) {
      process.stdout.write(`zdb running in the background, pid ${child.pid}\n`);
      process.exit(0);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write('zdb did not come up in the background within 30 s\n');
  process.exit(1);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let config;
  try {
    config = parseConfig(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(e instanceof ConfigError && e.code === 'USAGE' ? 0 : 1);
  }
  if (config.background) await daemonize(argv, config);
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
    durable: config.sync || config.synctime > 0,
    evictSynced: config.evictSynced,
  });
  let reports;
  try {
    reports = engine.open();
  } catch (e) {
    // Another zdb on these directories (DIR_LOCKED, with its pid), or files it cannot load.
    process.stderr.write(`zdb: ${(e as Error).message}\n`);
    process.exit(1);
  }
  for (const [name, r] of reports) {
    if (r.recovered > 0 || r.truncatedBytes > 0)
      log(`namespace ${name}: recovered ${r.recovered} entries, cut ${r.truncatedBytes} torn bytes`);
  }
  const server = new ZdbServer(
    engine,
    {
      adminPassword: config.admin,
      protect: config.protect,
      sync: config.sync,
      compactRatio: config.compactRatio,
      verbose: config.verbose,
      maxConnections: config.maxConnections,
      requestTimeoutMs: config.requestTimeout * 1000,
    },
    log,
  );
  const tcp = config.socket === null || config.dualnet || explicitPort(argv);
  await server.listen({
    host: config.listen,
    port: tcp ? config.port : undefined,
    socketPath: config.socket ?? undefined,
  });
  log(
    `zdb ready: ${tcp ? `tcp ${config.listen}:${config.port}` : ''}${config.socket ? ` unix ${config.socket}` : ''}, ${engine.namespaces.size} namespaces, sync ${config.sync ? 'on' : 'off'}`,
  );
  if (config.evictSynced && !canDropFromPageCache())
    log('--evict-synced: posix_fadvise cannot be called on this system; written data stays in the page cache');

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
