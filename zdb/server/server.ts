import fs from 'node:fs';
import net from 'node:net';
import { error, simple, type Chunks } from '../../src/resp/encode.js';
import type { Engine } from '../engine/engine.js';
import type { Namespace } from '../engine/namespace.js';
import { compactNamespace } from '../engine/compaction.js';
import { AuthGuard } from './auth-guard.js';
import type { ClientState, ServerSettings, ServerStats } from './context.js';
import { Connection, type ConnectionHost } from './connection.js';

export interface ListenOptions {
  host?: string;
  port?: number;
  socketPath?: string;
}

interface Waiter {
  client: ClientState;
  namespace: string;
  command: string;
  resolve: (reply: Chunks) => void;
  timer: NodeJS.Timeout;
}

/** The zdb daemon: listeners, connections, WAIT bookkeeping and background maintenance. */
export class ZdbServer implements ConnectionHost {
  readonly stats: ServerStats = {
    clientsLifetime: 0,
    commandsExecuted: 0,
    commandsFailed: 0,
    commandsUnauthorized: 0,
    networkRx: 0,
    networkTx: 0,
    bootTime: Math.floor(Date.now() / 1000),
  };
  readonly authGuard = new AuthGuard();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly connections = new Set<Connection>();
  private readonly waiters = new Set<Waiter>();
  private readonly compacting = new Set<string>();

  constructor(
    readonly engine: Engine,
    readonly settings: ServerSettings,
    readonly log: (message: string) => void = () => {},
  ) {}

  async listen(opts: ListenOptions): Promise<void> {
    if (opts.port !== undefined) await this.listenOn((s) => s.listen(opts.port, opts.host ?? '::'));
    if (opts.socketPath !== undefined) {
      fs.rmSync(opts.socketPath, { force: true });
      await this.listenOn((s) => s.listen(opts.socketPath));
    }
  }

  private listenOn(start: (s: net.Server) => void): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
      start(server);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.settings.maxConnections) {
      // Each connection may hold a request of up to the parser's bound: the cap bounds memory.
      socket.on('error', () => socket.destroy());
      socket.end(error('Too many connections'));
      setTimeout(() => socket.destroy(), 1_000).unref();
      return;
    }
    this.stats.clientsLifetime++;
    this.sockets.add(socket);
    const conn = new Connection(socket, this);
    this.connections.add(conn);
    if (this.settings.verbose)
      this.log(`client ${conn.state.id} connected from ${socket.remoteAddress ?? 'unix socket'}`);
    socket.on('close', () => {
      if (this.settings.verbose) this.log(`client ${conn.state.id} disconnected`);
      this.sockets.delete(socket);
      this.connections.delete(conn);
      for (const w of this.waiters) if (w.client === conn.state) this.endWait(w);
    });
  }

  clientsOn(namespace: string): ClientState[] {
    return [...this.connections].map((c) => c.state).filter((s) => s.namespace === namespace);
  }

  wait(client: ClientState, command: string, timeoutMs: number): Promise<Chunks> {
    return new Promise((resolve) => {
      const w: Waiter = {
        client,
        namespace: client.namespace ?? '',
        command,
        resolve,
        timer: setTimeout(() => {
          this.endWait(w);
          resolve([error('Timeout')]);
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  notify(client: ClientState, command: string): void {
    if (this.waiters.size === 0) return;
    for (const w of this.waiters) {
      if (w.client === client || w.namespace !== client.namespace) continue;
      if (w.command !== '*' && w.command !== command) continue;
      this.endWait(w);
      w.resolve([simple(command)]);
    }
  }

  private endWait(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }

  /** Compacts a namespace unless a compaction of it is already running; resolves to bytes freed. */
  async compact(ns: Namespace): Promise<number> {
    if (this.compacting.has(ns.name)) return 0;
    this.compacting.add(ns.name);
    try {
      return await compactNamespace(ns, { minGarbageRatio: 0, log: this.log });
    } finally {
      this.compacting.delete(ns.name);
    }
  }

  /** One pass of automatic compaction over the namespaces past the configured garbage ratio. */
  async autoCompact(): Promise<void> {
    if (this.settings.compactRatio <= 0) return;
    for (const ns of [...this.engine.namespaces.values()]) {
      if (this.compacting.has(ns.name)) continue;
      this.compacting.add(ns.name);
      try {
        await compactNamespace(ns, { minGarbageRatio: this.settings.compactRatio, log: this.log });
      } catch (e) {
        this.log(`compaction of ${ns.name} failed: ${(e as Error).message}`);
      } finally {
        this.compacting.delete(ns.name);
      }
    }
  }

  async close(): Promise<void> {
    for (const w of [...this.waiters]) this.endWait(w);
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await this.engine.commit.flush();
    this.engine.close();
  }
}
