import type net from 'node:net';
import { error, type Chunks } from '../../src/resp/encode.js';
import { RespProtocolError } from '../../src/resp/errors.js';
import { RequestParser } from '../../src/resp/request-parser.js';
import { EngineError } from '../engine/errors.js';
import { CommandError } from './command-error.js';
import type { ClientState, CommandContext, Reply, ServerServices } from './context.js';
import { lookupCommand } from './dispatch.js';

/** Replies are written in batches of about this many bytes (bounds memory under deep pipelines). */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Requests buffered but not yet run: past this, stop reading from the client until they are. */
const READ_PAUSE_BYTES = 32 * 1024 * 1024;
/** After the last reply to a client we refuse, how long it has to close before we drop it. */
const LINGER_MS = 2_000;

export interface ConnectionHost extends ServerServices {
  /** Tell clients parked in WAIT that `command` ran on `client`'s namespace. */
  notify(client: ClientState, command: string): void;
  log(message: string): void;
}

let nextClientId = 1;

/**
 * One client connection: parses pipelined requests, runs them in order, and writes the
 * replies in order. Replies of writes wait for the group commit when the server runs with
 * --sync, so "answered" always means "on disk"; the replies of commands pipelined behind
 * them wait too, which keeps the order.
 */
export class Connection {
  readonly state: ClientState;
  private readonly parser = new RequestParser();
  private busy = false;
  private closing = false;
  /** Requests parsed so far, so the partial-request deadline can tell progress from a stall. */
  private parsed = 0;
  private partialTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
  ) {
    this.state = {
      id: nextClientId++,
      source: socket.remoteAddress ?? 'local',
      namespace: 'default',
      writable: true,
      admin: false,
      nonce: null,
    };
    this.state.admin = host.settings.adminPassword === '';
    // As 0-db: with --protect a client starts on `default` read-only until it SELECTs with the password.
    this.state.writable = !host.settings.protect;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      host.stats.networkRx += chunk.length;
      // Refused: nothing it sends from now on is read into memory.
      if (this.closing) return;
      this.parser.push(chunk);
      // A client pipelining faster than we store must not fill our memory.
      if (this.parser.buffered > READ_PAUSE_BYTES) socket.pause();
      // A large value arrives in ~64 KiB reads: none completes a request until the last, so
      // running the (async) drain on each was work for nothing. All buffered bytes then belong
      // to the unfinished request, fewer than the pause threshold: a paused socket cannot wait here.
      if (this.parser.missingBytes > 0) return;
      void this.drain();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clearPartialTimer());
  }

  /**
   * A request begun must be finished within --request-timeout: it holds up to the request
   * bound in memory, and a client that stops mid-request would hold it for good.
   */
  private watchPartialRequest(): void {
    if (this.closing || !this.parser.pending) return this.clearPartialTimer();
    if (this.partialTimer) return;
    const parsedAtStart = this.parsed;
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      // Progress (a request completed) or a command still running: not a stalled client.
      if (this.parsed !== parsedAtStart || this.busy) return this.watchPartialRequest();
      if (this.closing || !this.parser.pending) return;
      this.refuse();
      void this.write([error('Request timeout')]).then(() => this.hangUp());
    }, this.host.settings.requestTimeoutMs);
    this.partialTimer.unref();
  }

  private clearPartialTimer(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closing) {
        const { out, durable } = await this.runBatch();
        if (out.length === 0) break;
        if (durable && this.host.settings.sync) {
          try {
            await this.host.engine.commit.flush();
          } catch (e) {
            // Never acknowledge what may not be on disk: drop the replies and the client.
            this.host.log(`fsync failed: ${(e as Error).message}`);
            this.socket.destroy();
            return;
          }
        }
        await this.write(out);
        if (this.closing) this.hangUp();
        else if (this.socket.isPaused() && this.parser.buffered <= READ_PAUSE_BYTES) this.socket.resume();
      }
    } finally {
      this.busy = false;
      if (!this.closing && this.socket.isPaused() && this.parser.buffered <= READ_PAUSE_BYTES) this.socket.resume();
      this.watchPartialRequest();
    }
  }

  /** Runs the complete requests that are buffered, up to BATCH_BYTES of replies. */
  private async runBatch(): Promise<{ out: Chunks; durable: boolean }> {
    let out: Chunks = [];
    let bytes = 0;
    let durable = false;
    while (bytes < BATCH_BYTES && !this.closing) {
      let args: Buffer[] | null;
      try {
        args = this.parser.next();
      } catch (e) {
        if (!(e instanceof RespProtocolError)) throw e;
        out.push(error(e.message));
        this.refuse();
        break;
      }
      if (args === null) break;
      this.parsed++;
      const ctx: CommandContext = { server: this.host, client: this.state, args, durable: false };
      const pending = this.execute(ctx);
      let reply: Chunks;
      if (pending instanceof Promise) {
        // A blocking command (WAIT, COMPACT): answer what came before it first.
        if (durable && this.host.settings.sync) await this.host.engine.commit.flush();
        await this.write(out);
        out = [];
        bytes = 0;
        durable = false;
        reply = await pending.catch((e: unknown) => this.failure(e));
      } else {
        reply = pending;
      }
      durable ||= ctx.durable;
      for (const b of reply) {
        out.push(b);
        bytes += b.length;
      }
    }
    return { out, durable };
  }

  /** Stop reading: what was answered so far is sent, then the connection ends. */
  private refuse(): void {
    this.closing = true;
    this.socket.pause();
  }

  /** Ends the connection, and drops it if the peer does not close its side soon. */
  private hangUp(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private execute(ctx: CommandContext): Reply {
    const spec = lookupCommand(ctx.args[0]!);
    const ns = this.state.namespace;
    if (ns === null || !this.host.engine.get(ns)) {
      this.refuse();
      return [error('Your active namespace is not available anymore (probably removed).')];
    }
    if (!spec) {
      this.host.stats.commandsFailed++;
      return [error('Command not supported')];
    }
    this.host.stats.commandsExecuted++;
    try {
      return spec.handler(ctx);
    } catch (e) {
      return this.failure(e);
    } finally {
      this.host.notify(this.state, spec.name);
    }
  }

  private failure(e: unknown): Chunks {
    if (e instanceof CommandError || (e instanceof EngineError && e.code !== 'INVARIANT')) return [error(e.message)];
    this.host.log(`internal error: ${(e as Error).stack ?? String(e)}`);
    return [error('Internal Error')];
  }

  private write(out: Chunks): Promise<void> {
    if (out.length === 0 || this.socket.destroyed) return Promise.resolve();
    let ok = true;
    this.socket.cork();
    for (const b of out) {
      this.host.stats.networkTx += b.length;
      ok = this.socket.write(b);
    }
    this.socket.uncork();
    if (ok) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
