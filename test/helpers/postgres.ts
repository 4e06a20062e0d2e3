/**
 * Starts a real PostgreSQL server for a test: Debian's `postgresql` binaries (installed by the
 * pretest step), `initdb` on a temporary directory and `pg_ctl start` on a free loopback port.
 * PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
 * `postgres` user (`runuser -u postgres --`); otherwise it runs as the current user.
 * Trust authentication on loopback only: the server lives as long as the test and no longer.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './zdb-process.js';

const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser's database. */
  url: string;
  /** A URL for another database on the same server (see createDatabase). */
  urlFor(database: string): string;
  /** A fresh empty database, so that tests sharing one server do not see each other's rows. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast` (connections are cut); the data directory stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

/** Debian's layout: /usr/lib/postgresql/<major>/bin; the newest major installed. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const majors = fs
    .readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length > 0 ? path.join(root, majors[0]!, 'bin') : null;
}

const asRoot = process.getuid?.() === 0;

async function as(command: string, args: string[]): Promise<void> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  await run(file, argv, { timeout: 60_000 });
}

async function ownerIds(): Promise<{ uid: number; gid: number } | null> {
  if (!asRoot) return null;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error('PostgreSQL is not installed: apt-get install postgresql (the pretest step does it as root)');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'qstor-pg-'));
  const owner = await ownerIds();
  if (owner) {
    await chown(tmp, owner.uid, owner.gid);
    await chmod(tmp, 0o700);
  }
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'server.log');
  await as(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const host = '127.0.0.1';
  // Sockets in the temporary directory (not /var/run/postgresql, which may not exist);
  // fsync off: a test server's durability is not under test, its speed is.
  const options = `-p ${port} -c listen_addresses=${host} -k ${tmp} -c fsync=off -c max_connections=200`;
  const start = () =>
    as(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  const stop = () => as(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  await start();
  let running = true;
  const urlFor = (database: string) => `postgres://postgres@${host}:${port}/${database}`;
  const psql = async (sql: string) =>
    run(path.join(bin, 'psql'), [
      '-h',
      host,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ]);
  const server: PostgresServer = {
    host,
    port,
    url: urlFor('postgres'),
    urlFor,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        throw new Error(`database name ${name}: lower-case letters, digits and _ only`);
      await psql(`CREATE DATABASE ${name}`);
      return urlFor(name);
    },
    async stop() {
      if (!running) return;
      await stop();
      running = false;
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    async destroy() {
      if (running) await stop().catch(() => undefined);
      running = false;
      servers.delete(server);
      await rm(tmp, { recursive: true, force: true });
    },
  };
  servers.set(server, [path.join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', 'stop']);
  return server;
}

// Servers still running when the test process exits (a crashed suite) are stopped with it:
// pg_ctl starts the server detached, so it would outlive the test otherwise.
const servers = new Map<PostgresServer, string[]>();
process.once('exit', () => {
  for (const argv of servers.values()) {
    try {
      const [file, args] = asRoot ? ['runuser', ['-u', 'postgres', '--', ...argv]] : [argv[0]!, argv.slice(1)];
      execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Already stopped.
    }
  }
});
