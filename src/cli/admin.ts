import fs from 'node:fs';
import { distinctNodes } from '../placement/placement.js';
import path from 'node:path';
import { Scrubber, type ScrubReport } from '../repair/scrubber.js';
import { ALIVE_MS } from '../repair/leased-job.js';
import { startLocalBackends, stopLocalBackends, type LocalBackend } from './backends.js';
import { CliError } from './errors.js';
import { loadGatewayConfig } from '../config/gateway-config.js';
import { layout, openStore, readStoreConfig, type OpenStore } from '../data-dir/local-store.js';
import { ZdbClient } from '../zdb-client/index.js';
import { DirLockError, lockDir } from '../util/dir-lock.js';
import { lifecycleStatus } from '../lifecycle/index.js';
import { failureLine, readReservationFailures, type ReservationReport } from '../cluster/reservation-report.js';

async function anyReachable(addresses: string[]): Promise<boolean> {
  const answers = await Promise.all(
    addresses.map(async (address) => {
      const [host, port] = [
        address.slice(0, address.lastIndexOf(':')),
        Number(address.slice(address.lastIndexOf(':') + 1)),
      ];
      const c = new ZdbClient({ host, port, connections: 1, connectTimeoutMs: 1000 });
      try {
        await c.ping();
        return true;
      } catch {
        return false;
      } finally {
        c.destroy();
      }
    }),
  );
  return answers.some(Boolean);
}

/** `--data DIR` (qstor start's store) or a gateway's `--config FILE`. */
export interface StoreChoice {
  data: string;
  config?: string;
}

/**
 * The store of `--data DIR` or of `--config FILE`. A backend that does not answer the one ping
 * these commands make is down for them.
 */
async function openAdminStore(o: StoreChoice): Promise<OpenStore> {
  const once = { downAfterFailures: 1 };
  if (o.config !== undefined) {
    const config = loadGatewayConfig(o.config);
    return openStore(config.data, config.store, once, config.metadata);
  }
  const s = await openStore(o.data, undefined, once);
  if (!isRunning(o.data)) {
    await s.close();
    throw new CliError(
      'NOT_RUNNING',
      `no store is running on ${o.data}; start it with \`qstor start --data ${o.data}\``,
    );
  }
  return s;
}

/**
 * Whether `qstor start` runs on this data directory: it holds the directory's lock while it
 * lives. Its backends are its children, so a stopped store would report every one down.
 */
function isRunning(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, 'backends'))) return true; // not qstor start's directory: its backends live elsewhere
  try {
    lockDir(dir, 'data directory').release();
    return false;
  } catch (e) {
    if (e instanceof DirLockError && e.code === 'DIR_LOCKED') return true;
    throw e;
  }
}

function progressLine(r: ScrubReport, where: string): string {
  return `\r${r.objects} objects, ${r.chunks} chunks: ${r.healthy} healthy, ${r.repaired} repaired, ${r.belowRedundancy} below redundancy  ${where.slice(0, 40).padEnd(40)}`;
}

/** `rows` under `head` in columns two spaces apart, then a blank line. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[head, ...rows].map(line).join('\n')}\n\n`;
}

/** How long ago `ms` was, or how long until it comes: "4s ago", "in 12s". */
function relative(ms: number, now: number): string {
  const s = Math.round((ms - now) / 1000);
  return s <= 0 ? `${-s}s ago` : `in ${s}s`;
}

/** What `qstor admin status` reports, as `--json` prints it. */
interface StoreStatus {
  backends: Array<{ id: string; farm: string; node: string; address: string; state: string; freeBytes: number }>;
  /** Distinct nodes up, and the shards a chunk has: fewer nodes put two shards on one. */
  nodesUp: number;
  shardsPerChunk: number;
  gateways: Array<{ id: string; address: string; version: string; lastSeen: number; startedAt: number }>;
  leases: Array<{ name: string; holder: string; expiresAt: number }>;
  /**
   * The registry's zdbs on which no namespace could be reserved, as the gateway that reserves
   * last wrote them in its data directory (null: no registry there).
   */
  reservationFailures: ReservationReport | null;
  chunks: { objects: number; chunks: number; belowRedundancy: number; writtenDegraded: number };
  lifecycle: string[];
}

async function collectStatus(s: OpenStore, dir: string): Promise<StoreStatus> {
  await s.backends.refresh();
  const list = s.backends.list();
  const report = await new Scrubber(s, { graceMs: 0, chunksPerSecond: 0, repair: false }).pass();
  return {
    backends: list.map((b) => ({
      id: b.id,
      farm: b.farm,
      node: b.node,
      address: `${b.host}:${b.port}`,
      state: b.state,
      freeBytes: b.freeBytes,
    })),
    nodesUp: distinctNodes(list),
    shardsPerChunk: s.config.dataShards + s.config.parityShards,
    gateways: await s.meta.listGateways(ALIVE_MS),
    leases: await s.meta.listLeases(),
    reservationFailures: readReservationFailures(dir),
    chunks: {
      objects: report.objects,
      chunks: report.chunks,
      belowRedundancy: report.belowRedundancy,
      writtenDegraded: report.writtenDegraded,
    },
    lifecycle: await lifecycleStatus(s.meta),
  };
}

function statusText(st: StoreStatus): string {
  const now = Date.now();
  let out = table(
    ['BACKEND', 'FARM', 'NODE', 'ADDRESS', 'STATE', 'FREE'],
    st.backends.map((b) => [
      b.id,
      b.farm,
      b.node,
      b.address,
      b.state,
      b.freeBytes > 0 ? `${(b.freeBytes / 2 ** 30).toFixed(1)} GiB` : '-',
    ]),
  );
  if (st.nodesUp < st.shardsPerChunk)
    out += `note: ${st.nodesUp} nodes up for ${st.shardsPerChunk} shards per chunk: some chunks keep two shards on one node\n`;
  const failed = st.reservationFailures?.failures ?? [];
  if (failed.length > 0) {
    out += `${failed.length} namespace reservation(s) failed (as of ${new Date(st.reservationFailures!.written).toISOString()}):\n`;
    for (const f of failed) out += `  ${failureLine(f)}\n`;
    out += '\n';
  }
  out +=
    st.gateways.length > 0
      ? table(
          ['GATEWAY', 'ADDRESS', 'VERSION', 'LAST SEEN', 'STARTED'],
          st.gateways.map((g) => [
            g.id,
            g.address,
            g.version,
            relative(g.lastSeen, now),
            new Date(g.startedAt).toISOString(),
          ]),
        )
      : 'no gateway alive on this metadata database\n\n';
  out +=
    st.leases.length > 0
      ? table(
          ['LEASE', 'HOLDER', 'EXPIRES'],
          st.leases.map((l) => [l.name, l.holder, relative(l.expiresAt, now)]),
        )
      : 'no lease held\n\n';
  const c = st.chunks;
  out += `objects: ${c.objects}  chunks: ${c.chunks}  below full redundancy: ${c.belowRedundancy} (written degraded, awaiting repair: ${c.writtenDegraded})\n`;
  for (const line of st.lifecycle) out += `${line}\n`;
  return out;
}

/**
 * `qstor admin status [--json]`: backends, their health and space; the namespace reservations
 * that failed on the registry's nodes; the gateways alive and who holds which lease on
 * background work; chunks below full redundancy; lifecycle runs.
 */
export async function status(o: StoreChoice & { json?: boolean }): Promise<void> {
  const s = await openAdminStore(o);
  try {
    const st = await collectStatus(s, o.config !== undefined ? loadGatewayConfig(o.config).data : o.data);
    process.stdout.write(o.json ? `${JSON.stringify(st, null, 2)}\n` : statusText(st));
  } finally {
    await s.close();
  }
}

/** `qstor admin repair`: one repair pass now, with progress. */
export async function repair(o: StoreChoice): Promise<void> {
  const s = await openAdminStore(o);
  try {
    await s.backends.refresh();
    const report = await new Scrubber(s, { graceMs: 0, chunksPerSecond: 0 }).pass((r, where) => {
      if (process.stdout.isTTY) process.stdout.write(progressLine(r, where));
    });
    process.stdout.write(
      `${process.stdout.isTTY ? '\n' : ''}repaired ${report.repaired} chunks (${report.shardsRebuilt} shards) of ${report.chunks}; ${report.belowRedundancy} below full redundancy; ${report.failed} failed\n`,
    );
    if (report.failed > 0) process.exitCode = 1;
  } finally {
    await s.close();
  }
}

/** `qstor meta rebuild`: the metadata database from the backends' copies and the master key. */
export async function metaRebuild(o: { data: string }): Promise<void> {
  const dir = o.data;
  const target = layout(dir).meta;
  if (fs.existsSync(target))
    throw new CliError('TARGET_EXISTS', `${target} exists: move it away first (the rebuild writes a fresh one)`);
  // The all-in-one store's own backends, when it is not running: start them for the rebuild.
  let started: LocalBackend[] = [];
  const config = readStoreConfig(dir);
  if (fs.existsSync(path.join(dir, 'backends')) && !(await anyReachable(config.backends.map((b) => b.address)))) {
    const ports = config.backends.map((b) => Number(b.address.split(':').pop()));
    started = await startLocalBackends(dir, ports.length, ports[0]!);
  }
  const s = await openStore(dir);
  try {
    const report = await s.store.replica.rebuild(s.meta, (message) => process.stdout.write(`${message}\n`));
    process.stdout.write(
      `rebuilt ${report.buckets} buckets and ${report.objects} objects, ${report.accessKeys} access keys, ${report.kmsKeys} KMS keys, from ${report.records} records on ${report.backends} backends\n`,
    );
  } finally {
    await s.close();
    await stopLocalBackends(started);
  }
}
