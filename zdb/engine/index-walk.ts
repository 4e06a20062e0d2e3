import { FLAG_DELETED, INDEX_HEADER_SIZE, INDEX_ITEM_HEADER_SIZE, type IndexItem } from './format.js';
import { Errors } from './errors.js';
import type { FileSet } from './file-set.js';

/**
 * What a walk reads of a namespace (Namespace provides it): named here so the walk does not
 * import the namespace that calls it.
 */
export interface IndexSource {
  readonly files: Pick<FileSet, 'headId' | 'indexSize'>;
  readonly lastIndexItem: number;
  readIndexItemAt(fileId: number, offset: number): { item: IndexItem; key: Buffer } | null;
}

/** An index item found on disk, with where it lives. */
export interface IndexPosition {
  fileId: number;
  offset: number;
  item: IndexItem;
  key: Buffer;
}

/**
 * Walks a namespace's index files the way 0-db's SCAN and RSCAN do: in file order,
 * skipping items flagged deleted (in user mode only the newest version of a key is not).
 */
export function itemAt(ns: IndexSource, fileId: number, offset: number): IndexPosition | null {
  if (fileId > ns.files.headId || offset < INDEX_HEADER_SIZE) return null;
  const found = ns.readIndexItemAt(fileId, offset);
  return found ? { fileId, offset, ...found } : null;
}

/** First live item at or after (fileId, offset). */
export function liveFrom(ns: IndexSource, fileId: number, offset: number): IndexPosition | null {
  for (;;) {
    const pos = itemAt(ns, fileId, offset);
    if (!pos) {
      if (fileId >= ns.files.headId) return null;
      fileId++;
      offset = INDEX_HEADER_SIZE;
      continue;
    }
    if (!(pos.item.flags & FLAG_DELETED)) return pos;
    offset += INDEX_ITEM_HEADER_SIZE + pos.item.keyLength;
  }
}

export function firstLive(ns: IndexSource): IndexPosition | null {
  return liveFrom(ns, 0, INDEX_HEADER_SIZE);
}

export function nextLive(ns: IndexSource, from: IndexPosition): IndexPosition | null {
  return liveFrom(ns, from.fileId, from.offset + INDEX_ITEM_HEADER_SIZE + from.item.keyLength);
}

/** The live item before `from`, following the `previous` links (across files). */
export function previousLive(ns: IndexSource, from: IndexPosition): IndexPosition | null {
  let cur = from;
  for (;;) {
    let fileId = cur.fileId;
    let target = cur.item.previous;
    if (target === 0) return null;
    // A previous offset at or past our own means the item is the last one of the file before.
    if (target >= cur.offset) fileId--;
    if (target === 1) target = INDEX_HEADER_SIZE;
    const pos = itemAt(ns, fileId, target);
    if (!pos) return null;
    if (!(pos.item.flags & FLAG_DELETED)) return pos;
    cur = pos;
  }
}

export function lastLive(ns: IndexSource): IndexPosition | null {
  if (ns.files.indexSize <= INDEX_HEADER_SIZE && ns.files.headId === 0) return null;
  const last = itemAt(ns, ns.files.headId, ns.lastIndexItem) ?? itemAt(ns, ns.files.headId - 1, ns.lastIndexItem);
  if (!last) return null;
  return last.item.flags & FLAG_DELETED ? previousLive(ns, last) : last;
}

/** SCAN cursor: 0-db's packed index_bkey_t (u8 key length, u32 file, u32 length, u32 offset, u32 crc). */
export const CURSOR_SIZE = 17;

export function encodeCursor(pos: {
  fileId: number;
  offset: number;
  keyLength: number;
  length: number;
  crc: number;
}): Buffer {
  const b = Buffer.alloc(CURSOR_SIZE);
  b.writeUInt8(pos.keyLength, 0);
  b.writeUInt32LE(pos.fileId, 1);
  b.writeUInt32LE(pos.length, 5);
  b.writeUInt32LE(pos.offset, 9);
  b.writeUInt32LE(pos.crc, 13);
  return b;
}

/** The item a cursor names, or null when it no longer matches what is on disk. */
export function decodeCursor(ns: IndexSource, cursor: Buffer): IndexPosition | null {
  if (cursor.length !== CURSOR_SIZE) return null;
  const pos = itemAt(ns, cursor.readUInt32LE(1), cursor.readUInt32LE(9));
  if (!pos || pos.item.length !== cursor.readUInt32LE(5) || pos.item.crc !== cursor.readUInt32LE(13)) return null;
  return pos;
}

export type ScanDirection = 'forward' | 'backward';

export interface ScanEntry {
  key: Buffer;
  length: number;
  timestamp: number;
}

/** A batch of SCAN/RSCAN: its entries and the cursor to resume after the last one. */
export interface ScanBatch {
  cursor: Buffer;
  entries: ScanEntry[];
}

/**
 * The live entries after `cursor` (from the first, or the last going backward, without one),
 * walked for about `budgetMs`: a batch is cut by time, as in 0-db.
 */
export function scanBatch(
  ns: IndexSource,
  direction: ScanDirection,
  cursor: Buffer | null,
  budgetMs: number,
): ScanBatch {
  const step = direction === 'forward' ? nextLive : previousLive;
  const batch: IndexPosition[] = [];
  let pos: IndexPosition | null;
  if (cursor === null) {
    pos = direction === 'forward' ? firstLive(ns) : lastLive(ns);
    if (!pos) throw Errors.noMoreData();
    batch.push(pos);
  } else {
    pos = decodeCursor(ns, cursor);
    if (!pos) throw Errors.badScanCursor();
  }
  const deadline = performance.now() + budgetMs;
  while (performance.now() < deadline) {
    pos = step(ns, pos);
    if (!pos) break;
    batch.push(pos);
  }
  const last = batch[batch.length - 1];
  if (!last) throw Errors.noMoreData();
  return {
    cursor: encodeCursor({
      fileId: last.fileId,
      offset: last.offset,
      keyLength: last.item.keyLength,
      length: last.item.length,
      crc: last.item.crc,
    }),
    entries: batch.map((p) => ({ key: p.key, length: p.item.length, timestamp: p.item.timestamp })),
  };
}
