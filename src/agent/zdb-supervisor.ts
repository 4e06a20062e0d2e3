import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { lowMemoryEnv, ZDB_MAIN } from '../util/programs.js';
import { ZdbClient } from '../zdb-client/index.js';
import { AgentError } from './errors.js';
import { localAddressFor } from './network.js';

export interface SupervisedZdbOptions {
  /** The disk's name within the node (`disk0`). */
  name: string;
  /** The disk's directory; the zdb keeps everything under `<disk>/zdb/`. */
  disk: string;
  port: number;
  listen: string;
  log: Logger;
  /** First restart delay, doubled per quick failure up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A zdb that ran this long before dying was healthy: the next restart starts from the first delay again. */
const HEALTHY_RUN_MS = 10_000;
// Generous: a zdb replays its index before it listens, and a node boots its zdbs all at once.
const READY_TIMEOUT_MS = 60_000;

/**
 * One zdb per disk, kept running: durable (`--sync`), its default namespace protected by an
 * admin secret only this agent knows (fresh per agent run, never logged, never on a command
 * line: any local user reads /proc/PID/cmdline, so the zdb reads it from a 0600 file in its
 * 0700 directory, removed when the zdb stops), restarted with
 * exponential backoff when it dies. Data and index stay in the same directories, so a
 * restarted zdb serves everything it held. The pid is kept in `<disk>/zdb/zdb.pid`, so a zdb
 * left behind by a killed agent is stopped before a new one takes its port.
 */
export class SupervisedZdb {
  readonly name: string;
  readonly port: number;
  /** Admin connection (NSNEW/NSSET/NSDEL/NSINFO); reconnects by itself after a restart. */
  readonly admin: ZdbClient;
  private readonly dir: string;
  private readonly secret = crypto.randomBytes(24).toString('hex');
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SupervisedZdbOptions) {
    this.name = o.name;
    this.port = o.port;
    this.dir = path.join(o.disk, 'zdb');
    this.admin = new ZdbClient({
      host: localAddressFor(o.listen),
      port: o.port,
      adminPassword: this.secret,
      connections: 1,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 5000,
      reconnectDelayMs: 100,
      reconnectMaxDelayMs: 1000,
    });
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Starts the zdb and resolves once it answers PING. */
  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await this.stopLeftover();
    this.spawn();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      try {
        await this.admin.ping();
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new AgentError(
            'UNAVAILABLE',
            `zdb ${this.name} on port ${this.port} did not answer (see ${this.dir}/zdb.log): ${(err as Error).message}`,
            { cause: err },
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.admin.destroy();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    fs.rmSync(this.pidFile, { force: true });
    fs.rmSync(this.secretFile, { force: true });
  }

  private get pidFile(): string {
    return path.join(this.dir, 'zdb.pid');
  }

  private get secretFile(): string {
    return path.join(this.dir, 'admin.secret');
  }

  /** The secret in a fresh 0600 file: unlinked first, so a file left with a looser mode is never reused. */
  private writeSecretFile(): void {
    fs.rmSync(this.secretFile, { force: true });
    fs.writeFileSync(this.secretFile, `${this.secret}\n`, { mode: 0o600, flag: 'wx' });
  }

  private spawn(): void {
    this.writeSecretFile();
    const args = [
      '--listen',
      this.o.listen,
      '--port',
      String(this.port),
      '--data',
      path.join(this.dir, 'data'),
      '--index',
      path.join(this.dir, 'index'),
      '--sync',
      '--evict-synced',
      '--protect',
      '--admin-file',
      this.secretFile,
      '--logfile',
      path.join(this.dir, 'zdb.log'),
    ];
    const child = spawn(process.execPath, [ZDB_MAIN, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: lowMemoryEnv(),
    });
    const started = Date.now();
    this.child = child;
    if (child.pid !== undefined) fs.writeFileSync(this.pidFile, String(child.pid), { mode: 0o600 });
    this.o.log.info({ disk: this.name, port: this.port, pid: child.pid }, 'zdb started');
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.failures = Date.now() - started > HEALTHY_RUN_MS ? 1 : this.failures + 1;
      const delay = Math.min(this.o.maxBackoffMs ?? 30_000, (this.o.backoffMs ?? 250) * 2 ** (this.failures - 1));
      this.o.log.warn({ disk: this.name, port: this.port, code, signal, restartInMs: delay }, 'zdb exited; restarting');
      this.restartTimer = setTimeout(() => this.spawn(), delay);
    });
  }

  /** A zdb of this disk still running from a previous agent (killed with SIGKILL) holds the port: stop it. */
  private async stopLeftover(): Promise<void> {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.pidFile, 'utf8'));
    } catch {
      return;
    }
    const isOurZdb = () => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes(ZDB_MAIN) && cmd.includes(path.join(this.dir, 'data'));
      } catch {
        return false;
      }
    };
    if (!Number.isSafeInteger(pid) || pid <= 0 || !isOurZdb()) return;
    this.o.log.warn({ disk: this.name, pid }, 'stopping a zdb left by a previous agent');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isOurZdb(); i++) await new Promise((r) => setTimeout(r, 50));
    if (isOurZdb()) process.kill(pid, 'SIGKILL');
  }
}
