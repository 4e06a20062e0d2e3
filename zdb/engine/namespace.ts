import { zdbCrc32c, zdbCrc32cOfPieces } from './crc32c.js';
import { EntryTable, type EntryLocation } from './entry-table.js';
import { EngineError, Errors } from './errors.js';
import { FileSet } from './file-set.js';
import {
  DATA_ENTRY_HEADER_SIZE,
  DATA_HEADER_SIZE,
  FLAG_DELETED,
  INDEX_FLAGS_FIELD_OFFSET,
  INDEX_HEADER_SIZE,
  INDEX_ITEM_HEADER_SIZE,
  IndexMode,
  MAX_KEY_LENGTH,
  dataEntryMatches,
  readIndexItem,
  writeDataEntryHeader,
  writeIndexItem,
  type IndexItem,
} from './format.js';
import { GroupCommit } from '../../src/util/group-commit.js';
import { keyVersion, type KeyVersion } from './history.js';
import { encodeCursor, scanBatch, type ScanBatch, type ScanDirection } from './index-walk.js';
import { KeyHash } from './key-hash.js';

export const SEQ_KEY_LENGTH = 8;
const SEQ_ITEM_SIZE = INDEX_ITEM_HEADER_SIZE + SEQ_KEY_LENGTH;

export interface NamespaceOptions {
  name: string;
  dataDir: string;
  indexDir: string;
  mode: IndexMode;
  /** Rotate to a new file pair before a data file would pass this size. */
  datasize: number;
  commit: GroupCommit;
}

export interface NamespaceSettings {
  password: string;
  maxsize: number;
  public: boolean;
  worm: boolean;
  locked: boolean;
  frozen: boolean;
}

/** A namespace as NSINFO describes it. */
export interface NamespaceInfo {
  name: string;
  mode: IndexMode;
  settings: NamespaceSettings;
  entries: number;
  /** seq mode: the next id; user mode: the number of entries (as 0-db reports it). */
  nextId: number;
  dataBytes: number;
  /** 0-db's index memory figure: 64 bytes per entry plus its key. */
  indexBytes: number;
  errors: number;
  dataDir: string;
  indexDir: string;
  dataActive: string;
  indexActive: string;
  headId: number;
  headDataSize: number;
  garbageBytes: number;
}

export type SetResult = { stored: true; key: Buffer } | { stored: false };

export function seqKey(id: number): Buffer {
  const b = Buffer.alloc(SEQ_KEY_LENGTH);
  b.writeBigUInt64LE(BigInt(id));
  return b;
}

/**
 * One namespace: its files, its in-memory directory of live keys, and every read and
 * write on them. Both index modes keep 0-db's on-disk layout exactly:
 * - user mode: an update appends a new index item (parent = the old one) and flags the
 *   old item deleted in place; DEL appends a data tombstone and flags the item deleted;
 * - seq mode: ids are positions in the index; an update appends a deleted copy of the old
 *   item (consuming an id) and rewrites the item in place to point at the new data.
 */
export class Namespace {
  readonly name: string;
  // files, table, keys and the counters below are for the engine's own modules (loader,
  // compaction, walks); the protocol layer uses the methods (get, set, history, info, ...).
  readonly files: FileSet;
  readonly table = new EntryTable();
  readonly keys = new KeyHash(); // user mode only
  mode: IndexMode;
  settings: NamespaceSettings = { password: '', maxsize: 0, public: true, worm: false, locked: false, frozen: false };

  /** seq mode: items in the index (the next id); seqDeleted flags ids that are not live. */
  nextId = 0;
  seqDeleted = new Uint8Array(1024);
  /** seq mode: first id held by each index file. */
  seqFirstId: number[] = [0];

  entries = 0;
  dataBytes = 0;
  /** Bytes of each data file's entries that are the current version of a live key. */
  liveBytes: number[] = [];
  private liveKeyBytes = 0;
  /** Offset of the last item appended to the index (0-db keeps it across files). */
  lastIndexItem = 0;
  /** Offset of the last data entry appended (0-db keeps it across files, like lastIndexItem). */
  lastDataEntry = 0;
  /** Bumped by every change, so iterators and compaction can tell the index moved. */
  generation = 0;
  stats = { reads: 0, writes: 0, readBytes: 0, writeBytes: 0, errors: 0 };

  constructor(private readonly opts: NamespaceOptions) {
    this.name = opts.name;
    this.mode = opts.mode;
    this.files = new FileSet(opts.dataDir, opts.indexDir);
  }

  get commit(): GroupCommit {
    return this.opts.commit;
  }

  // ---------------------------------------------------------------- reads

  /** Slot of a live key, or -1. In seq mode the slot is the id. */
  find(key: Buffer): number {
    if (this.mode === IndexMode.User) return this.keys.find(key);
    if (key.length !== SEQ_KEY_LENGTH) return -1;
    const id = Number(key.readBigUInt64LE());
    return id < this.nextId && this.seqDeleted[id] === 0 ? id : -1;
  }

  location(slot: number): EntryLocation {
    return this.table.get(slot);
  }

  keyOf(slot: number): Buffer {
    return this.mode === IndexMode.User ? this.keys.key(slot) : seqKey(slot);
  }

  get(key: Buffer): Buffer | null {
    this.assertReadable();
    const slot = this.find(key);
    if (slot < 0) return null;
    const value = this.readValue(slot, key);
    if (value === null) return null;
    this.stats.reads++;
    this.stats.readBytes += value.length;
    return value;
  }

  exists(key: Buffer): boolean {
    this.assertReadable();
    return this.find(key) >= 0;
  }

  /** LENGTH: the size of a key's current value, null when the key is missing. */
  length(key: Buffer): number | null {
    this.assertReadable();
    const slot = this.find(key);
    return slot < 0 ? null : this.table.length[slot]!;
  }

  /** KEYTIME: the timestamp of a key's current value, null when the key is missing. */
  keytime(key: Buffer): number | null {
    this.assertReadable();
    const slot = this.find(key);
    return slot < 0 ? null : this.table.timestamp[slot]!;
  }

  /** Where the index item of a key's current version lives, null when the key is missing. */
  indexPositionOf(key: Buffer): { fileId: number; offset: number } | null {
    const slot = this.find(key);
    return slot < 0 ? null : { fileId: this.table.indexFile[slot]!, offset: this.table.indexOffset[slot]! };
  }

  /** KEYCUR: a SCAN cursor that resumes after `key`, null when the key is missing. */
  keyCursor(key: Buffer): Buffer | null {
    this.assertReadable();
    const slot = this.find(key);
    if (slot < 0) return null;
    const t = this.table;
    return encodeCursor({
      fileId: t.indexFile[slot]!,
      offset: t.indexOffset[slot]!,
      keyLength: key.length,
      length: t.length[slot]!,
      crc: t.crc[slot]!,
    });
  }

  /** HISTORY: the current version of `key`, or the older one `cursor` names. */
  history(key: Buffer, cursor?: Buffer): KeyVersion {
    this.assertReadable();
    return keyVersion(this, key, cursor);
  }

  /** SCAN (forward) and RSCAN (backward): the entries after `cursor` (from the start without one), for about `budgetMs`. */
  scan(direction: ScanDirection, cursor: Buffer | null, budgetMs: number): ScanBatch {
    this.assertReadable();
    return scanBatch(this, direction, cursor, budgetMs);
  }

  private readValue(slot: number, key: Buffer): Buffer | null {
    const t = this.table;
    return this.readEntryValue(t.dataFile[slot]!, t.dataOffset[slot]!, key, t.length[slot]!, t.crc[slot]!);
  }

  /**
   * The payload of the data entry at (dataFile, dataOffset), or null when the bytes there are
   * not `key`'s entry with this length and CRC (a stale slot, a file another process wrote):
   * a read never returns another key's value.
   */
  readEntryValue(dataFile: number, dataOffset: number, key: Buffer, length: number, crc: number): Buffer | null {
    const start = DATA_ENTRY_HEADER_SIZE + key.length;
    const entry = this.files.readDataUpTo(dataFile, dataOffset, start + length);
    if (!dataEntryMatches(entry, key, length, crc)) {
      this.stats.errors++;
      return null;
    }
    return entry.subarray(start);
  }

  /** Does the stored payload still match its CRC? null when the key is missing. */
  check(key: Buffer): boolean | null {
    this.assertReadable();
    const slot = this.find(key);
    if (slot < 0) return null;
    try {
      const value = this.readValue(slot, key);
      return value !== null && zdbCrc32c(value) === this.table.crc[slot];
    } catch {
      return false;
    }
  }

  /**
   * The data file an index item points into. 0-db leaves the field 0 for fresh user-mode
   * keys and takes the index file's id instead, so in user mode we do the same.
   */
  dataFileOf(indexFileId: number, item: IndexItem): number {
    return this.mode === IndexMode.User ? indexFileId : item.dataFileId;
  }

  readIndexItemAt(fileId: number, offset: number): { item: IndexItem; key: Buffer } | null {
    const head = this.files.readIndexUpTo(fileId, offset, INDEX_ITEM_HEADER_SIZE + MAX_KEY_LENGTH);
    if (head.length < INDEX_ITEM_HEADER_SIZE) return null;
    const item = readIndexItem(head);
    if (head.length < INDEX_ITEM_HEADER_SIZE + item.keyLength) return null;
    return { item, key: Buffer.from(head.subarray(INDEX_ITEM_HEADER_SIZE, INDEX_ITEM_HEADER_SIZE + item.keyLength)) };
  }

  // ---------------------------------------------------------------- writes

  /**
   * SET. The value may be given as the pieces it arrived in (RequestParser keeps a large one so):
   * they are hashed one after the other and written with the entry's header in one writev.
   */
  set(key: Buffer, value: Buffer | readonly Buffer[], timestamp?: number): SetResult {
    const pieces = Buffer.isBuffer(value) ? [value] : value;
    let length = 0;
    for (const p of pieces) length += p.length;
    this.assertWritable();
    if (key.length > MAX_KEY_LENGTH) throw Errors.keyTooLarge();
    const existing = this.find(key);
    if (this.mode === IndexMode.User) {
      if (key.length === 0) throw Errors.keyNeeded();
    } else if (key.length > 0 && existing < 0) {
      throw Errors.onlyUpdate();
    }
    if (existing >= 0 && this.settings.worm) throw Errors.worm();
    const floating = existing >= 0 ? this.table.length[existing]! : 0;
    if (this.settings.maxsize > 0 && this.dataBytes + length > this.settings.maxsize + floating) throw Errors.noSpace();
    const crc = zdbCrc32cOfPieces(pieces);
    // Unchanged only when byte-identical: equal CRCs alone are not proof.
    if (existing >= 0 && this.table.crc[existing] === crc && this.table.length[existing] === length) {
      const stored = this.readValue(existing, key);
      if (stored !== null && equalsPieces(stored, pieces)) return { stored: false };
    }
    const ts = timestamp ?? Math.floor(Date.now() / 1000);
    this.rotateIfNeeded(length);
    const id = this.mode === IndexMode.Seq ? (existing >= 0 ? existing : this.nextId) : -1;
    const storedKey = this.mode === IndexMode.Seq ? seqKey(id) : key;

    const dataSizeBefore = this.files.dataSize;
    const indexSizeBefore = this.files.indexSize;
    let dataOffset: number;
    try {
      dataOffset = this.appendDataEntry(storedKey, pieces, length, crc, 0, ts);
    } catch (e) {
      this.undo(dataSizeBefore, indexSizeBefore);
      throw wrapIo(e, Errors.cannotWriteData);
    }
    const loc: EntryLocation = {
      dataFile: this.files.headId,
      dataOffset,
      length,
      crc,
      timestamp: ts,
      indexFile: this.files.headId,
      indexOffset: 0,
    };
    const lastIndexBefore = this.lastIndexItem;
    const nextIdBefore = this.nextId;
    try {
      this.indexDataEntry(storedKey, loc, existing);
    } catch (e) {
      this.lastIndexItem = lastIndexBefore;
      this.nextId = nextIdBefore;
      this.undo(dataSizeBefore, indexSizeBefore);
      throw wrapIo(e, Errors.cannotWriteIndex);
    }
    this.stats.writes++;
    this.stats.writeBytes += length;
    return { stored: true, key: storedKey };
  }

  del(key: Buffer, timestamp?: number): void {
    this.assertWritable();
    const slot = this.find(key);
    if (slot < 0) throw Errors.keyNotFound();
    if (this.settings.worm) throw Errors.wormDelete();
    const storedKey = this.keyOf(slot);
    const ts = timestamp ?? Math.floor(Date.now() / 1000);
    const dataSizeBefore = this.files.dataSize;
    const indexSizeBefore = this.files.indexSize;
    try {
      this.rotateIfNeeded(0);
      this.appendDataEntry(storedKey, [], 0, 0, FLAG_DELETED, ts);
      this.flagIndexItemDeleted(this.table.indexFile[slot]!, this.table.indexOffset[slot]!);
    } catch (e) {
      this.undo(dataSizeBefore, indexSizeBefore);
      throw wrapIo(e, Errors.cannotWriteData);
    }
    this.applyDelete(slot);
  }

  // -------------------------------------------------- shared with the loader

  /**
   * Index a data entry that is on disk: write its index item(s) and record it in memory.
   * SET does this after appending the data; recovery does it for entries whose index
   * items were lost in a crash.
   */
  indexDataEntry(storedKey: Buffer, loc: EntryLocation, existing: number): void {
    if (this.mode === IndexMode.User) this.writeUserItem(storedKey, loc, existing);
    else this.writeSeqItem(Number(storedKey.readBigUInt64LE()), loc, existing);
    this.applySet(storedKey, loc, existing);
  }

  /** Apply a data tombstone found by recovery: flag the live item deleted. */
  indexTombstone(storedKey: Buffer): void {
    const slot = this.find(storedKey);
    if (slot < 0) return;
    this.flagIndexItemDeleted(this.table.indexFile[slot]!, this.table.indexOffset[slot]!);
    this.applyDelete(slot);
  }

  /** Record a set in memory (used by writes and by the loader replaying files). */
  applySet(key: Buffer, loc: EntryLocation, existing: number): number {
    let slot: number;
    if (this.mode === IndexMode.User) {
      slot = existing >= 0 ? existing : this.keys.upsert(key).slot;
    } else {
      slot = existing >= 0 ? existing : this.nextId++;
      this.ensureSeq(slot + 1);
      this.seqDeleted[slot] = 0;
    }
    if (existing >= 0) {
      this.dataBytes -= this.table.length[existing]!;
      this.addLive(existing, key.length, -1);
    } else {
      this.entries++;
      this.liveKeyBytes += key.length;
    }
    this.table.set(slot, loc);
    this.dataBytes += loc.length;
    this.addLive(slot, key.length, 1);
    this.generation++;
    return slot;
  }

  applyDelete(slot: number): void {
    const keyLength = this.mode === IndexMode.User ? this.keys.key(slot).length : SEQ_KEY_LENGTH;
    this.addLive(slot, keyLength, -1);
    this.liveKeyBytes -= keyLength;
    this.dataBytes -= this.table.length[slot]!;
    this.entries--;
    if (this.mode === IndexMode.User) this.keys.remove(this.keys.key(slot));
    else this.seqDeleted[slot] = 1;
    this.generation++;
  }

  private addLive(slot: number, keyLength: number, sign: 1 | -1): void {
    const file = this.table.dataFile[slot]!;
    this.liveBytes[file] =
      (this.liveBytes[file] ?? 0) + sign * (DATA_ENTRY_HEADER_SIZE + keyLength + this.table.length[slot]!);
  }

  /** Bytes held by dead entries (old versions, deleted keys, tombstones) in data file `id`. */
  garbageIn(id: number): number {
    return this.files.dataFileSize(id) - DATA_HEADER_SIZE - (this.liveBytes[id] ?? 0);
  }

  get garbageBytes(): number {
    let total = 0;
    for (let id = 0; id <= this.files.headId; id++) total += this.garbageIn(id);
    return total;
  }

  /** What 0-db reports as index size: its per-key memory (a 64-byte entry plus the key). */
  get indexMemoryBytes(): number {
    return this.entries * 64 + this.liveKeyBytes;
  }

  /** Anything ever written (even if deleted since), or a jump to a new file: 0-db's "used" (NSSET mode). */
  get used(): boolean {
    const f = this.files;
    return (
      this.entries > 0 ||
      this.nextId > 0 ||
      f.headId > 0 ||
      f.indexSize > INDEX_HEADER_SIZE ||
      f.dataSize > DATA_HEADER_SIZE
    );
  }

  /** What NSINFO reports. */
  info(): NamespaceInfo {
    const f = this.files;
    return {
      name: this.name,
      mode: this.mode,
      settings: { ...this.settings },
      entries: this.entries,
      nextId: this.mode === IndexMode.Seq ? this.nextId : this.entries,
      dataBytes: this.dataBytes,
      indexBytes: this.indexMemoryBytes,
      errors: this.stats.errors,
      dataDir: f.dataDir,
      indexDir: f.indexDir,
      dataActive: f.dataPath(f.headId),
      indexActive: f.indexPath(f.headId),
      headId: f.headId,
      headDataSize: f.dataSize,
      garbageBytes: this.garbageBytes,
    };
  }

  /** Start a new file pair now (NSJUMP). */
  jump(): void {
    this.rotate();
  }

  ensureSeq(n: number): void {
    if (n <= this.seqDeleted.length) return;
    let cap = this.seqDeleted.length;
    while (cap < n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.seqDeleted);
    this.seqDeleted = next;
  }

  /** Index file and offset of seq id `id` (ids are positions: 0-db finds them by arithmetic). */
  seqPosition(id: number): { fileId: number; offset: number } {
    let lo = 0;
    let hi = this.seqFirstId.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.seqFirstId[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    return { fileId: lo, offset: INDEX_HEADER_SIZE + (id - this.seqFirstId[lo]!) * SEQ_ITEM_SIZE };
  }

  // ---------------------------------------------------------------- internals

  private appendDataEntry(
    key: Buffer,
    value: readonly Buffer[],
    length: number,
    crc: number,
    flags: number,
    ts: number,
  ): number {
    const head = Buffer.allocUnsafe(DATA_ENTRY_HEADER_SIZE + key.length);
    writeDataEntryHeader(head, 0, {
      keyLength: key.length,
      dataLength: length,
      previous: this.lastDataEntry,
      crc,
      flags,
      timestamp: ts,
    });
    key.copy(head, DATA_ENTRY_HEADER_SIZE);
    const at = this.files.appendData([head, ...value]);
    this.lastDataEntry = at;
    this.commit.markDirty(this.files.dataFd);
    return at;
  }

  private appendIndexItem(key: Buffer, item: Omit<IndexItem, 'keyLength' | 'previous'>): number {
    const buf = Buffer.allocUnsafe(INDEX_ITEM_HEADER_SIZE + key.length);
    writeIndexItem(buf, 0, { ...item, keyLength: key.length, previous: this.lastIndexItem });
    key.copy(buf, INDEX_ITEM_HEADER_SIZE);
    const at = this.files.appendIndex(buf);
    this.lastIndexItem = at;
    this.commit.markDirty(this.files.indexFd);
    return at;
  }

  private writeUserItem(key: Buffer, loc: EntryLocation, existing: number): void {
    const parentFile = existing >= 0 ? this.table.indexFile[existing]! : 0;
    const parentOffset = existing >= 0 ? this.table.indexOffset[existing]! : 0;
    loc.indexOffset = this.appendIndexItem(key, liveItem(loc, parentFile, parentOffset));
    // The new item is durable before the old one is flagged: a crash in between leaves
    // two live items, and the later one wins on reload.
    if (existing >= 0) this.flagIndexItemDeleted(parentFile, parentOffset);
  }

  private writeSeqItem(id: number, loc: EntryLocation, existing: number): void {
    const key = seqKey(id);
    if (existing < 0) {
      loc.indexOffset = this.appendIndexItem(key, liveItem(loc, 0, 0));
      return;
    }
    const pos = this.seqPosition(id);
    const original = this.readIndexItemAt(pos.fileId, pos.offset);
    if (!original) throw Errors.cannotWriteIndex();
    // A deleted copy of the old version keeps the history chain; it takes an id.
    const copyOffset = this.appendIndexItem(key, { ...original.item, flags: original.item.flags | FLAG_DELETED });
    this.seqNoteAppendedId();
    const updated = Buffer.allocUnsafe(SEQ_ITEM_SIZE);
    writeIndexItem(updated, 0, {
      ...liveItem(loc, this.files.headId, copyOffset),
      keyLength: SEQ_KEY_LENGTH,
      previous: original.item.previous,
    });
    key.copy(updated, INDEX_ITEM_HEADER_SIZE);
    this.files.writeIndexAt(pos.fileId, pos.offset, updated);
    this.commit.markDirty(this.files.fd('i', pos.fileId));
    loc.indexFile = pos.fileId;
    loc.indexOffset = pos.offset;
  }

  /** The deleted copy written by a seq update occupies the next id. */
  seqNoteAppendedId(): void {
    this.ensureSeq(this.nextId + 1);
    this.seqDeleted[this.nextId] = 1;
    this.nextId++;
  }

  flagIndexItemDeleted(fileId: number, offset: number): void {
    const fd = this.files.fd('i', fileId);
    const flags = this.files.readIndex(fileId, offset + INDEX_FLAGS_FIELD_OFFSET, 1);
    flags[0] = flags[0]! | FLAG_DELETED;
    this.files.writeIndexAt(fileId, offset + INDEX_FLAGS_FIELD_OFFSET, flags);
    this.commit.markDirty(fd);
  }

  rotateIfNeeded(payload: number): void {
    if (this.files.dataSize + payload <= this.opts.datasize || this.files.dataSize <= DATA_HEADER_SIZE) return;
    this.rotate();
  }

  private rotate(): void {
    this.commit.syncAndForget(this.files.dataFd);
    this.commit.syncAndForget(this.files.indexFd);
    const next = this.files.headId + 1;
    this.files.openHead(next, this.mode);
    if (this.mode === IndexMode.Seq) this.seqFirstId[next] = this.nextId;
  }

  private undo(dataSize: number, indexSize: number): void {
    try {
      this.files.truncateHead(dataSize, indexSize);
    } catch {
      // The disk refuses even a truncate; the loader trims torn tails on restart.
    }
    this.stats.errors++;
  }

  assertReadable(): void {
    if (this.settings.frozen) throw Errors.frozen();
  }

  assertWritable(): void {
    if (this.settings.frozen) throw Errors.frozen();
    if (this.settings.locked) throw Errors.locked();
  }
}

/** The index item of a live entry at `loc` whose previous version is at (parentFile, parentOffset). */
function liveItem(
  loc: EntryLocation,
  parentFileId: number,
  parentOffset: number,
): Omit<IndexItem, 'keyLength' | 'previous'> {
  return {
    dataOffset: loc.dataOffset,
    length: loc.length,
    flags: 0,
    dataFileId: loc.dataFile,
    timestamp: loc.timestamp,
    crc: loc.crc,
    parentFileId,
    parentOffset,
  };
}

/** Does `whole` hold exactly the bytes of `pieces`, one after the other? */
function equalsPieces(whole: Buffer, pieces: readonly Buffer[]): boolean {
  let at = 0;
  for (const p of pieces) {
    if (at + p.length > whole.length || !whole.subarray(at, at + p.length).equals(p)) return false;
    at += p.length;
  }
  return at === whole.length;
}

function wrapIo(e: unknown, fallback: (cause: unknown) => Error): Error {
  if (e instanceof EngineError) return e;
  return fallback(e);
}
