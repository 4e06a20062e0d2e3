import type { Chunks } from '../../src/resp/encode.js';
import type { Engine } from '../engine/engine.js';
import type { Namespace } from '../engine/namespace.js';
import type { AuthGuard } from './auth-guard.js';

/** What a connection knows about its peer. */
export interface ClientState {
  id: number;
  /** Peer address ("local" on the unix socket): failed password checks are paced per source. */
  source: string;
  /** Name of the selected namespace; null once it was deleted under us. */
  namespace: string | null;
  /** False when a public namespace with a password was selected without it. */
  writable: boolean;
  admin: boolean;
  /** Challenge handed out by AUTH SECURE CHALLENGE, single use. */
  nonce: string | null;
}

export interface ServerSettings {
  adminPassword: string;
  /** --protect: the default namespace needs the admin password to be written. */
  protect: boolean;
  sync: boolean;
  /** Start automatic compaction past this fraction of garbage in a data file (0: never). */
  compactRatio: number;
  /** Log every connection. */
  verbose: boolean;
  /** Connections served at once; one more is answered an error and closed. */
  maxConnections: number;
  /** A request begun must be complete within this long, or the client gets an error and is closed. */
  requestTimeoutMs: number;
}

export interface ServerStats {
  clientsLifetime: number;
  commandsExecuted: number;
  commandsFailed: number;
  commandsUnauthorized: number;
  networkRx: number;
  networkTx: number;
  bootTime: number;
}

/** Services a command handler may use; the server provides them. */
export interface ServerServices {
  engine: Engine;
  settings: ServerSettings;
  stats: ServerStats;
  authGuard: AuthGuard;
  /** Clients that selected a namespace (NSDEL detaches them). */
  clientsOn(namespace: string): ClientState[];
  /** Park the caller until another client runs `command` (or any, for '*') on its namespace. */
  wait(client: ClientState, command: string, timeoutMs: number): Promise<Chunks>;
  compact(ns: Namespace): Promise<number>;
}

export interface CommandContext {
  server: ServerServices;
  client: ClientState;
  /** Arguments, the command name first. */
  args: Buffer[];
  /** Set by a handler whose reply must wait until its writes are on disk. */
  durable: boolean;
}

export type Reply = Chunks | Promise<Chunks>;

export type Handler = (ctx: CommandContext) => Reply;

export interface CommandSpec {
  name: string;
  handler: Handler;
}
