/**
 * Real registry and agent processes for the agent suites: `node bin/qstor.js registry` and
 * `node bin/qstor.js agent --config FILE` (run from dist/: build first), each on free ports
 * with its output appended to a log file the tests can grep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Right } from '../../src/agent/grants.js';
import { identityFromSeed } from '../../src/agent/identity.js';
import { RegistryClient } from '../../src/agent/registry/client.js';
import { freePort } from './zdb-process.js';

const QSTOR = path.resolve('bin/qstor.js');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * `netns`: run it in that network namespace (`ip netns exec` execs, so the pid is node's);
 * `env`: added to this process's environment.
 */
function spawnLogged(args: string[], logFile: string, netns?: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const command = netns
    ? (['ip', ['netns', 'exec', netns, process.execPath, QSTOR, ...args]] as const)
    : ([process.execPath, [QSTOR, ...args]] as const);
  const child = spawn(command[0], [...command[1]], {
    stdio: ['ignore', out, out],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  fs.closeSync(out);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RegistryProcess {
  url: string;
  adminToken: string;
  adminTokenFile: string;
  /** The registry's signing key (the seed file it made on first start). */
  identityFile: string;
  logFile: string;
  client: RegistryClient;
  stop(): Promise<void>;
}

/** `metadataUrl`: the registry's tables in that PostgreSQL database (QSTOR_METADATA), else in DIR/meta.db. */
export async function startRegistry(
  dir: string,
  downAfterSeconds = 30,
  metadataUrl?: string,
): Promise<RegistryProcess> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = path.join(dir, 'registry.log');
  const child = spawnLogged(
    ['registry', '--data', dir, '--port', String(port), '--down-after', String(downAfterSeconds)],
    logFile,
    undefined,
    metadataUrl ? { QSTOR_METADATA: metadataUrl } : undefined,
  );
  await until(
    'the registry to listen',
    () => child.exitCode === null && fs.readFileSync(logFile, 'utf8').includes('registry on http'),
  );
  const adminTokenFile = path.join(dir, 'registry-admin.token');
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    adminToken: fs.readFileSync(adminTokenFile, 'utf8').trim(),
    adminTokenFile,
    identityFile: path.join(dir, 'registry.key'),
    logFile,
    client: new RegistryClient(url),
    stop: () => stopChild(child),
  };
}

/** `count` consecutive free ports (one zdb per disk at zdbBasePort + i). */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + count > 65535) continue;
    const ok = await Promise.all(Array.from({ length: count - 1 }, (_, i) => canBind(base + i + 1)));
    if (ok.every(Boolean)) return base;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface AgentProcess {
  nodeId: string;
  dir: string;
  configFile: string;
  url: string;
  disks: string[];
  zdbBasePort: number;
  logFile: string;
  /** The agent's state file (namespace owners, store sequences, the pinned registry key). */
  stateFile: string;
  child: ChildProcess;
  /** pid of disk i's zdb, from the pid file the agent keeps. */
  zdbPid(disk: number): number;
  /** Times "registered" appears in the log (one per agent start). */
  registrations(): number;
  stop(): Promise<void>;
  /** Stops the agent and starts it again with the same config, identity and disks. */
  restart(): Promise<AgentProcess>;
}

export interface AgentOptions {
  registry: string;
  farmToken: string;
  /** Stores the farmer admits in the agent's config (public key → rights). */
  stores?: Record<string, Right[]>;
  disks?: number;
  heartbeatSeconds?: number;
  /** Run the node in this network namespace, at this address (its zdbs and API listen there). */
  netns?: { name: string; address: string };
}

export async function startAgent(dir: string, o: AgentOptions): Promise<AgentProcess> {
  fs.mkdirSync(dir, { recursive: true });
  const disks = Array.from({ length: o.disks ?? 2 }, (_, i) => path.join(dir, `disk${i}`));
  for (const d of disks) fs.mkdirSync(d, { recursive: true });
  const listenPort = await freePort();
  const zdbBasePort = await freePorts(disks.length);
  const host = o.netns?.address ?? '127.0.0.1';
  const config = {
    registry: o.registry,
    farmToken: o.farmToken,
    stores: Object.entries(o.stores ?? {}).map(([key, rights]) => ({ key, rights })),
    disks,
    listenHost: host,
    listenPort,
    zdbBasePort,
    zdbListen: host,
    stateDir: path.join(dir, 'state'),
    addresses: [host],
    heartbeatSeconds: o.heartbeatSeconds ?? 0.5,
  };
  const configFile = path.join(dir, 'agent.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return launch(dir, configFile, disks, listenPort, zdbBasePort, o.netns);
}

async function launch(
  dir: string,
  configFile: string,
  disks: string[],
  listenPort: number,
  zdbBasePort: number,
  netns?: AgentOptions['netns'],
): Promise<AgentProcess> {
  const logFile = path.join(dir, 'agent.log');
  const registrations = () =>
    fs.existsSync(logFile)
      ? fs
          .readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"msg":"registered"')).length
      : 0;
  const before = registrations();
  const child = spawnLogged(['agent', '--config', configFile], logFile, netns?.name);
  await until(
    'the agent to register',
    () => {
      if (child.exitCode !== null)
        throw new Error(`agent exited ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      return registrations() > before;
      // Generous: suites start many agents at once, each with its zdbs, on a shared machine.
    },
    60_000,
  );
  const nodeId = identityFromSeed(fs.readFileSync(path.join(dir, 'state', 'identity.key'))).id;
  const agent: AgentProcess = {
    nodeId,
    dir,
    configFile,
    url: `http://${netns?.address ?? '127.0.0.1'}:${listenPort}`,
    disks,
    zdbBasePort,
    logFile,
    stateFile: path.join(dir, 'state', 'agent-state.json'),
    child,
    zdbPid: (i) => Number(fs.readFileSync(path.join(disks[i]!, 'zdb', 'zdb.pid'), 'utf8')),
    registrations,
    stop: () => stopChild(child),
    restart: async () => {
      await stopChild(child);
      return launch(dir, configFile, disks, listenPort, zdbBasePort, netns);
    },
  };
  return agent;
}
