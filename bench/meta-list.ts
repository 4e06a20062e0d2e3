/**
 * Metadata store, both engines in one run: bulk inserts, single acknowledged PUT commits, and
 * ListObjectsV2-style listing (pages of 1000, each page starting after the previous page's last
 * entry) over a bucket of N keys, without and with a delimiter; then PostgreSQL / sqlite.
 *
 *   node dist/bench/meta-list.js [--keys 1000000] [--batch 10000] [--cache-mib 64] [--passes 3]
 *                                [--engines sqlite,postgres] [--postgres URL] [--versions 1] [--dir DIR]
 *                                [--json FILE]
 *
 * PostgreSQL needs an empty database: --postgres URL, or QSTOR_METADATA_URL. Both engines are
 * loaded through `putObjects` (the rebuild path: one transaction per batch; multi-row
 * statements in PostgreSQL) and measured through the MetaStore interface only.
 *
 * The key set is half plain keys (`obj-<hex>`) and half keys in directories of ten
 * (`dir-<hex>/part-<n>`), inserted in random order. With delimiter '/' a listing returns the
 * plain keys and one common prefix per directory, so it both reads rows and seeks past
 * prefixes. Each object has a one-chunk manifest (6 shards), like a small real object.
 * Listing figures are the median of the passes.
 *
 * `--versions N` gives every key N versions in a versioned bucket (issue 13): a listing must
 * still return each key once, its newest version, at the speed of a bucket of one version per key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteMetaStore, type MetaStore } from '../src/meta/index.js';
import { PostgresMetaStore } from '../src/meta/postgres/postgres-meta-store.js';
import type { ObjectManifest } from '../src/meta/manifest.js';
import type { VersionRecord } from '../src/meta/meta-store.js';

const PAGE = 1000;
const SINGLE_PUTS = 2000;
const DIR_SIZE = 10;

type Engine = 'sqlite' | 'postgres';

interface Row {
  engine: Engine;
  operation: string;
  /** What one unit is: inserts, commits, entries returned, keys covered. */
  unit: string;
  count: number;
  seconds: number;
  perSecond: number;
}

/** 32 hex digits that look random (ids are random in the store: their inserts land anywhere in the index). */
function idOf(i: number): string {
  const mix = (x: number): string => {
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, '0');
  };
  return `${mix(i)}${mix(i + 0x9e3779b9)}${i.toString(16).padStart(16, '0')}`;
}

function manifest(i: number): ObjectManifest {
  const id = idOf(i);
  return {
    id,
    size: 1000 + (i % 5000),
    etag: id,
    lastModified: 1_700_000_000_000 + i,
    contentType: 'application/octet-stream',
    metadata: {},
    checksums: {},
    chunks: [
      {
        id,
        plainSize: 1000 + (i % 5000),
        storedSize: 1016 + (i % 5000),
        compressed: false,
        shardSize: 1600,
        dataShards: 4,
        parityShards: 2,
        wrappedKey: 'd3JhcHBlZC1kYXRhLWtleS13cmFwcGVkLWRhdGEta2V5LXg=',
        nonce: 'bm9uY2Utbm9uY2Ut',
        aadObject: id,
        aadIndex: 0,
        shards: Array.from({ length: 6 }, (_, s) => ({ backend: `zdb-${(i + s) % 24}`, key: `${id}.${s}`, crc: s })),
      },
    ],
  };
}

/**
 * The `versions` versions of key number `i` of `n`, oldest first (each restored as the key's
 * newest), each with its own chunks. One version: the unversioned object of before versioning.
 */
function versionsOf(key: string, i: number, n: number, versions: number): VersionRecord[] {
  if (versions === 1) return [{ key, manifest: manifest(i) }];
  return Array.from({ length: versions }, (_, v) => {
    const m = manifest(v * n + i);
    return { key, manifest: { ...m, versionId: Buffer.from(m.id, 'hex').toString('base64url') } };
  });
}

/** Checks that a listing of a bucket with several versions per key returned each key once. */
function checkOneEntryPerKey(entries: number, n: number): void {
  if (entries !== n) throw new Error(`listing returned ${entries} entries for ${n} keys: not only the newest versions`);
}

/** The key set, shuffled with a fixed seed (objects arrive in no particular order). */
function keys(n: number): string[] {
  const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');
  const names = Array.from({ length: n }, (_, i) => {
    const j = i >> 1;
    return i % 2 === 0 ? `obj-${hex(j, 8)}` : `dir-${hex(Math.floor(j / DIR_SIZE), 7)}/part-${j % DIR_SIZE}`;
  });
  let seed = 42;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [names[i], names[j]] = [names[j], names[i]];
  }
  return names;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Lists the whole bucket in pages; returns entries returned and the median seconds per pass. */
async function listAll(
  meta: MetaStore,
  delimiter: string | undefined,
  passes: number,
): Promise<{ entries: number; seconds: number }> {
  const times: number[] = [];
  let entries = 0;
  for (let pass = 0; pass < passes; pass++) {
    entries = 0;
    const start = process.hrtime.bigint();
    let startAfter: string | undefined;
    do {
      const page = await meta.listObjects({ bucket: 'bench', delimiter, startAfter, maxKeys: PAGE });
      entries += page.entries.length + page.commonPrefixes.length;
      startAfter = page.nextMarker ?? undefined;
    } while (startAfter !== undefined);
    times.push(seconds(start));
  }
  return { entries, seconds: median(times) };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(title: string, rows: Row[]): void {
  const lines = [
    ['engine', 'operation', 'count', 'unit', 'seconds', 'per second'],
    ...rows.map((r) => [r.engine, r.operation, fmt(r.count), r.unit, fmt(r.seconds, 2), fmt(r.perSecond)]),
  ];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  console.log(title);
  for (const line of lines) {
    console.log(
      line.map((cell, i) => (i <= 1 || i === 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    );
  }
}

/** Loads, commits and lists on one engine; its rows. */
async function measure(
  engine: Engine,
  meta: MetaStore,
  n: number,
  batch: number,
  passes: number,
  versions: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const row = (operation: string, unit: string, count: number, secs: number): void => {
    rows.push({ engine, operation, unit, count, seconds: secs, perSecond: count / secs });
  };
  await meta.createBucket('bench');
  if (versions > 1) await meta.updateBucketSettings('bench', (settings) => ({ ...settings, versioning: 'Enabled' }));
  const names = keys(n);
  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    await meta.putObjects(
      'bench',
      names.slice(i, i + batch).flatMap((key, j) => versionsOf(key, i + j, n, versions)),
    );
  }
  row(`bulk insert (${fmt(batch)} keys per transaction)`, 'inserts', n * versions, seconds(start));

  await meta.createBucket('single');
  start = process.hrtime.bigint();
  for (let i = 0; i < SINGLE_PUTS; i++) {
    await meta.putObject('single', names[i], manifest(i));
    await meta.durable();
  }
  row('putObject, one durable commit each', 'commits', SINGLE_PUTS, seconds(start));

  const flat = await listAll(meta, undefined, passes);
  checkOneEntryPerKey(flat.entries, n);
  row(`list, no delimiter, pages of ${PAGE}`, 'keys', flat.entries, flat.seconds);
  const rolled = await listAll(meta, '/', passes);
  row(`list, delimiter '/', pages of ${PAGE}`, 'entries', rolled.entries, rolled.seconds);
  row(`list, delimiter '/', pages of ${PAGE}`, 'keys covered', n, rolled.seconds);
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '1000000' },
      batch: { type: 'string', default: '10000' },
      'cache-mib': { type: 'string', default: '64' },
      passes: { type: 'string', default: '3' },
      engines: { type: 'string', default: 'sqlite,postgres' },
      postgres: { type: 'string' },
      versions: { type: 'string', default: '1' },
      dir: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const n = Number(values.keys);
  const batch = Number(values.batch);
  const cacheMiB = Number(values['cache-mib']);
  const passes = Number(values.passes);
  const versions = Number(values.versions);
  if (!Number.isInteger(versions) || versions < 1) throw new Error('--versions: a whole number >= 1');
  const engines = values.engines.split(',') as Engine[];
  const url = values.postgres ?? process.env['QSTOR_METADATA_URL'];
  if (engines.includes('postgres') && !url) throw new Error('postgres: give --postgres URL or QSTOR_METADATA_URL');
  const rows: Row[] = [];
  for (const engine of engines) {
    if (engine === 'sqlite') {
      const dir = values.dir ?? mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-meta-'));
      const meta = new SqliteMetaStore(path.join(dir, 'meta.db'), { cacheMiB });
      try {
        rows.push(...(await measure(engine, meta, n, batch, passes, versions)));
      } finally {
        await meta.close();
        if (!values.dir) rmSync(dir, { recursive: true, force: true });
      }
    } else if (engine === 'postgres') {
      const meta = await PostgresMetaStore.open(url!);
      try {
        rows.push(...(await measure(engine, meta, n, batch, passes, versions)));
      } finally {
        await meta.close();
      }
    } else {
      throw new Error(`--engines: sqlite or postgres, not ${engine as string}`);
    }
  }
  // PostgreSQL against sqlite, operation by operation.
  const ratios = rows
    .filter((r) => r.engine === 'postgres')
    .flatMap((pg) => {
      const lite = rows.find((r) => r.engine === 'sqlite' && r.operation === pg.operation && r.unit === pg.unit);
      return lite
        ? [{ operation: pg.operation, unit: pg.unit, postgresOverSqlite: pg.perSecond / lite.perSecond }]
        : [];
    });
  printTable(
    `metadata store, ${fmt(n)} keys x ${versions} version(s), node ${process.version} (sqlite WAL, ${cacheMiB} MiB cache; PostgreSQL over a local socket)`,
    rows,
  );
  for (const r of ratios)
    console.log(`postgres / sqlite  ${r.operation} (${r.unit}): ${r.postgresOverSqlite.toFixed(2)}`);
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ keys: n, versions, batch, cacheMiB, pageSize: PAGE, passes, engines, rows, ratios }, null, 2),
    );
}

await main();
