import type { BuildStats } from '../flist/builder.js';
import { createFlist } from '../flist/create.js';
import { fileBlocks } from '../flist/file-content.js';
import { openFlist, type OpenedFlist } from '../flist/mount.js';
import { FlistReader } from '../flist/reader.js';
import { isRegular, isSymlink, S_IFMT, type Inode } from '../flist/schema.js';
import { unpackFlist } from '../flist/unpack.js';
import { walkFlist } from '../flist/walk-flist.js';
import { CliError } from './errors.js';
import { givenStores, readingStores } from './flist-stores.js';
import type { ReadOptions } from './flist-mount.js';

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

export interface CreateOptions {
  from: string;
  store: string[];
  out: string;
  tag?: string[];
  /** Commander's reading of `--no-strip-password`: false when given. */
  stripPassword: boolean;
}

/** `qstor flist create`: prints the build's figures as one JSON line. */
export async function create(values: CreateOptions): Promise<void> {
  const tags = Object.fromEntries(
    (values.tag ?? []).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]),
  );
  const tty = process.stderr.isTTY;
  let last = 0;
  const started = Date.now();
  const progress = (s: Readonly<BuildStats>, final = false) => {
    const now = Date.now();
    if (!final && now - last < (tty ? 200 : 5000)) return;
    last = now;
    const mbs = s.bytes / 1e6 / Math.max(0.001, (now - started) / 1000);
    process.stderr.write(
      `${tty ? '\r\x1b[K' : ''}${s.files} files, ${formatBytes(s.bytes)}, ${s.blocks} blocks (${s.uploaded} uploaded, ${s.present} already stored), ${mbs.toFixed(1)} MB/s${tty && !final ? '' : '\n'}`,
    );
  };
  const stats = await createFlist({
    from: values.from,
    out: values.out,
    stores: givenStores(values.store) ?? [],
    tags,
    keepPasswords: !values.stripPassword,
    onProgress: (s) => progress(s),
  });
  progress(stats, true);
  process.stdout.write(`${JSON.stringify({ out: values.out, ...stats })}\n`);
}

function typeChar(mode: number): string {
  return (
    { 0o040000: 'd', 0o100000: '-', 0o120000: 'l', 0o060000: 'b', 0o020000: 'c', 0o010000: 'p', 0o140000: 's' }[
      mode & S_IFMT
    ] ?? '?'
  );
}

function longLine(reader: FlistReader, path: string, n: Inode): string {
  const perms = (n.mode & 0o7777).toString(8).padStart(4, '0');
  const target = isSymlink(n.mode) ? ` -> ${reader.target(n.ino).toString()}` : '';
  return `${typeChar(n.mode)}${perms} ${n.uid}:${n.gid} ${String(n.size).padStart(10)} ${new Date(n.mtime * 1000).toISOString()} /${path}${target}\n`;
}

/** `qstor flist ls FILE.fl [PATH]`: the tree in long format. */
export async function ls(file: string, at: string | undefined): Promise<void> {
  const reader = new FlistReader(file);
  try {
    const start = reader.resolve(at ?? '/');
    const base = (at ?? '').replace(/^\/+|\/+$/g, '');
    for (const { path, inode } of walkFlist(reader, start, base)) process.stdout.write(longLine(reader, path, inode));
  } finally {
    reader.close();
  }
}

/** `qstor flist inspect FILE.fl`: tags, routes and counts. */
export async function inspect(file: string): Promise<void> {
  const reader = new FlistReader(file);
  try {
    process.stdout.write(
      `${JSON.stringify({ tags: reader.tags(), routes: reader.routes(), ...reader.stats() }, null, 2)}\n`,
    );
  } finally {
    reader.close();
  }
}

/** Opens the flist with the --store/--cache options, runs `fn`, closes. */
async function withFlist(file: string, o: ReadOptions, fn: (f: OpenedFlist) => Promise<void>): Promise<void> {
  const f = await openFlist(file, { stores: readingStores(file, o.store), cacheDir: o.cache });
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

/** `qstor flist cat FILE.fl PATH`: one file's bytes on stdout. */
export async function cat(file: string, path: string, o: ReadOptions): Promise<void> {
  await withFlist(file, o, async (f) => {
    const n = f.reader.resolve(path);
    if (!isRegular(n.mode)) throw new CliError('NOT_A_FILE', `${path}: not a regular file`);
    for await (const block of fileBlocks(f.cache, f.reader.blocks(n.ino))) {
      if (!process.stdout.write(block)) await new Promise((r) => process.stdout.once('drain', r));
    }
  });
}

/** `qstor flist unpack FILE.fl DEST`. */
export async function unpack(file: string, dest: string, o: ReadOptions): Promise<void> {
  await withFlist(file, o, async (f) => {
    const count = await unpackFlist(f.reader, f.cache, dest);
    process.stderr.write(`unpacked ${count} entries into ${dest}\n`);
  });
}
