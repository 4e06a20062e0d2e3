import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BlockCache } from './block-cache.js';
import { FlistError } from './errors.js';
import { fileBlocks } from './file-content.js';
import type { FlistReader } from './reader.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, type Inode } from './schema.js';
import { walkFlist } from './walk-flist.js';

const run = promisify(execFile);

/** glibc's major/minor of an rdev. */
function devParts(rdev: number): [number, number] {
  const major = (Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
  return [major, minor];
}

/**
 * Writes the flist's tree under `dest` (which may exist): contents, modes, owners (when root)
 * and times. Directory modes and times are set last, so a read-only directory can be filled.
 */
export async function unpackFlist(
  reader: FlistReader,
  cache: BlockCache,
  dest: string,
  onFile?: (path: string) => void,
): Promise<number> {
  const dirs: Array<{ full: string; inode: Inode }> = [];
  const asRoot = process.getuid?.() === 0;
  let count = 0;
  await fsp.mkdir(dest, { recursive: true });
  for (const { path: rel, inode } of walkFlist(reader)) {
    const full = rel === '' ? dest : path.join(dest, rel);
    const type = inode.mode & S_IFMT;
    switch (type) {
      case S_IFDIR:
        if (rel !== '') await fsp.mkdir(full, { mode: 0o700 });
        dirs.push({ full, inode });
        break;
      case S_IFREG:
        await pipeline(
          Readable.from(fileBlocks(cache, reader.blocks(inode.ino))),
          fs.createWriteStream(full, { mode: 0o600 }),
        );
        break;
      case S_IFLNK:
        await fsp.symlink(reader.target(inode.ino), full);
        break;
      case S_IFIFO:
      case S_IFCHR:
      case S_IFBLK: {
        const [major, minor] = devParts(inode.rdev);
        const args =
          type === S_IFIFO ? [full, 'p'] : [full, type === S_IFCHR ? 'c' : 'b', String(major), String(minor)];
        await run('mknod', args).catch((err: Error) => {
          throw new FlistError('MOUNT', `mknod ${rel}: ${err.message}`, { cause: err });
        });
        break;
      }
      case S_IFSOCK:
        continue; // a socket only exists while something listens on it
      default:
        throw new FlistError('BAD_FORMAT', `${rel}: unknown file type ${type.toString(8)}`);
    }
    count++;
    onFile?.(rel);
    if (type !== S_IFDIR) await setMeta(full, inode, asRoot);
  }
  for (const { full, inode } of dirs.reverse()) await setMeta(full, inode, asRoot);
  return count;
}

async function setMeta(full: string, inode: Inode, asRoot: boolean): Promise<void> {
  const link = (inode.mode & S_IFMT) === S_IFLNK;
  if (asRoot) await fsp.lchown(full, inode.uid, inode.gid);
  // chown clears setuid bits: the mode goes after it. Symlinks have no mode of their own.
  if (!link) await fsp.chmod(full, inode.mode & 0o7777);
  await fsp.lutimes(full, inode.mtime, inode.mtime);
}
