import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { writeAllSync } from './file-set.js';
import {
  DATA_ENTRY_HEADER_SIZE,
  DATA_HEADER_SIZE,
  FLAG_DELETED,
  INDEX_HEADER_SIZE,
  INDEX_ITEM_HEADER_SIZE,
  IndexMode,
  readDataEntryHeader,
  writeIndexItem,
} from './format.js';
import type { Namespace } from './namespace.js';

export interface CompactionOptions {
  /** Compact a sealed file only when at least this fraction of it is dead entries. */
  minGarbageRatio: number;
  log: (message: string) => void;
}

const MARKER_PREFIX = 'compact-';
const SUFFIX = '.compact';
const COPY_BATCH = 4 * 1024 * 1024;

/** A live entry copied into the new file: where it was and where it is now. */
interface Moved {
  key: Buffer;
  oldOffset: number;
  newOffset: number;
  length: number;
  crc: number;
  timestamp: number;
  indexAt: number;
}

/**
 * Online compaction: each sealed file pair (dN, iN) with enough dead entries is rewritten
 * with only its live entries (and the tombstones of keys still deleted), under the same
 * file number, so the files stay in 0-db's format and numbering. The copy runs in slices
 * between client requests; the switch is one synchronous step guarded by a marker file, so
 * a crash at any moment leaves either the old pair or the new one (see finishInterrupted).
 * Seq-mode namespaces are left alone: their ids are positions in the index.
 */
export async function compactNamespace(ns: Namespace, opts: CompactionOptions): Promise<number> {
  if (ns.mode !== IndexMode.User) return 0;
  if (opts.minGarbageRatio === 0 && ns.garbageIn(ns.files.headId) > 0 && ns.files.dataSize > DATA_HEADER_SIZE)
    ns.jump();
  let freed = 0;
  for (let id = 0; id < ns.files.headId; id++) {
    const body = ns.files.dataFileSize(id) - DATA_HEADER_SIZE;
    const garbage = ns.garbageIn(id);
    if (garbage <= 0 || garbage < body * opts.minGarbageRatio) continue;
    freed += await compactFile(ns, id);
    opts.log(`compacted ${ns.name}/d${id}: ${garbage} bytes of dead entries`);
  }
  return freed;
}

async function compactFile(ns: Namespace, id: number): Promise<number> {
  const dataPath = ns.files.dataPath(id);
  const indexPath = ns.files.indexPath(id);
  const oldDataSize = ns.files.dataFileSize(id);
  const generation = ns.generation;
  const newData = fs.openSync(dataPath + SUFFIX, 'w', 0o600);
  const moved: Moved[] = [];
  let newSize: number;
  try {
    const oldHeader = ns.files.readData(id, 0, DATA_HEADER_SIZE);
    writeAllSync(newData, [oldHeader], 0);
    newSize = DATA_HEADER_SIZE;
    let previous = 0;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (let at = DATA_HEADER_SIZE; at + DATA_ENTRY_HEADER_SIZE <= oldDataSize;) {
      const head = ns.files.readData(id, at, DATA_ENTRY_HEADER_SIZE);
      const h = readDataEntryHeader(head);
      const size = DATA_ENTRY_HEADER_SIZE + h.keyLength + h.dataLength;
      const key = ns.files.readData(id, at + DATA_ENTRY_HEADER_SIZE, h.keyLength);
      const slot = ns.find(key);
      const keep =
        h.flags & FLAG_DELETED
          ? slot < 0
          : slot >= 0 && ns.table.dataFile[slot] === id && ns.table.dataOffset[slot] === at;
      if (keep) {
        const entry = ns.files.readData(id, at, size);
        entry.writeUInt32LE(previous, 5);
        previous = newSize;
        if (!(h.flags & FLAG_DELETED)) {
          moved.push({
            key,
            oldOffset: at,
            newOffset: newSize,
            length: h.dataLength,
            crc: h.crc,
            timestamp: h.timestamp,
            indexAt: 0,
          });
        }
        batch.push(entry);
        batchBytes += size;
        newSize += size;
      }
      at += size;
      if (batchBytes >= COPY_BATCH) {
        writeAllSync(newData, batch, newSize - batchBytes);
        batch = [];
        batchBytes = 0;
        await yieldToEventLoop();
      }
    }
    writeAllSync(newData, batch, newSize - batchBytes);
    await new Promise<void>((resolve, reject) => fs.fdatasync(newData, (e) => (e ? reject(e) : resolve())));
  } finally {
    fs.closeSync(newData);
  }
  // From here on nothing yields: the switch is atomic for every client.
  if (ns.files.headId === id) throw new Error('head file cannot be compacted');
  const index = buildIndex(ns, id, moved);
  writeFileDurably(indexPath + SUFFIX, index);
  const marker = path.join(ns.files.indexDir, MARKER_PREFIX + id);
  writeFileDurably(marker, Buffer.from(String(id)));
  syncDir(ns.files.indexDir);
  for (const kind of ['d', 'i'] as const) {
    ns.commit.syncAndForget(ns.files.fd(kind, id));
    ns.files.forget(kind, id);
  }
  fs.renameSync(dataPath + SUFFIX, dataPath);
  fs.renameSync(indexPath + SUFFIX, indexPath);
  syncDir(ns.files.dataDir);
  syncDir(ns.files.indexDir);
  fs.rmSync(marker);
  repointMemory(ns, id, moved);
  relinkNextFile(ns, id, moved);
  if (generation !== ns.generation) ns.generation++;
  return oldDataSize - newSize;
}

/** The new index file: one item per moved entry; entries no longer current are flagged deleted. */
function buildIndex(ns: Namespace, id: number, moved: Moved[]): Buffer {
  const oldFirst = ns.readIndexItemAt(id, INDEX_HEADER_SIZE);
  const parts: Buffer[] = [ns.files.readIndex(id, 0, INDEX_HEADER_SIZE)];
  let offset = INDEX_HEADER_SIZE;
  let previous = oldFirst ? oldFirst.item.previous : 0;
  for (const m of moved) {
    const slot = ns.find(m.key);
    const current = slot >= 0 && ns.table.dataFile[slot] === id && ns.table.dataOffset[slot] === m.oldOffset;
    const item = Buffer.allocUnsafe(INDEX_ITEM_HEADER_SIZE + m.key.length);
    writeIndexItem(item, 0, {
      keyLength: m.key.length,
      dataOffset: m.newOffset,
      length: m.length,
      previous,
      flags: current ? 0 : FLAG_DELETED,
      dataFileId: id,
      timestamp: m.timestamp,
      crc: m.crc,
      parentFileId: 0,
      parentOffset: 0,
    });
    m.key.copy(item, INDEX_ITEM_HEADER_SIZE);
    m.indexAt = current ? offset : -1;
    parts.push(item);
    previous = offset;
    offset += item.length;
  }
  return Buffer.concat(parts);
}

function repointMemory(ns: Namespace, id: number, moved: Moved[]): void {
  let live = 0;
  for (const m of moved) {
    if (m.indexAt < 0) continue;
    const slot = ns.find(m.key);
    ns.table.dataOffset[slot] = m.newOffset;
    ns.table.indexOffset[slot] = m.indexAt;
    live += DATA_ENTRY_HEADER_SIZE + m.key.length + m.length;
  }
  ns.liveBytes[id] = live;
}

/** RSCAN follows `previous` links: the next file's first item must point at our new last one. */
function relinkNextFile(ns: Namespace, id: number, moved: Moved[]): void {
  const lastItem = lastItemOffset(ns, id, moved);
  const next = id + 1;
  if (ns.files.indexFileSize(next) > INDEX_HEADER_SIZE) {
    const first = ns.files.readIndex(next, INDEX_HEADER_SIZE, INDEX_ITEM_HEADER_SIZE);
    first.writeUInt32LE(lastItem, 9);
    ns.files.writeIndexAt(next, INDEX_HEADER_SIZE, first.subarray(0, INDEX_ITEM_HEADER_SIZE));
    ns.commit.markDirty(ns.files.fd('i', next));
  } else if (next === ns.files.headId) {
    ns.lastIndexItem = lastItem;
  }
}

function lastItemOffset(ns: Namespace, id: number, moved: Moved[]): number {
  if (moved.length === 0) {
    const first = ns.readIndexItemAt(id, INDEX_HEADER_SIZE);
    return first ? first.item.previous : 0;
  }
  let offset = INDEX_HEADER_SIZE;
  for (let i = 0; i < moved.length - 1; i++) offset += INDEX_ITEM_HEADER_SIZE + moved[i]!.key.length;
  return offset;
}

function writeFileDurably(file: string, body: Buffer): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    writeAllSync(fd, [body], 0);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Before loading a namespace: finish a compaction that crashed after its marker was
 * written (both new files are complete), or discard one that crashed before.
 */
export function finishInterrupted(dataDir: string, indexDir: string): void {
  for (const name of fs.readdirSync(indexDir)) {
    if (!name.startsWith(MARKER_PREFIX)) continue;
    const id = Number(name.slice(MARKER_PREFIX.length));
    for (const [dir, file] of [
      [dataDir, `d${id}`],
      [indexDir, `i${id}`],
    ] as const) {
      const pending = path.join(dir, file + SUFFIX);
      if (fs.existsSync(pending)) fs.renameSync(pending, path.join(dir, file));
    }
    fs.rmSync(path.join(indexDir, name));
  }
  for (const dir of [dataDir, indexDir]) {
    for (const name of fs.readdirSync(dir)) if (name.endsWith(SUFFIX)) fs.rmSync(path.join(dir, name));
  }
}
