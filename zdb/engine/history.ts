import { Errors } from './errors.js';
import type { IndexItem } from './format.js';
import { itemAt, type IndexPosition, type IndexSource } from './index-walk.js';

/** What a history walk reads of a namespace (Namespace provides it). */
export interface HistorySource extends IndexSource {
  indexPositionOf(key: Buffer): { fileId: number; offset: number } | null;
  readEntryValue(dataFile: number, dataOffset: number, key: Buffer, length: number, crc: number): Buffer | null;
  dataFileOf(indexFileId: number, item: IndexItem): number;
}

/** One version of a key, as HISTORY answers it. */
export interface KeyVersion {
  /** Cursor naming the version before this one; null at the oldest. */
  previous: Buffer | null;
  timestamp: number;
  value: Buffer;
}

/** HISTORY cursor: 0-db's index_ekey_t (u32 index file, u32 offset). */
const CURSOR_SIZE = 8;

function encodeParent(fileId: number, offset: number): Buffer | null {
  if (fileId === 0 && offset === 0) return null;
  const b = Buffer.alloc(CURSOR_SIZE);
  b.writeUInt32LE(fileId, 0);
  b.writeUInt32LE(offset, 4);
  return b;
}

/** The version of `key` a cursor names (the current one without a cursor), following 0-db's chain of parents. */
export function keyVersion(ns: HistorySource, key: Buffer, cursor?: Buffer): KeyVersion {
  const pos = cursor === undefined ? currentVersion(ns, key) : versionAt(ns, key, cursor);
  const { item } = pos;
  const value = ns.readEntryValue(ns.dataFileOf(pos.fileId, item), item.dataOffset, pos.key, item.length, item.crc);
  if (value === null) throw Errors.unreadable();
  return { previous: encodeParent(item.parentFileId, item.parentOffset), timestamp: item.timestamp, value };
}

function currentVersion(ns: HistorySource, key: Buffer): IndexPosition {
  const at = ns.indexPositionOf(key);
  if (!at) throw Errors.keyNotFound();
  const pos = itemAt(ns, at.fileId, at.offset);
  if (!pos) throw Errors.unreadable();
  return pos;
}

function versionAt(ns: HistorySource, key: Buffer, cursor: Buffer): IndexPosition {
  if (cursor.length !== CURSOR_SIZE) throw Errors.badHistoryCursor();
  const fileId = cursor.readUInt32LE(0);
  const offset = cursor.readUInt32LE(4);
  if (fileId === 0 && offset === 0) throw Errors.noMoreHistory();
  const pos = itemAt(ns, fileId, offset);
  if (!pos) throw Errors.badHistoryCursor(' (index query)');
  // A compacted file may have moved what the cursor named: the key must still match.
  if (!pos.key.equals(key)) throw Errors.badHistoryCursor(' (invalid key)');
  return pos;
}
