import type { FlistReader } from './reader.js';
import { isDir, type Inode } from './schema.js';

/** Every inode of an flist with its path ('' for the root), parents before children. */
export function* walkFlist(
  reader: FlistReader,
  from: Inode = reader.root(),
  base = '',
): Generator<{ path: string; inode: Inode }> {
  const queue: Array<{ path: string; inode: Inode }> = [{ path: base, inode: from }];
  while (queue.length > 0) {
    const item = queue.shift()!;
    yield item;
    if (!isDir(item.inode.mode)) continue;
    for (const child of reader.children(item.inode.ino))
      queue.push({ path: item.path ? `${item.path}/${child.name}` : child.name, inode: child });
  }
}
