import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lowMemoryEnv, ZDB_MAIN } from '../util/programs.js';
import { ZdbClient } from '../zdb-client/index.js';
import { CliError } from './errors.js';

export interface LocalBackend {
  port: number;
  dir: string;
  process: ChildProcess;
}

/**
 * Starts `count` zdb backends on local directories (DIR/backends/<i>/{data,index}), durable
 * (--sync) and compacting online once half a data file is dead (deleted shards), on
 * loopback ports from `firstPort`; resolves once each answers PING.
 */
export async function startLocalBackends(dataDir: string, count: number, firstPort: number): Promise<LocalBackend[]> {
  const backends: LocalBackend[] = [];
  for (let i = 0; i < count; i++) {
    const dir = path.join(dataDir, 'backends', String(i));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const port = firstPort + i;
    const child = spawn(
      process.execPath,
      [ZDB_MAIN, '--listen', '127.0.0.1', '--port', String(port), '--data', path.join(dir, 'data'), '--index', path.join(dir, 'index'), '--sync', '--compact-ratio', '0.5', '--logfile', path.join(dir, 'zdb.log')],
      { stdio: ['ignore', 'inherit', 'inherit'], env: lowMemoryEnv() },
    );
    backends.push({ port, dir, process: child });
  }
  await Promise.all(backends.map((b) => waitReady(b)));
  return backends;
}

async function waitReady(b: LocalBackend): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (b.process.exitCode !== null) throw new CliError('BACKEND_START', `zdb on port ${b.port} exited with code ${b.process.exitCode} (see ${b.dir}/zdb.log)`);
    const client = new ZdbClient({ port: b.port, connections: 1, connectTimeoutMs: 500, reconnectDelayMs: 60_000 });
    try {
      await client.ping();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new CliError('BACKEND_START', `zdb on port ${b.port} did not answer: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.destroy();
    }
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
