import type { Header } from 'tar-stream';
import type { FlistBuilder } from './builder.js';
import { FlistError } from './errors.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, type BlockRef, type NewInode } from './schema.js';
import { cleanPath, tarEntries } from './tar-entries.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** A node of the merged tree: metadata only; contents are read in a second pass. */
interface Node {
  meta: Omit<NewInode, 'parent' | 'name'>;
  /** The layer that last wrote this path (opaque dirs hide what lower layers put below). */
  layer: number;
  children?: Map<string, Node>;
  target?: Buffer;
  /** Regular files: which entry of which layer holds the bytes. */
  source?: string;
  /** Hard links: the path (in the merged tree) whose content this shares. */
  linkTo?: string;
  ino?: number;
  blocks?: BlockRef[];
}

function dirNode(layer: number, mtime: number): Node {
  return {
    meta: { size: 4096, uid: 0, gid: 0, mode: S_IFDIR | 0o755, rdev: 0, ctime: mtime, mtime },
    layer,
    children: new Map(),
  };
}

/** glibc's makedev: the rdev a device node of this major/minor has on Linux. */
function makedev(major: number, minor: number): number {
  return (major & 0xfff) * 256 + (minor & 0xff) + (minor & ~0xff) * 4096 + Math.floor(major / 4096) * 2 ** 44;
}

const TYPE_BITS: Partial<Record<NonNullable<Header['type']>, number>> = {
  file: S_IFREG,
  'contiguous-file': S_IFREG,
  link: S_IFREG,
  directory: S_IFDIR,
  symlink: S_IFLNK,
  'character-device': S_IFCHR,
  'block-device': S_IFBLK,
  fifo: S_IFIFO,
};

/**
 * Applies image layers in order into one tree, as a container runtime does: `.wh.NAME` deletes
 * NAME from lower layers, `.wh..wh..opq` hides a directory's lower contents. A first pass
 * reads only headers; the second streams each surviving file's bytes into the builder.
 */
export async function addLayers(
  builder: FlistBuilder,
  layers: string[],
  rootMtime: number,
  extra: Array<{ path: string; content: Buffer }> = [],
): Promise<void> {
  const root = dirNode(-1, rootMtime);
  for (let layer = 0; layer < layers.length; layer++) {
    let index = 0;
    for await (const entry of tarEntries(layers[layer]!)) {
      apply(root, layer, index++, entry.header);
      entry.resume();
    }
  }
  for (const e of extra) {
    const parts = e.path.split('/');
    const name = parts.pop()!;
    const parent = ensureDir(root, parts, layers.length, rootMtime);
    parent.children!.set(name, {
      meta: {
        size: e.content.length,
        uid: 0,
        gid: 0,
        mode: S_IFREG | 0o644,
        rdev: 0,
        ctime: rootMtime,
        mtime: rootMtime,
      },
      layer: layers.length,
      source: `extra:${e.path}`,
    });
  }

  const bySource = new Map<string, Node>();
  insertTree(builder, root, bySource);
  for (let layer = 0; layer < layers.length; layer++) {
    let index = 0;
    for await (const entry of tarEntries(layers[layer]!)) {
      const node = bySource.get(`${layer}:${index++}`);
      if (node) node.blocks = await builder.content(node.ino!, entry);
      else entry.resume();
    }
  }
  for (const e of extra) {
    const node = bySource.get(`extra:${e.path}`)!;
    node.blocks = await builder.content(node.ino!, toAsync(e.content));
  }
  linkContents(builder, root, root);
}

function apply(root: Node, layer: number, index: number, h: Header): void {
  const rel = cleanPath(h.name);
  const parts = rel === '' ? [] : rel.split('/');
  const name = parts.pop();
  const mtime = Math.floor((h.mtime?.getTime() ?? 0) / 1000);
  if (name === undefined) {
    if (h.type === 'directory') Object.assign(root.meta, headerMeta(h, mtime));
    return;
  }
  const parent = ensureDir(root, parts, layer, mtime);
  if (name === OPAQUE) {
    hideLower(parent, layer);
    return;
  }
  if (name.startsWith(WHITEOUT)) {
    parent.children!.delete(name.slice(WHITEOUT.length));
    return;
  }
  const existing = parent.children!.get(name);
  if (h.type === 'directory') {
    // A directory over a directory keeps what lower layers put inside.
    if (existing?.children) {
      existing.meta = headerMeta(h, mtime);
      existing.layer = layer;
    } else parent.children!.set(name, { ...dirNode(layer, mtime), meta: headerMeta(h, mtime) });
    return;
  }
  const node: Node = { meta: headerMeta(h, mtime), layer };
  if (h.type === 'symlink') node.target = Buffer.from(h.linkname ?? '');
  else if (h.type === 'link') node.linkTo = cleanPath(h.linkname ?? '');
  else if (h.type === 'file' || h.type === 'contiguous-file') node.source = `${layer}:${index}`;
  parent.children!.set(name, node);
}

function headerMeta(h: Header, mtime: number): Node['meta'] {
  const type = h.type ? TYPE_BITS[h.type] : undefined;
  if (type === undefined) throw new FlistError('BAD_FORMAT', `tar entry ${h.name}: unsupported type ${h.type}`);
  const size = type === S_IFLNK ? Buffer.byteLength(h.linkname ?? '') : type === S_IFDIR ? 4096 : (h.size ?? 0);
  const rdev = type === S_IFCHR || type === S_IFBLK ? makedev(h.devmajor ?? 0, h.devminor ?? 0) : 0;
  return { size, uid: h.uid ?? 0, gid: h.gid ?? 0, mode: type | ((h.mode ?? 0) & 0o7777), rdev, ctime: mtime, mtime };
}

function ensureDir(root: Node, parts: string[], layer: number, mtime: number): Node {
  let dir = root;
  for (const part of parts) {
    let next = dir.children!.get(part);
    if (!next?.children) {
      next = dirNode(layer, mtime);
      dir.children!.set(part, next);
    }
    dir = next;
  }
  return dir;
}

/** Drops what layers below `layer` put under `dir`, keeping this layer's own entries. */
function hideLower(dir: Node, layer: number): void {
  for (const [name, child] of dir.children!) {
    if (child.layer < layer) dir.children!.delete(name);
    else if (child.children) hideLower(child, layer);
  }
}

function find(root: Node, rel: string): Node | undefined {
  let node: Node | undefined = root;
  for (const part of rel.split('/')) node = part === '' ? node : node?.children?.get(part);
  return node;
}

/** Inodes parent first (the root as inode 1, parent 0, empty name), children by name. */
function insertTree(builder: FlistBuilder, root: Node, bySource: Map<string, Node>): void {
  const queue: Array<{ node: Node; parent: number; name: string }> = [{ node: root, parent: 0, name: '' }];
  while (queue.length > 0) {
    const { node, parent, name } = queue.shift()!;
    // A hard link is its own inode with its target's metadata (as rfs unpacks links).
    const linked = node.linkTo !== undefined ? find(root, node.linkTo) : undefined;
    if (node.linkTo !== undefined && !linked?.source)
      throw new FlistError('BAD_FORMAT', `hard link ${name} -> ${node.linkTo}: no such regular file`);
    const meta = linked ? linked.meta : node.meta;
    node.ino = builder.inode({ ...meta, parent, name }, node.target);
    if (node.source) bySource.set(node.source, node);
    const names = [...(node.children?.keys() ?? [])].sort();
    for (const child of names) queue.push({ node: node.children!.get(child)!, parent: node.ino, name: child });
  }
}

function linkContents(builder: FlistBuilder, node: Node, top: Node): void {
  if (node.linkTo !== undefined) builder.sameContent(node.ino!, find(top, node.linkTo)!.blocks ?? []);
  for (const child of node.children?.values() ?? []) linkContents(builder, child, top);
}

async function* toAsync(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}
