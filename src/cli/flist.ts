import { parseArgs } from 'node:util';
import type { BuildStats } from '../flist/builder.js';
import { createFlist } from '../flist/create.js';
import { fileBlocks } from '../flist/file-content.js';
import { openFlist, type OpenedFlist } from '../flist/mount.js';
import { FlistReader } from '../flist/reader.js';
import { isRegular, isSymlink, S_IFMT, type Inode } from '../flist/schema.js';
import { unpackFlist } from '../flist/unpack.js';
import { walkFlist } from '../flist/walk-flist.js';
import { CliError } from './errors.js';
import { flistMount, flistRun, flistUmount } from './flist-mount.js';
import { FLIST_USAGE, READ_OPTIONS } from './flist-usage.js';

export async function flist(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  switch (action) {
    case 'create':
      return create(rest);
    case 'ls':
      return ls(rest);
    case 'inspect':
      return inspect(rest);
    case 'cat':
      return cat(rest);
    case 'unpack':
      return unpack(rest);
    case 'mount':
      return flistMount(rest);
    case 'umount':
      return flistUmount(rest);
    case 'run':
      return flistRun(rest);
    default:
      throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  }
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

async function create(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, store: { type: 'string', multiple: true }, out: { type: 'string', short: 'o' }, tag: { type: 'string', multiple: true }, 'no-strip-password': { type: 'boolean' } },
  });
  if (!values.from || !values.out || !values.store?.length) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const tags = Object.fromEntries((values.tag ?? []).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
  const tty = process.stderr.isTTY;
  let last = 0;
  const started = Date.now();
  const progress = (s: Readonly<BuildStats>, final = false) => {
    const now = Date.now();
    if (!final && now - last < (tty ? 200 : 5000)) return;
    last = now;
    const mbs = s.bytes / 1e6 / Math.max(0.001, (now - started) / 1000);
    process.stderr.write(`${tty ? '\r\x1b[K' : ''}${s.files} files, ${formatBytes(s.bytes)}, ${s.blocks} blocks (${s.uploaded} uploaded, ${s.present} already stored), ${mbs.toFixed(1)} MB/s${tty && !final ? '' : '\n'}`);
  };
  const stats = await createFlist({ from: values.from, out: values.out, stores: values.store, tags, keepPasswords: values['no-strip-password'], onProgress: (s) => progress(s) });
  progress(stats, true);
  process.stdout.write(`${JSON.stringify({ out: values.out, ...stats })}\n`);
}

function typeChar(mode: number): string {
  return { 0o040000: 'd', 0o100000: '-', 0o120000: 'l', 0o060000: 'b', 0o020000: 'c', 0o010000: 'p', 0o140000: 's' }[mode & S_IFMT] ?? '?';
}

function longLine(reader: FlistReader, path: string, n: Inode): string {
  const perms = (n.mode & 0o7777).toString(8).padStart(4, '0');
  const target = isSymlink(n.mode) ? ` -> ${reader.target(n.ino).toString()}` : '';
  return `${typeChar(n.mode)}${perms} ${n.uid}:${n.gid} ${String(n.size).padStart(10)} ${new Date(n.mtime * 1000).toISOString()} /${path}${target}\n`;
}

async function ls(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true });
  if (positionals.length < 1) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const reader = new FlistReader(positionals[0]!);
  try {
    const start = reader.resolve(positionals[1] ?? '/');
    const base = (positionals[1] ?? '').replace(/^\/+|\/+$/g, '');
    for (const { path, inode } of walkFlist(reader, start, base)) process.stdout.write(longLine(reader, path, inode));
  } finally {
    reader.close();
  }
}

async function inspect(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true });
  if (positionals.length !== 1) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const reader = new FlistReader(positionals[0]!);
  try {
    process.stdout.write(`${JSON.stringify({ tags: reader.tags(), routes: reader.routes(), ...reader.stats() }, null, 2)}\n`);
  } finally {
    reader.close();
  }
}

/** Opens the flist named first with the --store/--cache options, runs `fn`, closes. */
async function withFlist(argv: string[], count: number, fn: (f: OpenedFlist, args: string[]) => Promise<void>): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: READ_OPTIONS });
  if (positionals.length !== count) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const f = await openFlist(positionals[0]!, { stores: values.store, cacheDir: values.cache });
  try {
    await fn(f, positionals.slice(1));
  } finally {
    await f.close();
  }
}

async function cat(argv: string[]): Promise<void> {
  await withFlist(argv, 2, async (f, [path]) => {
    const n = f.reader.resolve(path!);
    if (!isRegular(n.mode)) throw new CliError('NOT_A_FILE', `${path}: not a regular file`);
    for await (const block of fileBlocks(f.cache, f.reader.blocks(n.ino))) {
      if (!process.stdout.write(block)) await new Promise((r) => process.stdout.once('drain', r));
    }
  });
}

async function unpack(argv: string[]): Promise<void> {
  await withFlist(argv, 2, async (f, [dest]) => {
    const count = await unpackFlist(f.reader, f.cache, dest!);
    process.stderr.write(`unpacked ${count} entries into ${dest}\n`);
  });
}
