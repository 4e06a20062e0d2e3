import fs from 'node:fs';
import { zdbCrc32c } from './crc32c.js';
import { readExact } from './file-set.js';
import {
  DATA_ENTRY_HEADER_SIZE,
  DATA_HEADER_SIZE,
  FLAG_DELETED,
  INDEX_HEADER_SIZE,
  INDEX_ITEM_HEADER_SIZE,
  IndexMode,
  dataEntryMatches,
  decodeIndexHeader,
  readDataEntryHeader,
  readIndexItem,
  type DataEntryHeader,
} from './format.js';
import type { Namespace } from './namespace.js';

export interface LoadReport {
  indexFiles: number;
  /** Data entries indexed again because their index items were lost. */
  recovered: number;
  /** Bytes cut from torn tails of the head data and index files. */
  truncatedBytes: number;
}

/** The mode recorded in a namespace's first index file, or null when it has none yet. */
export function recordedMode(ns: Namespace): IndexMode | null {
  const p = ns.files.indexPath(0);
  if (!fs.existsSync(p)) return null;
  const fd = fs.openSync(p, 'r');
  try {
    if (fs.fstatSync(fd).size < INDEX_HEADER_SIZE) return null;
    return decodeIndexHeader(readExact(fd, 0, INDEX_HEADER_SIZE)).mode;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads a namespace from its files and repairs what a crash can leave behind:
 * - an index tail item cut short, or pointing at data that never reached the disk: cut;
 * - data entries written but never indexed (the index item was lost): indexed again;
 * - a torn data tail (short entry or bad CRC): cut;
 * - index files missing for existing data files: rebuilt from the data (keys are stored
 *   with every data entry for exactly this).
 */
export function loadNamespace(ns: Namespace): LoadReport {
  const report: LoadReport = { indexFiles: 0, recovered: 0, truncatedBytes: 0 };
  const indexCount = ns.files.countIndexFiles();
  const files = Math.max(indexCount, ns.files.countDataFiles(), 1);
  // How far into each data file the index reaches (seq updates point anywhere, so keep the max).
  const indexedEnd = new Map<number, number>();
  for (let id = 0; id < files; id++) {
    if (ns.mode === IndexMode.Seq) ns.seqFirstId[id] = ns.nextId;
    if (id < indexCount) {
      report.truncatedBytes += replayIndexFile(ns, id, id === files - 1, indexedEnd);
      report.indexFiles++;
    }
    ns.files.openHead(id, ns.mode);
    if (id === files - 1 && id < indexCount) {
      const cut = trimUnbackedTail(ns);
      if (cut > 0) {
        report.truncatedBytes += cut;
        indexedEnd.set(id, indexedDataEnd(ns, id));
      }
    }
    // Data entries past the last indexed one: lost index items, or a whole lost index file.
    const from = Math.max(indexedEnd.get(id) ?? DATA_HEADER_SIZE, DATA_HEADER_SIZE);
    if (id === files - 1) ns.lastDataEntry = lastEntryBefore(ns, id, from);
    const scan = reindexData(ns, id, from);
    report.recovered += scan.recovered;
    report.truncatedBytes += scan.truncated;
  }
  return report;
}

function noteIndexed(indexedEnd: Map<number, number>, dataFile: number, end: number): void {
  if ((indexedEnd.get(dataFile) ?? 0) < end) indexedEnd.set(dataFile, end);
}

/** Where the data the index of file `id` points at ends in data file `id`. */
function indexedDataEnd(ns: Namespace, id: number): number {
  const buf = fs.readFileSync(ns.files.indexPath(id));
  let end = DATA_HEADER_SIZE;
  for (let at = INDEX_HEADER_SIZE; at + INDEX_ITEM_HEADER_SIZE <= buf.length;) {
    const item = readIndexItem(buf, at);
    if (ns.dataFileOf(id, item) === id)
      end = Math.max(end, item.dataOffset + DATA_ENTRY_HEADER_SIZE + item.keyLength + item.length);
    at += INDEX_ITEM_HEADER_SIZE + item.keyLength;
  }
  return end;
}

/** Replays one index file into memory; cuts a torn tail item when the file is the head. */
function replayIndexFile(ns: Namespace, id: number, isHead: boolean, indexedEnd: Map<number, number>): number {
  const p = ns.files.indexPath(id);
  const buf = fs.readFileSync(p);
  if (buf.length < INDEX_HEADER_SIZE) {
    fs.truncateSync(p, 0);
    return buf.length;
  }
  let at = INDEX_HEADER_SIZE;
  while (at + INDEX_ITEM_HEADER_SIZE <= buf.length) {
    const item = readIndexItem(buf, at);
    const end = at + INDEX_ITEM_HEADER_SIZE + item.keyLength;
    if (end > buf.length) break;
    const key = buf.subarray(at + INDEX_ITEM_HEADER_SIZE, end);
    const dataFile = ns.dataFileOf(id, item);
    noteIndexed(indexedEnd, dataFile, item.dataOffset + DATA_ENTRY_HEADER_SIZE + item.keyLength + item.length);
    const loc = {
      dataFile,
      dataOffset: item.dataOffset,
      length: item.length,
      crc: item.crc,
      timestamp: item.timestamp,
      indexFile: id,
      indexOffset: at,
    };
    if (ns.mode === IndexMode.User) {
      if (item.flags & FLAG_DELETED) {
        const slot = ns.find(key);
        if (slot >= 0) ns.applyDelete(slot);
      } else {
        ns.applySet(Buffer.from(key), loc, ns.find(key));
      }
    } else if (item.flags & FLAG_DELETED) {
      ns.seqNoteAppendedId();
      ns.table.set(ns.nextId - 1, loc);
    } else {
      ns.applySet(key, loc, -1);
    }
    ns.lastIndexItem = at;
    at = end;
  }
  if (at < buf.length && isHead) {
    fs.truncateSync(p, at);
    return buf.length - at;
  }
  return 0;
}

/**
 * Drops index items at the tail of the head index whose data entry is not wholly on disk
 * with a matching CRC (index and data are separate files: after a crash either can be
 * ahead of the other).
 */
function trimUnbackedTail(ns: Namespace): number {
  let cut = 0;
  for (;;) {
    const at = ns.lastIndexItem;
    if (ns.files.indexSize <= INDEX_HEADER_SIZE || at < INDEX_HEADER_SIZE) return cut;
    const found = ns.readIndexItemAt(ns.files.headId, at);
    if (!found) return cut;
    const { item, key } = found;
    if (
      ns.dataFileOf(ns.files.headId, item) !== ns.files.headId ||
      entryMatches(ns, item.dataOffset, key, item.length, item.crc)
    )
      return cut;
    // Forget the item: undo its effect in memory and cut it from the file.
    const slot = ns.find(key);
    if (slot >= 0 && ns.table.indexOffset[slot] === at && ns.table.indexFile[slot] === ns.files.headId)
      ns.applyDelete(slot);
    if (ns.mode === IndexMode.Seq) ns.nextId--;
    cut += ns.files.indexSize - at;
    ns.files.truncateHead(ns.files.dataSize, at);
    ns.lastIndexItem = item.previous;
  }
}

function entryMatches(ns: Namespace, offset: number, key: Buffer, length: number, crc: number): boolean {
  if (offset < DATA_HEADER_SIZE) return false;
  const entry = ns.files.readDataUpTo(ns.files.headId, offset, DATA_ENTRY_HEADER_SIZE + key.length + length);
  return (
    dataEntryMatches(entry, key, length, crc) && zdbCrc32c(entry.subarray(DATA_ENTRY_HEADER_SIZE + key.length)) === crc
  );
}

/**
 * Walks data file `id` from `from`, indexing every entry the index does not have, and
 * cuts the file at the first entry that is short or fails its CRC.
 */
function reindexData(ns: Namespace, id: number, from: number): { recovered: number; truncated: number } {
  const size = ns.files.dataSize;
  let at = from;
  let recovered = 0;
  while (at + DATA_ENTRY_HEADER_SIZE <= size) {
    const entry = readEntry(ns, id, at, size);
    if (!entry) break;
    const { header, key } = entry;
    if (header.flags & FLAG_DELETED) {
      ns.indexTombstone(key);
    } else {
      const loc = {
        dataFile: id,
        dataOffset: at,
        length: header.dataLength,
        crc: header.crc,
        timestamp: header.timestamp,
        indexFile: id,
        indexOffset: 0,
      };
      if (ns.mode === IndexMode.Seq) {
        const seqId = Number(key.readBigUInt64LE());
        if (seqId > ns.nextId) break; // an id the index never handed out: not ours
        ns.indexDataEntry(key, loc, seqId < ns.nextId ? ns.find(key) : -1);
      } else {
        ns.indexDataEntry(key, loc, ns.find(key));
      }
      recovered++;
    }
    ns.lastDataEntry = at;
    at += DATA_ENTRY_HEADER_SIZE + header.keyLength + header.dataLength;
  }
  let truncated = 0;
  if (at < size) {
    truncated = size - at;
    ns.files.truncateHead(at, ns.files.indexSize);
  }
  return { recovered, truncated };
}

function readEntry(
  ns: Namespace,
  id: number,
  at: number,
  size: number,
): { header: DataEntryHeader; key: Buffer } | null {
  const header = readDataEntryHeader(ns.files.readData(id, at, DATA_ENTRY_HEADER_SIZE));
  const end = at + DATA_ENTRY_HEADER_SIZE + header.keyLength + header.dataLength;
  if (end > size || header.keyLength === 0) return null;
  const key = ns.files.readData(id, at + DATA_ENTRY_HEADER_SIZE, header.keyLength);
  if (ns.mode === IndexMode.Seq && key.length !== 8) return null;
  if (!(header.flags & FLAG_DELETED)) {
    const payload = ns.files.readData(id, at + DATA_ENTRY_HEADER_SIZE + header.keyLength, header.dataLength);
    if (zdbCrc32c(payload) !== header.crc) return null;
  }
  return { header, key };
}

/** Offset of the last data entry that ends at or before `until` (the next entry's `previous`). */
function lastEntryBefore(ns: Namespace, id: number, until: number): number {
  let last = 0;
  for (let at = DATA_HEADER_SIZE; at + DATA_ENTRY_HEADER_SIZE <= until;) {
    const h = readDataEntryHeader(ns.files.readData(id, at, DATA_ENTRY_HEADER_SIZE));
    const next = at + DATA_ENTRY_HEADER_SIZE + h.keyLength + h.dataLength;
    if (next > until) break;
    last = at;
    at = next;
  }
  return last;
}
