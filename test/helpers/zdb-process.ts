/**
 * Starts a zdb server process for a test: 0-db's C binary or ours (`bin/zdb.js`, run with this
 * Node), on a free port with temporary data and index directories; ready once it answers PING.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface StartZdbOptions {
  /** The server: an executable, or a .js/.mjs file run with the current Node. */
  bin: string;
  /** Extra flags (`--mode seq`, `--admin pw`, ...); listen/port/data/index are added. */
  args?: string[];
  /** Keep using these directories (restart tests); temporary ones otherwise, removed on stop. */
  dataDir?: string;
  indexDir?: string;
  /** Fixed port (restart tests); a free one otherwise. */
  port?: number;
  /** Listen on a unix socket (`--socket`) in the temporary directory instead of TCP. */
  unixSocket?: boolean;
  /** How long the server has to answer PING. Default 15 s. */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ZdbProcess {
  host: string;
  /** 0 when listening on a unix socket. */
  port: number;
  /** Unix socket path, when `unixSocket` was asked. */
  socketPath?: string;
  dataDir: string;
  indexDir: string;
  pid: number;
  /** stdout and stderr so far (the last 256 KiB), for failure messages. */
  output(): string;
  /** Sends a signal without waiting (crash tests); stop() still cleans up. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops the server (SIGTERM, SIGKILL after 5 s); removes the directories it created unless `keepDirs`. */
  stop(options?: { keepDirs?: boolean }): Promise<void>;
  /** Stops it and starts it again on the same port (or socket) and directories. */
  restart(): Promise<ZdbProcess>;
}

const HOST = '127.0.0.1';
const OUTPUT_LIMIT = 256 * 1024;

// Servers still running when the test process exits (a crashed suite) are killed with it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startZdb(options: StartZdbOptions): Promise<ZdbProcess> {
  // A port found free can be taken before the server binds it: try again with another.
  const attempts = options.port === undefined && !options.unixSocket ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, await mkdtemp(path.join(os.tmpdir(), 'zdb-test-')));
    } catch (err) {
      if (attempt >= attempts || !(err instanceof StartError && err.portInUse)) throw err;
    }
  }
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** `tmp` holds the directories and socket the caller did not name, and goes away on stop. */
async function startOnce(options: StartZdbOptions, tmp: string): Promise<ZdbProcess> {
  const dataDir = options.dataDir ?? path.join(tmp, 'data');
  const indexDir = options.indexDir ?? path.join(tmp, 'index');
  const socketPath = options.unixSocket ? path.join(tmp, 'zdb.sock') : undefined;
  const port = socketPath ? 0 : (options.port ?? (await freePort()));
  const listen = socketPath ? ['--socket', socketPath] : ['--listen', HOST, '--port', String(port)];
  const args = [...listen, '--data', dataDir, '--index', indexDir, ...(options.args ?? [])];
  const isScript = /\.[cm]?js$/.test(options.bin);
  const child = spawn(isScript ? process.execPath : options.bin, isScript ? [options.bin, ...args] : args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A spawn failure (missing binary) arrives as 'error' without 'exit'.
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
    running.delete(child);
  });
  child.once('exit', () => running.delete(child));

  let stopped = false;
  const stop = async (stopOptions: { keepDirs?: boolean } = {}): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null && !spawnError) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    }
    if (!stopOptions.keepDirs) await rm(tmp, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  const target = socketPath ? { path: socketPath } : { host: HOST, port };
  for (;;) {
    const gone = spawnError ?? (child.exitCode !== null || child.signalCode !== null);
    if (gone || Date.now() > deadline) {
      await stop();
      const why = spawnError
        ? `could not start: ${spawnError.message}`
        : gone
          ? `exited (${child.exitCode ?? child.signalCode})`
          : 'did not answer PING in time';
      throw new StartError(
        `zdb ${options.bin} ${args.join(' ')} ${why}\n--- output ---\n${output}`,
        /address already in use|EADDRINUSE/i.test(output),
      );
    }
    if (await answersPing(target)) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host: HOST,
    port,
    socketPath,
    dataDir,
    indexDir,
    pid: child.pid!,
    output: () => output,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    stop,
    restart: async () => {
      await stop({ keepDirs: true });
      return startOnce({ ...options, dataDir, indexDir, port: socketPath ? undefined : port }, tmp);
    },
  };
}

/** Ports this process handed out: the kernel may offer a closed one again at once. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on right now (the kernel picks it), never one this process handed out
 * before: two servers started together given the same port would both pass the PING check, the
 * second answering through the first (a store of 8 zdbs once ran with two on one port).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** One connection, one PING, +PONG within a second. */
function answersPing(target: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(target);
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
