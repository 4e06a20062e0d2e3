import fs from 'node:fs';
import path from 'node:path';
import { dropFromPageCache } from '../../src/util/page-cache.js';
import { invariant } from './errors.js';
import {
  DATA_HEADER_SIZE,
  INDEX_HEADER_SIZE,
  IndexMode,
  dataFileName,
  encodeDataHeader,
  encodeIndexHeader,
  indexFileName,
} from './format.js';

const READ_FD_CACHE = 32;
/** Offsets are u32 in index items and data entries: a file never grows past this. */
const MAX_FILE_OFFSET = 0xffffffff;

/**
 * The numbered data (`d<N>`) and index (`i<N>`) files of one namespace: the pair being
 * appended to, and a small cache of descriptors for reading older ones. All I/O is
 * positional and synchronous, as in 0-db: page-cache reads and writes cost microseconds,
 * and a single writer keeps the append order trivially consistent. Only fsync is async.
 *
 * Index items are written behind: appended to memory and written in one call per event-loop
 * turn (and before anything reads the head index or syncs it). A data entry is written at
 * once, and holds its key, so an index item lost in a crash is rebuilt from the data.
 */
export class FileSet {
  headId = 0;
  dataFd = -1;
  indexFd = -1;
  dataSize = 0;
  indexSize = 0;
  private readFds = new Map<string, number>();
  private pendingIndex: Buffer[] = [];
  private pendingIndexBytes = 0;
  private flushScheduled = false;
  /** The head data file's size when the running sync began (evictSynced's bound). */
  private syncStart: { headId: number; dataSize: number } | null = null;
  /** The head data file's bytes below this are no longer kept in the page cache. */
  private evictedUpTo = 0;

  constructor(
    readonly dataDir: string,
    readonly indexDir: string,
  ) {}

  dataPath(id: number): string {
    return path.join(this.dataDir, dataFileName(id));
  }

  indexPath(id: number): string {
    return path.join(this.indexDir, indexFileName(id));
  }

  /** Number of consecutive index files from i0 (0-db stops loading at the first gap). */
  countIndexFiles(): number {
    let n = 0;
    while (fs.existsSync(this.indexPath(n))) n++;
    return n;
  }

  countDataFiles(): number {
    let n = 0;
    while (fs.existsSync(this.dataPath(n))) n++;
    return n;
  }

  /** Opens (creating with headers when absent) the pair `id` for appending. */
  openHead(id: number, mode: IndexMode): void {
    // File ids only go up, one at a time: an older pair reopened for appending would be overwritten.
    invariant(
      id === this.headId + 1 || (this.dataFd < 0 && id === this.headId),
      () => `head file ${id} opened after ${this.headId}`,
    );
    this.flushIndex();
    // The old head stays open for reads (and for a flush that may still be running on it).
    if (this.dataFd >= 0) {
      this.readFds.set('d' + this.headId, this.dataFd);
      this.readFds.set('i' + this.headId, this.indexFd);
      this.dataFd = this.indexFd = -1;
    }
    this.headId = id;
    this.dataFd = openOrCreate(this.dataPath(id), () => encodeDataHeader(header(id)));
    this.indexFd = openOrCreate(this.indexPath(id), () => encodeIndexHeader({ ...header(id), mode }));
    this.dataSize = fs.fstatSync(this.dataFd).size;
    this.indexSize = fs.fstatSync(this.indexFd).size;
    this.evictedUpTo = 0;
  }

  /** Notes how much of the head data file the sync starting now puts on disk. */
  noteSyncStart(): void {
    this.syncStart = this.dataFd >= 0 ? { headId: this.headId, dataSize: this.dataSize } : null;
  }

  /**
   * After that sync: drops the head data file's newly synced bytes from the page cache. Shards
   * are written once and read rarely; cached, they hold memory a node's workloads need.
   */
  evictSynced(): void {
    const synced = this.syncStart;
    this.syncStart = null;
    if (synced === null || synced.headId !== this.headId || this.dataFd < 0) return;
    this.evictedUpTo = dropFromPageCache(this.dataFd, this.evictedUpTo, Math.min(synced.dataSize, this.dataSize));
  }

  closeHead(): void {
    this.flushIndex();
    if (this.dataFd >= 0) fs.closeSync(this.dataFd);
    if (this.indexFd >= 0) fs.closeSync(this.indexFd);
    this.dataFd = this.indexFd = -1;
  }

  appendData(parts: Buffer[]): number {
    const at = this.dataSize;
    let total = 0;
    for (const p of parts) total += p.length;
    invariant(
      at >= DATA_HEADER_SIZE && at + total <= MAX_FILE_OFFSET,
      () => `data append of ${total} bytes at ${at} in d${this.headId}`,
    );
    writeAllSync(this.dataFd, parts, at);
    this.dataSize += total;
    return at;
  }

  appendIndex(item: Buffer): number {
    const at = this.indexSize;
    invariant(
      at >= INDEX_HEADER_SIZE && at + item.length <= MAX_FILE_OFFSET,
      () => `index append of ${item.length} bytes at ${at} in i${this.headId}`,
    );
    this.pendingIndex.push(item);
    this.pendingIndexBytes += item.length;
    this.indexSize += item.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        try {
          this.flushIndex();
        } catch {
          // Kept pending: the next flush (a read, a sync, a rotation) retries and reports it.
        }
      });
    }
    return at;
  }

  /** Writes the index items appended since the last flush. */
  flushIndex(): void {
    if (this.pendingIndexBytes === 0) return;
    writeAllSync(this.indexFd, this.pendingIndex, this.indexSize - this.pendingIndexBytes);
    this.pendingIndex = [];
    this.pendingIndexBytes = 0;
  }

  /** Undo a partial append (a failed write must leave no torn entry behind). */
  truncateHead(dataSize: number, indexSize: number): void {
    // Only a tail we appended is cut: never a header, never growing the file with zeros.
    invariant(
      dataSize >= DATA_HEADER_SIZE &&
        dataSize <= this.dataSize &&
        indexSize >= INDEX_HEADER_SIZE &&
        indexSize <= this.indexSize,
      () => `truncate of pair ${this.headId} to ${dataSize}/${indexSize} (sizes ${this.dataSize}/${this.indexSize})`,
    );
    try {
      this.flushIndex();
      fs.ftruncateSync(this.dataFd, dataSize);
      fs.ftruncateSync(this.indexFd, indexSize);
    } finally {
      this.dataSize = dataSize;
      this.indexSize = indexSize;
      this.evictedUpTo = Math.min(this.evictedUpTo, dataSize);
    }
  }

  readData(fileId: number, offset: number, length: number): Buffer {
    return readExact(this.fd('d', fileId), offset, length);
  }

  /** Reads up to `length` bytes of a data file (less at its end). */
  readDataUpTo(fileId: number, offset: number, length: number): Buffer {
    return readUpTo(this.fd('d', fileId), offset, length);
  }

  readIndex(fileId: number, offset: number, length: number): Buffer {
    if (fileId === this.headId) this.flushIndex();
    return readExact(this.fd('i', fileId), offset, length);
  }

  /** Reads up to `length` bytes (less at the end of the file). */
  readIndexUpTo(fileId: number, offset: number, length: number): Buffer {
    if (fileId === this.headId) this.flushIndex();
    return readUpTo(this.fd('i', fileId), offset, length);
  }

  /** Rewrites bytes of an item already in index file `fileId` (flags, a seq update in place). */
  writeIndexAt(fileId: number, offset: number, bytes: Buffer): void {
    const size = this.indexFileSize(fileId);
    invariant(
      offset >= INDEX_HEADER_SIZE && offset + bytes.length <= size,
      () => `index rewrite of ${bytes.length} bytes at ${offset} in i${fileId} of ${size} bytes`,
    );
    if (fileId === this.headId) this.flushIndex();
    writeAllSync(this.fd('i', fileId), [bytes], offset);
  }

  indexFileSize(fileId: number): number {
    return fileId === this.headId ? this.indexSize : fs.fstatSync(this.fd('i', fileId)).size;
  }

  dataFileSize(fileId: number): number {
    return fileId === this.headId ? this.dataSize : fs.fstatSync(this.fd('d', fileId)).size;
  }

  /** Descriptor for file `kind+id`: the head's own, or one from the read cache. */
  fd(kind: 'd' | 'i', id: number): number {
    if (id === this.headId && this.dataFd >= 0) return kind === 'd' ? this.dataFd : this.indexFd;
    const name = kind + id;
    const cached = this.readFds.get(name);
    if (cached !== undefined) {
      // Refresh its place in the LRU order.
      this.readFds.delete(name);
      this.readFds.set(name, cached);
      return cached;
    }
    const fd = fs.openSync(kind === 'd' ? this.dataPath(id) : this.indexPath(id), 'r+');
    this.readFds.set(name, fd);
    if (this.readFds.size > READ_FD_CACHE) {
      const [oldName, oldFd] = this.readFds.entries().next().value as [string, number];
      this.readFds.delete(oldName);
      fs.closeSync(oldFd);
    }
    return fd;
  }

  /** Forget cached descriptors of a file that was replaced on disk (compaction). */
  forget(kind: 'd' | 'i', id: number): void {
    const fd = this.readFds.get(kind + id);
    if (fd === undefined) return;
    this.readFds.delete(kind + id);
    fs.closeSync(fd);
  }

  close(): void {
    this.closeHead();
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
  }
}

/** 0-db writes 0 for both times, so that the files of two replicas compare byte-equal. */
function header(id: number): { created: number; opened: number; fileId: number } {
  return { created: 0, opened: 0, fileId: id };
}

function openOrCreate(file: string, initial: () => Buffer): number {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  const head = initial();
  // A file shorter than its header was torn while being created: start it again.
  if (fs.fstatSync(fd).size < head.length) {
    fs.ftruncateSync(fd, 0);
    writeAllSync(fd, [head], 0);
  }
  return fd;
}

export function writeAllSync(fd: number, parts: Buffer[], position: number): number {
  let total = 0;
  for (const p of parts) total += p.length;
  let written = 0;
  let pos = position;
  let pending = parts;
  while (written < total) {
    const n = fs.writevSync(fd, pending, pos);
    written += n;
    pos += n;
    if (written < total) pending = skipBytes(pending, n);
  }
  return total;
}

function skipBytes(parts: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (n >= p.length) {
      n -= p.length;
      continue;
    }
    out.push(n > 0 ? p.subarray(n) : p);
    n = 0;
  }
  return out;
}

function readUpTo(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

export function readExact(fd: number, offset: number, length: number): Buffer {
  const buf = readUpTo(fd, offset, length);
  if (buf.length < length) throw new Error(`short read at ${offset + buf.length}`);
  return buf;
}
