/**
 * flists end to end, on a dir:// store in a temporary directory (no network: what is measured
 * is the flist code, FUSE and the block cache):
 *
 *   node dist/bench/flist.js [--tree MB] [--file MB] [--small N] [--json FILE] [--quick]
 *
 * - create: `createFlist` over a tree of `--tree` MB (half text-like, half random, 10 MB files),
 *   MB/s of plaintext, with the blocks written to the store.
 * - sequential read of one `--file` MB file through the mount (a `qstor flist mount` process,
 *   read here with 1 MiB reads): cold (empty block cache), warm (same mount again: kernel page
 *   cache) and warm from the disk cache (a fresh mount over the filled cache), each as a ratio
 *   to reading the source file from local disk in this run (page-cached, as warm reads are),
 *   and cold as a ratio to the store's own GET throughput (every block fetched, 4 at a time).
 * - boot: stat and read each of `--small` small files (1-8 KiB, 20 directories) through a fresh
 *   mount with an empty cache: total time.
 * Targets: warm >= 0.5x local disk; cold >= 0.5x store GET.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFlist } from '../src/flist/create.js';
import { FlistReader } from '../src/flist/reader.js';
import { openStore } from '../src/flist/stores/open-store.js';
import { textLike } from './common.js';

const MB = 1e6;
const QSTOR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/qstor.js');

async function writeTree(root: string, bytes: number): Promise<void> {
  const per = 10 * 1024 * 1024;
  for (let i = 0, left = bytes; left > 0; i++, left -= per) {
    const dir = path.join(root, `d${i % 8}`);
    await fsp.mkdir(dir, { recursive: true });
    const size = Math.min(per, left);
    await fsp.writeFile(path.join(dir, `f${i}`), i % 2 ? randomBytes(size) : textLike(size, i + 1));
  }
}

async function sequentialRead(file: string): Promise<number> {
  const fh = await fsp.open(file);
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  const start = performance.now();
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return total / MB / ((performance.now() - start) / 1000);
}

async function mount(fl: string, mp: string, cache: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [QSTOR, 'flist', 'mount', fl, mp, '--cache', cache], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('mounted') && resolve());
    child.on('exit', (code) => reject(new Error(`mount exited ${code}`)));
  });
  return child;
}

async function unmount(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function storeGet(fl: string, store: string, file: string): Promise<number> {
  const reader = new FlistReader(fl);
  const blocks = reader.blocks(reader.resolve(file).ino);
  reader.close();
  const s = openStore(`dir://${store}`);
  let next = 0;
  let bytes = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < blocks.length) bytes += (await s.get(blocks[next++]!.id)).length;
    }),
  );
  return bytes / MB / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tree: { type: 'string' },
      file: { type: 'string' },
      small: { type: 'string' },
      json: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const treeMB = Number(values.tree ?? (values.quick ? 50 : 500));
  const fileMB = Number(values.file ?? (values.quick ? 20 : 200));
  const small = Number(values.small ?? (values.quick ? 100 : 1000));
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-flist-'));
  const children: ChildProcess[] = [];
  try {
    // create
    const tree = path.join(tmp, 'tree');
    await writeTree(tree, treeMB * MB);
    const t0 = performance.now();
    const stats = await createFlist({
      from: tree,
      stores: [`dir://${tmp}/store-tree`],
      out: path.join(tmp, 'tree.fl'),
    });
    const createMBs = stats.bytes / MB / ((performance.now() - t0) / 1000);

    // one big file, and many small ones, in a second flist
    const src = path.join(tmp, 'src');
    await fsp.mkdir(src);
    const big = path.join(src, 'big');
    const half = Math.floor((fileMB * MB) / 2);
    await fsp.writeFile(big, Buffer.concat([textLike(half, 7), randomBytes(fileMB * MB - half)]));
    for (let i = 0; i < small; i++) {
      const dir = path.join(src, 'small', `d${i % 20}`);
      if (i < 20) await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, `f${i}`), textLike(1024 + ((i * 7919) % 7168), i));
    }
    const fl = path.join(tmp, 'src.fl');
    const store = path.join(tmp, 'store');
    await createFlist({ from: src, stores: [`dir://${store}`], out: fl });
    await sequentialRead(big); // page-cache the source, so local disk means what warm reads mean
    const local = await sequentialRead(big);
    const get = await storeGet(fl, store, 'big');

    const mp = path.join(tmp, 'mnt');
    const cache = path.join(tmp, 'cache');
    let m = await mount(fl, mp, cache);
    children.push(m);
    const cold = await sequentialRead(path.join(mp, 'big'));
    const warm = await sequentialRead(path.join(mp, 'big'));
    await unmount(m);
    m = await mount(fl, mp, cache);
    children.push(m);
    const warmDisk = await sequentialRead(path.join(mp, 'big'));
    await unmount(m);

    await fsp.rm(cache, { recursive: true, force: true });
    m = await mount(fl, mp, cache);
    children.push(m);
    const b0 = performance.now();
    for (let i = 0; i < small; i++) {
      const p = path.join(mp, 'small', `d${i % 20}`, `f${i}`);
      await fsp.stat(p);
      await fsp.readFile(p);
    }
    const bootMs = performance.now() - b0;
    await unmount(m);

    const figures = {
      create: { treeMB, files: stats.files, blocks: stats.blocks, MBps: createMBs },
      read: {
        fileMB,
        localMBps: local,
        storeGetMBps: get,
        coldMBps: cold,
        warmMBps: warm,
        warmDiskCacheMBps: warmDisk,
        warmRatio: warm / local,
        warmDiskCacheRatio: warmDisk / local,
        coldRatioToLocal: cold / local,
        coldRatioToStoreGet: cold / get,
      },
      boot: { files: small, totalMs: bootMs, perFileMs: bootMs / small },
    };
    const rows: Array<[string, string, string]> = [
      [`create ${treeMB} MB tree (${stats.files} files)`, `${createMBs.toFixed(1)} MB/s`, ''],
      [`local disk read ${fileMB} MB (page cache)`, `${local.toFixed(0)} MB/s`, '1.00x'],
      ['store GET (dir://, 4 at a time)', `${get.toFixed(0)} MB/s`, ''],
      [
        'mount read, cold',
        `${cold.toFixed(0)} MB/s`,
        `${(cold / local).toFixed(2)}x local, ${(cold / get).toFixed(2)}x store GET (target >= 0.5x)`,
      ],
      [
        'mount read, warm (page cache)',
        `${warm.toFixed(0)} MB/s`,
        `${(warm / local).toFixed(2)}x local (target >= 0.5x)`,
      ],
      [
        'mount read, warm (disk cache, new mount)',
        `${warmDisk.toFixed(0)} MB/s`,
        `${(warmDisk / local).toFixed(2)}x local`,
      ],
      [
        `boot: stat+read ${small} small files cold`,
        `${bootMs.toFixed(0)} ms`,
        `${(bootMs / small).toFixed(2)} ms/file`,
      ],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`);
    if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/flist: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
