import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { FlistBuilder } from './builder.js';
import { BLOCK_SIZE, type BlockRef, type NewInode } from './schema.js';

const SLASH = Buffer.from('/');

function inodeOf(st: fs.Stats, parent: number, name: string): NewInode {
  return {
    parent,
    name,
    size: st.size,
    uid: st.uid,
    gid: st.gid,
    mode: st.mode,
    rdev: st.rdev,
    ctime: Math.floor(st.ctimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

/**
 * Adds the tree under `root` to the builder: the root as inode 1 (parent 0, empty name), then
 * directory by directory. Symlinks are not followed. Hard links become separate inodes with
 * the same blocks, as rfs makes them; their content is read once. Paths are handled as bytes,
 * so names that are not UTF-8 are still found; they are stored as text (lossy, as rfs does).
 */
export async function addDirectory(builder: FlistBuilder, root: string): Promise<void> {
  const rootStat = await fsp.stat(root);
  const queue: Array<{ dir: Buffer; ino: number }> = [
    { dir: Buffer.from(path.resolve(root)), ino: builder.inode(inodeOf(rootStat, 0, '')) },
  ];
  const linked = new Map<string, BlockRef[]>();
  while (queue.length > 0) {
    const { dir, ino: parent } = queue.shift()!;
    // Sorted, so the same tree always gives the same flist.
    const names = (await fsp.readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const name of names) {
      const full = Buffer.concat([dir, SLASH, name]);
      const st = await fsp.lstat(full);
      const target = st.isSymbolicLink() ? await fsp.readlink(full, { encoding: 'buffer' }) : undefined;
      const ino = builder.inode(inodeOf(st, parent, name.toString()), target);
      if (st.isDirectory()) queue.push({ dir: full, ino });
      else if (st.isFile()) {
        const identity = `${st.dev}:${st.ino}`;
        const known = st.nlink > 1 ? linked.get(identity) : undefined;
        if (known) builder.sameContent(ino, known);
        else {
          const blocks = await builder.content(ino, fs.createReadStream(full, { highWaterMark: BLOCK_SIZE }));
          if (st.nlink > 1) linked.set(identity, blocks);
        }
      }
    }
  }
}
