import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from './backends.js';
import { CliError } from './errors.js';
import { spawnGateway } from './spawn-gateway.js';
import { layout, readStoreConfig, writeStoreConfig } from '../data-dir/local-store.js';
import type { LogLevel } from '../config/log-level.js';
import type { StoreConfig } from '../config/store-config.js';
import { lockDataDir, requireFreePort } from './data-dir.js';

export const DEFAULT_BACKEND_PORT = 9900;

/** `qstor start`'s options, parsed and range-checked by its commander spec (`program.ts`). */
export interface StartOptions {
  data: string;
  port: number;
  host: string;
  backends: number;
  backendPort?: number;
  dataShards: number;
  parityShards: number;
  tlsCert?: string;
  tlsKey?: string;
  /** Shards of a chunk a write needs stored (k..k+m); none: the recorded one, else k+1. */
  writeQuorum?: number;
  /** The console, /metrics and /health; 0: none. */
  adminPort: number;
  /** The static website endpoint, on `host`; 0: none. */
  websitePort: number;
  /** `<bucket>.<domain>` names a site's bucket on the website endpoint (else the whole Host does). */
  websiteDomain?: string;
  logLevel: LogLevel;
}

/** `qstor start`: the all-in-one store on local disk: zdb backends, then the S3 gateway. */
export async function start(values: StartOptions): Promise<void> {
  const dir = values.data;
  const count = values.backends;
  const k = values.dataShards;
  const m = values.parityShards;
  if (k + m > count)
    throw new CliError('INVALID_OPTION', `${k}+${m} shards need at least ${k + m} backends (--backends ${count})`);
  const quorum = values.writeQuorum;
  const tlsArgs = tlsArguments(values.tlsCert, values.tlsKey);

  // Before anything in the directory is read: a second store on it would serve over the first
  // one's backends and delete its writes in flight. Held until this process and the gateway
  // (which inherits the descriptor) are both gone.
  const lock = lockDataDir(dir, '--data');
  await requireFreePort(values.port, values.host, '--port');
  if (values.adminPort > 0) await requireFreePort(values.adminPort, '127.0.0.1', '--admin-port');
  if (values.websitePort > 0) await requireFreePort(values.websitePort, values.host, '--website-port');

  // A second start on the same directory finds everything again: the geometry it was made with
  // wins. Its ports do not: backends are known by id, so --backend-port may move them.
  const existing = fs.existsSync(layout(dir).config) ? readStoreConfig(dir) : null;
  let config: StoreConfig = existing ?? {
    dataShards: k,
    parityShards: m,
    backends: Array.from({ length: count }, (_, i) => ({
      id: `local-${i}`,
      farm: 'local',
      node: `disk-${i}`,
      address: '',
      namespace: 'default',
    })),
  };
  // The write quorum is a policy, not a layout: any start may set it.
  if (quorum !== undefined) {
    const { dataShards: dk, parityShards: dm } = config;
    if (!(Number.isInteger(quorum) && quorum >= dk && quorum <= dk + dm))
      throw new CliError('INVALID_OPTION', `--write-quorum must be between ${dk} and ${dk + dm} (k and k+m)`);
    config = { ...config, writeQuorum: quorum };
  }
  const firstPort =
    values.backendPort !== undefined || !existing
      ? (values.backendPort ?? DEFAULT_BACKEND_PORT)
      : portOf(config.backends[0]!.address);
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + config.backends.length > 65535)
    throw new CliError('INVALID_OPTION', '--backend-port is out of range');
  const ports = config.backends.map((_, i) => firstPort + i);
  const moved = config.backends.some((b, i) => b.address !== `127.0.0.1:${ports[i]}`);
  for (const [i, b] of config.backends.entries()) b.address = `127.0.0.1:${ports[i]}`;
  const backends = await startLocalBackends(dir, ports.length, firstPort);
  const rewired = useSockets(config, backends);
  // Kept only once its backends answered: ports another store holds are never recorded.
  if (moved || rewired || quorum !== undefined) writeStoreConfig(dir, config);
  let gateway: ChildProcess;
  try {
    gateway = spawnGateway(
      [
        '--data',
        dir,
        '--port',
        String(values.port),
        '--host',
        values.host,
        '--admin-port',
        String(values.adminPort),
        '--log-level',
        values.logLevel,
        ...websiteArguments(values),
        ...tlsArgs,
      ],
      lock.fd,
    );
  } catch (e) {
    await stopLocalBackends(backends);
    throw e;
  }
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    const down =
      gateway.exitCode === null && gateway.signalCode === null
        ? new Promise((r) => gateway.once('exit', r))
        : Promise.resolve();
    gateway.kill('SIGTERM');
    void down.then(() => stopLocalBackends(backends)).then(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  gateway.once('exit', (code) => {
    if (!stopping) {
      say(`qstor: the gateway exited (code ${code}); stopping`);
      stop(1);
    }
  });
  let buffered = '';
  let consoleUrl: string | null = null;
  let websiteUrl: string | null = null;
  gateway.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const [word, a, b] = line.split(' ');
      if (word === 'credentials') {
        say(`Root credentials (shown once, saved in ${path.join(dir, 'credentials.json')}); paste this line:`);
        say(`  ${exportLine(a!, b!)}`);
      } else if (word === 'website') {
        websiteUrl = `http://${hostForUrl(values.host)}:${a}/`;
      } else if (word === 'admin') {
        consoleUrl = `http://127.0.0.1:${a}/`;
      } else if (word === 'ready') {
        const endpoint = `${tlsArgs.length > 0 ? 'https' : 'http'}://${hostForUrl(values.host)}:${a}`;
        say(
          `qstor: S3 at ${endpoint}, store in ${dir} (${config.dataShards}+${config.parityShards} over ${ports.length} zdb backends on 127.0.0.1:${ports[0]}-${ports[ports.length - 1]})`,
        );
        say(`  aws --endpoint-url ${endpoint} s3 ls`);
        say(
          consoleUrl
            ? `Console at ${consoleUrl} (log in with an access key id and secret; /metrics and /health there too)`
            : 'Console off (--admin-port 0)',
        );
        if (websiteUrl) say(`Websites at ${websiteUrl} (the Host names the bucket; see PutBucketWebsite)`);
        say(`Log: ${path.join(dir, 'gateway.log')}. Ctrl-C stops everything.`);
      } else {
        say(line);
      }
    }
  });
}

/** The gateway's website endpoint arguments: none unless a port is asked for. */
function websiteArguments(values: StartOptions): string[] {
  if (values.websitePort === 0) return [];
  const args = ['--website-port', String(values.websitePort), '--website-host', values.host];
  return values.websiteDomain === undefined ? args : [...args, '--website-domain', values.websiteDomain];
}

/** The shell line that sets the credentials for the aws cli and the SDKs (base64 secrets need no quoting). */
export function exportLine(accessKey: string, secretKey: string): string {
  return `export AWS_ACCESS_KEY_ID=${accessKey} AWS_SECRET_ACCESS_KEY=${secretKey} AWS_DEFAULT_REGION=us-east-1`;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Records each zdb's unix socket in its backend entry, for the gateway: loopback TCP costs the
 * gateway and the zdb more CPU per byte. The TCP address stays for the rest (and the banner).
 * True when an entry changed.
 */
function useSockets(config: StoreConfig, backends: LocalBackend[]): boolean {
  let changed = false;
  for (const [i, b] of config.backends.entries()) {
    const socket = backends[i]!.socket ?? undefined;
    if (b.socket === socket) continue;
    changed = true;
    if (socket === undefined) delete b.socket;
    else b.socket = socket;
  }
  return changed;
}

function portOf(address: string): number {
  return Number(address.split(':').pop());
}

/**
 * The gateway's arguments for --tls-cert and --tls-key, checked here so that a mistake fails
 * before any backend starts. The gateway reads the files itself.
 */
function tlsArguments(cert: string | undefined, key: string | undefined): string[] {
  if (cert === undefined && key === undefined) return [];
  if (cert === undefined || key === undefined)
    throw new CliError('INVALID_OPTION', '--tls-cert and --tls-key go together: give both or neither');
  for (const [option, file] of [
    ['--tls-cert', cert],
    ['--tls-key', key],
  ] as const) {
    if (!fs.existsSync(file)) throw new CliError('INVALID_OPTION', `${option} ${file}: no such file`);
  }
  return ['--tls-cert', path.resolve(cert), '--tls-key', path.resolve(key)];
}
