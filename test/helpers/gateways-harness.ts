/**
 * Several real gateway processes (`qstor gateway --config`) that are one store: one metadata
 * database (PostgreSQL, `metadata:` in each config file), one set of zdb backends, the same
 * master key (a copy of one `master.key` in each gateway's own data directory, 0600) and the
 * same root credentials (QSTOR_ROOT_*). Each gateway keeps its S3 and admin ports across
 * restarts, so a load balancer's list of servers stays valid; `kill(i)` is kill -9 of the
 * gateway daemon itself (not only the `qstor gateway` wrapper that started it).
 */
import { S3Client } from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PostgresServer } from './postgres.js';
import { startQstor, stopQstor } from './qstor-process.js';
import { freePort, startZdb, type ZdbProcess } from './zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');

export const CLUSTER_ROOT = {
  accessKeyId: 'QSTORCLUSTERROOT0001',
  secretAccessKey: 'cluster-root-secret-0123456789abcdefghij',
};

export interface GatewayProcess {
  /** Its index in the cluster: its data directory and ports are kept across restarts. */
  index: number;
  port: number;
  adminPort: number;
  endpoint: string;
  /** The daemon (dist/gateway/main.js), child of the `qstor gateway` wrapper. */
  pid: number;
  /** Resolves when the daemon has exited (killed or stopped). */
  exited: Promise<void>;
}

export interface GatewayCluster {
  pg: PostgresServer;
  /** The `metadata:` URL every gateway's config file names. */
  metadata: string;
  zdbs: ZdbProcess[];
  /** The running gateways, by index (undefined while one is down). */
  gateways: Array<GatewayProcess | undefined>;
  /** The shared master key, 64 hex characters. */
  masterKeyHex: string;
  root: typeof CLUSTER_ROOT;
  /** A path-style SDK client of gateway i (root, no retries unless asked). */
  client(i: number, maxAttempts?: number): S3Client;
  /** Starts gateway i (again) on its data directory and ports; `masterKeyHex` overrides the shared key. */
  start(i: number, o?: { masterKeyHex?: string }): Promise<GatewayProcess>;
  /** kill -9 of gateway i's daemon; resolves once it is gone. */
  kill(i: number): Promise<void>;
  /** The config file of gateway i, as written for its last start. */
  configFile(i: number): string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  gateways: number;
  /** An existing server to make the database on; otherwise one is started (and destroyed by close). */
  pg?: PostgresServer;
  /** Database name on the server; one per cluster. */
  database?: string;
  dataShards?: number;
  parityShards?: number;
  /** Extra fields of every gateway's config file. */
  config?: Record<string, unknown>;
}

let clusters = 0;

export async function startGatewayCluster(o: ClusterOptions): Promise<GatewayCluster> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-gws-'));
  const ownPg = o.pg === undefined;
  const pg = o.pg ?? (await startPostgres());
  const zdbs: ZdbProcess[] = [];
  const clients: S3Client[] = [];
  const gateways: Array<GatewayProcess | undefined> = [];
  const wrappers = new Map<number, import('node:child_process').ChildProcess>();
  try {
    const metadata = await pg.createDatabase(o.database ?? `qstor_gws_${process.pid}_${clusters++}`);
    zdbs.push(...(await Promise.all(Array.from({ length: 6 }, () => startZdb({ bin: ZDB })))));
    const masterKeyHex = crypto.randomBytes(32).toString('hex');
    // Chosen once per index: a gateway comes back on the same ports.
    const ports: Array<{ s3: number; admin: number }> = [];
    const portsOf = async (i: number): Promise<{ s3: number; admin: number }> =>
      (ports[i] ??= { s3: await freePort(), admin: await freePort() });
    const dataDir = (i: number): string => path.join(tmp, `gw${i}`);
    const configFile = (i: number): string => path.join(tmp, `gw${i}.json`);

    const cluster: GatewayCluster = {
      pg,
      metadata,
      zdbs,
      gateways,
      masterKeyHex,
      root: CLUSTER_ROOT,
      client(i, maxAttempts = 1) {
        const g = gateways[i];
        if (!g) throw new Error(`gateway ${i} is not running`);
        const c = new S3Client({
          endpoint: g.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: CLUSTER_ROOT,
          maxAttempts,
        });
        clients.push(c);
        return c;
      },
      async start(i, so = {}) {
        if (gateways[i]) throw new Error(`gateway ${i} is already running`);
        const { s3, admin } = await portsOf(i);
        const dir = dataDir(i);
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        // The operator's step: the same master.key in every gateway's data directory, 0600.
        fs.writeFileSync(path.join(dir, 'master.key'), `${so.masterKeyHex ?? masterKeyHex}\n`, { mode: 0o600 });
        fs.chmodSync(path.join(dir, 'master.key'), 0o600);
        fs.writeFileSync(
          configFile(i),
          JSON.stringify({
            data: dir,
            metadata,
            port: s3,
            adminPort: admin,
            dataShards: o.dataShards ?? 4,
            parityShards: o.parityShards ?? 2,
            backends: zdbs.map((z, n) => ({
              id: `z${n}`,
              farm: `farm${n % 3}`,
              node: `node${n}`,
              address: `127.0.0.1:${z.port}`,
              namespace: 'default',
            })),
            ...o.config,
          }),
        );
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          QSTOR_ROOT_ACCESS_KEY: CLUSTER_ROOT.accessKeyId,
          QSTOR_ROOT_SECRET_KEY: CLUSTER_ROOT.secretAccessKey,
        };
        delete env['QSTOR_MASTER_KEY']; // the key file of the data directory, as the README says
        const up = await startQstor(['gateway', '--config', configFile(i)], /S3 on port \d+/, env);
        wrappers.set(i, up.child);
        const pid = daemonOf(up.child.pid!);
        const exited = new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (!alive(pid)) {
              clearInterval(poll);
              resolve();
            }
          }, 50);
        });
        const g: GatewayProcess = {
          index: i,
          port: s3,
          adminPort: admin,
          endpoint: `http://127.0.0.1:${s3}`,
          pid,
          exited,
        };
        gateways[i] = g;
        up.child.once('exit', () => {
          if (gateways[i] === g) gateways[i] = undefined;
        });
        return g;
      },
      async kill(i) {
        const g = gateways[i];
        if (!g) return;
        process.kill(g.pid, 'SIGKILL');
        await g.exited;
        const w = wrappers.get(i);
        if (w && w.exitCode === null && w.signalCode === null) await new Promise((r) => w.once('exit', r));
        gateways[i] = undefined;
      },
      configFile,
      async close() {
        for (const c of clients) c.destroy();
        await Promise.all([...wrappers.values()].map((w) => stopQstor(w)));
        await Promise.all(zdbs.map((z) => z.stop()));
        if (ownPg) await pg.destroy();
        fs.rmSync(tmp, { recursive: true, force: true });
      },
    };
    // Together, as an operator's would: the schema is migrated once, under an advisory lock.
    await Promise.all(Array.from({ length: o.gateways }, (_, i) => cluster.start(i)));
    return cluster;
  } catch (e) {
    for (const w of wrappers.values()) await stopQstor(w);
    await Promise.all(zdbs.map((z) => z.stop()));
    if (ownPg) await pg.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The gateway daemon: the one child of the `qstor gateway` wrapper. */
function daemonOf(wrapper: number): number {
  const children = fs.readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, 'utf8').trim().split(/\s+/);
  const pid = children.map(Number).find((p) => cmdline(p).includes('gateway/main.js'));
  if (pid === undefined) throw new Error(`qstor gateway (pid ${wrapper}) has no gateway/main.js child`);
  return pid;
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
