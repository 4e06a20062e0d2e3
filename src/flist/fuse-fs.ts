import type { FuseOps, FuseStat } from 'fuse-native';
import type { BlockCache } from './block-cache.js';
import { FlistError } from './errors.js';
import { readRange } from './file-content.js';
import type { FlistReader } from './reader.js';
import { isDir, isRegular, isSymlink, type BlockRef, type Inode } from './schema.js';

// Linux errno values, negated as FUSE wants them.
const ENOENT = -2;
const EIO = -5;
const EROFS = -30;
const EINVAL = -22;
const O_ACCMODE = 3;
/** Blocks fetched ahead of a sequential reader. */
const READ_AHEAD = 8;

interface Handle {
  inode: Inode;
  blocks: BlockRef[];
  /** Where the last read ended: a read starting there is sequential. */
  next: number;
}

export interface FsEvents {
  /** A read failed (missing or corrupt block): that read got EIO. */
  onReadError?: (path: string, err: unknown) => void;
}

function statOf(n: Inode): FuseStat {
  const ms = (s: number) => s * 1000;
  return {
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.size,
    nlink: isDir(n.mode) ? 2 : 1,
    ino: n.ino,
    rdev: n.rdev,
    blksize: 4096,
    blocks: Math.ceil(n.size / 512),
    atime: ms(n.mtime),
    mtime: ms(n.mtime),
    ctime: ms(n.ctime),
  };
}

/** The FUSE operations of a read-only flist: metadata from sqlite, contents through the block cache. */
export function flistOps(reader: FlistReader, cache: BlockCache, events: FsEvents = {}): FuseOps {
  const paths = new Map<string, Inode>();
  const handles = new Map<number, Handle>();
  let nextFd = 1;

  const lookup = (p: string): Inode | undefined => {
    let n = paths.get(p);
    if (n) return n;
    try {
      n = reader.resolve(p);
    } catch (err) {
      if (err instanceof FlistError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
    paths.set(p, n);
    return n;
  };

  return {
    getattr(p, cb) {
      const n = lookup(p);
      if (n) cb(0, statOf(n));
      else cb(ENOENT);
    },
    readdir(p, cb) {
      const n = lookup(p);
      if (!n) return cb(ENOENT);
      const children = reader.children(n.ino);
      for (const c of children) paths.set(p === '/' ? `/${c.name}` : `${p}/${c.name}`, c);
      cb(0, ['.', '..', ...children.map((c) => c.name)], [statOf(n), statOf(n), ...children.map(statOf)]);
    },
    readlink(p, cb) {
      const n = lookup(p);
      if (!n) return cb(ENOENT);
      if (!isSymlink(n.mode)) return cb(EINVAL);
      cb(0, reader.target(n.ino).toString());
    },
    open(p, flags, cb) {
      const n = lookup(p);
      if (!n) return cb(ENOENT);
      if ((flags & O_ACCMODE) !== 0) return cb(EROFS);
      const fd = nextFd++;
      handles.set(fd, { inode: n, blocks: isRegular(n.mode) ? reader.blocks(n.ino) : [], next: 0 });
      cb(0, fd);
    },
    read(p, fd, buf, len, pos, cb) {
      const h = handles.get(fd);
      if (!h) return cb(EIO);
      const sequential = pos === h.next;
      readRange(cache, h.blocks, h.inode.size, pos, len, sequential ? READ_AHEAD : 0).then(
        (data) => {
          data.copy(buf);
          h.next = pos + data.length;
          cb(data.length);
        },
        (err: unknown) => {
          events.onReadError?.(p, err);
          cb(EIO);
        },
      );
    },
    release(_p, fd, cb) {
      handles.delete(fd);
      cb(0);
    },
  };
}
