import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CodedError } from '../util/coded-error.js';
import { ZDB_MAIN } from '../util/programs.js';
import { dataPathEnv } from '../util/data-path-env.js';
import { secureHash, ZdbClient, ZdbError } from '../zdb-client/index.js';
import { layout, loadOrCreateBackendSecret } from '../data-dir/local-store.js';

export interface LocalBackend {
  port: number;
  dir: string;
  /** The unix socket it listens on besides TCP (absolute), or null when the path is too long for one. */
  socket: string | null;
  process: ChildProcess;
  /** The backends' admin secret, which selects their protected `default` namespace. */
  password: string;
}

export class BackendStartError extends CodedError<'BACKEND_EXITED' | 'PORT_TAKEN' | 'NO_ANSWER'> {}

/**
 * Starts `count` zdb backends on local directories (DIR/backends/<i>/{data,index}), durable
 * (--sync) and compacting online once half a data file is dead (deleted shards), on
 * loopback ports from `firstPort` and on a unix socket each (DIR/backends/<i>/zdb.sock, in a
 * 0700 directory: only this user reaches it), protected by the data directory's backend secret (read
 * from its file: never on a command line). Resolves once each answers as the child we
 * started; otherwise stops them all and throws.
 */
export async function startLocalBackends(dataDir: string, count: number, firstPort: number): Promise<LocalBackend[]> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = loadOrCreateBackendSecret(dataDir);
  const backends: LocalBackend[] = [];
  for (let i = 0; i < count; i++) {
    const dir = path.join(dataDir, 'backends', String(i));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const port = firstPort + i;
    const socket = socketPath(dir);
    const child = spawn(
      process.execPath,
      [
        ZDB_MAIN,
        ...[
          '--listen',
          '127.0.0.1',
          '--port',
          String(port),
          '--data',
          path.join(dir, 'data'),
          '--index',
          path.join(dir, 'index'),
        ],
        ...(socket !== null ? ['--socket', socket] : []),
        ...['--sync', '--compact-ratio', '0.5', '--logfile', path.join(dir, 'zdb.log')],
        ...['--admin-file', layout(dataDir).backendSecret, '--protect'],
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], env: dataPathEnv() },
    );
    backends.push({ port, dir, process: child, socket, password: secret });
  }
  // Every answer awaited, then the lowest port's refusal reported: the same message whichever
  // zdb answers first on a busy machine.
  const refused = (await Promise.allSettled(backends.map((b) => waitOwnBackend(b, secret)))).find(
    (r) => r.status === 'rejected',
  );
  if (refused) {
    await stopLocalBackends(backends);
    throw refused.reason;
  }
  return backends;
}

/** A unix socket's path is at most 107 bytes (sun_path): a deeper data directory keeps TCP only. */
const MAX_SOCKET_PATH = 107;

function socketPath(backendDir: string): string | null {
  const file = path.resolve(backendDir, 'zdb.sock');
  return Buffer.byteLength(file) <= MAX_SOCKET_PATH ? file : null;
}

/**
 * Waits until the zdb on `b.port` answers, and proves it is `b.process`: it accepts the secret
 * as admin (another store's zdb, or one without a secret, refuses it) and its INFO instance id
 * is our child's pid (a leftover zdb of this same store knows the secret too). A child that
 * exits first fails at once: its port was taken or its directories are in use.
 */
async function waitOwnBackend(b: LocalBackend, secret: string): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    const fail = (): void =>
      reject(
        new BackendStartError(
          'BACKEND_EXITED',
          `zdb on port ${b.port} exited at start-up (code ${b.process.exitCode ?? b.process.signalCode}; see ${b.dir}/zdb.log)${portHint(b)}`,
        ),
      );
    if (b.process.exitCode !== null || b.process.signalCode !== null) fail();
    else b.process.once('exit', fail);
  });
  exited.catch(() => {}); // observed through the race below
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await Promise.race([probe(b.port, secret), exited]);
    // 'down' again right after answering: a zdb starved on a busy machine; asked again below.
    const pid = answer === 'ours' ? await Promise.race([instanceId(b.port, secret), exited]) : 'down';
    if (pid === b.process.pid) return;
    if (pid !== 'down') {
      throw new BackendStartError(
        'PORT_TAKEN',
        `port ${b.port} is answered by another zdb (pid ${pid}), not the one this store started${portHint(b)}`,
      );
    }
    if (answer === 'foreign')
      throw new BackendStartError(
        'PORT_TAKEN',
        `port ${b.port} is answered by a zdb that is not this store's: another store or program uses it${portHint(b)}`,
      );
    if (Date.now() > deadline)
      throw new BackendStartError(
        'NO_ANSWER',
        `zdb on port ${b.port} did not answer within 15 s (see ${b.dir}/zdb.log)`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portHint(b: LocalBackend): string {
  return `; if port ${b.port} is taken, give this store other ports with --backend-port`;
}

/** 'ours' when the server takes the secret as admin, 'foreign' when it refuses it, 'down' when nothing answers. */
async function probe(port: number, secret: string): Promise<'ours' | 'foreign' | 'down'> {
  const client = new ZdbClient({
    port,
    connections: 1,
    connectTimeoutMs: 500,
    requestTimeoutMs: 2000,
    reconnectDelayMs: 60_000,
  });
  try {
    const nonce = await client.command(['AUTH', 'SECURE', 'CHALLENGE']);
    await client.command(['AUTH', 'SECURE', secureHash(String(nonce), secret)]);
    return 'ours';
  } catch (e) {
    return e instanceof ZdbError && e.code !== 'CONNECTION' && e.code !== 'TIMEOUT' ? 'foreign' : 'down';
  } finally {
    client.destroy();
  }
}

/** The `instance_id` a zdb's INFO reports (its pid), read as admin; 'down' when it does not answer in time. */
async function instanceId(port: number, secret: string): Promise<number | null | 'down'> {
  const client = new ZdbClient({
    port,
    connections: 1,
    adminPassword: secret,
    connectTimeoutMs: 500,
    requestTimeoutMs: 2000,
    reconnectDelayMs: 60_000,
  });
  try {
    const info = String(await client.command(['INFO']));
    const m = /^instance_id: (\d+)$/m.exec(info);
    return m ? Number(m[1]) : null;
  } catch (e) {
    if (e instanceof ZdbError && (e.code === 'CONNECTION' || e.code === 'TIMEOUT')) return 'down';
    throw e;
  } finally {
    client.destroy();
  }
}

export async function stopLocalBackends(backends: LocalBackend[]): Promise<void> {
  await Promise.all(
    backends.map(
      (b) =>
        new Promise<void>((resolve) => {
          if (b.process.exitCode !== null || b.process.signalCode !== null) return resolve();
          b.process.once('exit', () => resolve());
          b.process.kill('SIGTERM');
        }),
    ),
  );
}
