/**
 * An independent reader of 0-db v2 files, written from the spec (docs: shared/specs/zdb.md) for
 * tests: it shares no code with the server, so a layout mistake in the server's format code
 * cannot hide itself. All integers little-endian, structures packed.
 */
import fs from 'node:fs';
import path from 'node:path';

// ------------------------------------------------------------------ CRC32C (init 0, no final xor)

const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** 0-db's CRC: Castagnoli polynomial, reflected, initial value 0, no final xor. */
export function crc32cZdb(data: Buffer): number {
  let c = 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

// ------------------------------------------------------------------ data files

export const DATA_HEADER_SIZE = 28;
export const DATA_ENTRY_HEADER_SIZE = 18;
export const INDEX_HEADER_SIZE = 29;
export const INDEX_ITEM_HEADER_SIZE = 34;
export const FLAG_DELETED = 1;

export interface DataFileHeader {
  magic: string;
  version: number;
  created: bigint;
  opened: bigint;
  fileId: number;
}

export interface DataEntry {
  /** Offset of the entry header in the file. */
  offset: number;
  keyLength: number;
  dataLength: number;
  previous: number;
  crc: number;
  flags: number;
  timestamp: number;
  key: Buffer;
  payload: Buffer;
}

export interface DataFile {
  header: DataFileHeader;
  entries: DataEntry[];
  /** Bytes after the last complete entry (a torn tail); 0 for a clean file. */
  trailing: number;
}

export function parseDataFile(buf: Buffer): DataFile {
  if (buf.length < DATA_HEADER_SIZE) throw new Error(`data file too short (${buf.length} bytes)`);
  const header: DataFileHeader = {
    magic: buf.toString('latin1', 0, 4),
    version: buf.readUInt32LE(4),
    created: buf.readBigUInt64LE(8),
    opened: buf.readBigUInt64LE(16),
    fileId: buf.readUInt32LE(24),
  };
  const entries: DataEntry[] = [];
  let at = DATA_HEADER_SIZE;
  while (at + DATA_ENTRY_HEADER_SIZE <= buf.length) {
    const keyLength = buf.readUInt8(at);
    const dataLength = buf.readUInt32LE(at + 1);
    const end = at + DATA_ENTRY_HEADER_SIZE + keyLength + dataLength;
    if (end > buf.length) break;
    const keyStart = at + DATA_ENTRY_HEADER_SIZE;
    entries.push({
      offset: at,
      keyLength,
      dataLength,
      previous: buf.readUInt32LE(at + 5),
      crc: buf.readUInt32LE(at + 9),
      flags: buf.readUInt8(at + 13),
      timestamp: buf.readUInt32LE(at + 14),
      key: Buffer.from(buf.subarray(keyStart, keyStart + keyLength)),
      payload: Buffer.from(buf.subarray(keyStart + keyLength, end)),
    });
    at = end;
  }
  return { header, entries, trailing: buf.length - at };
}

// ------------------------------------------------------------------ index files

export interface IndexFileHeader {
  magic: string;
  version: number;
  created: bigint;
  opened: bigint;
  fileId: number;
  mode: number;
}

export interface IndexItem {
  offset: number;
  keyLength: number;
  dataOffset: number;
  length: number;
  previous: number;
  flags: number;
  dataId: number;
  timestamp: number;
  crc: number;
  parentId: number;
  parentOffset: number;
  key: Buffer;
}

export interface IndexFile {
  header: IndexFileHeader;
  items: IndexItem[];
  trailing: number;
}

export function parseIndexFile(buf: Buffer): IndexFile {
  if (buf.length < INDEX_HEADER_SIZE) throw new Error(`index file too short (${buf.length} bytes)`);
  const header: IndexFileHeader = {
    magic: buf.toString('latin1', 0, 4),
    version: buf.readUInt32LE(4),
    created: buf.readBigUInt64LE(8),
    opened: buf.readBigUInt64LE(16),
    fileId: buf.readUInt32LE(24),
    mode: buf.readUInt8(28),
  };
  const items: IndexItem[] = [];
  let at = INDEX_HEADER_SIZE;
  while (at + INDEX_ITEM_HEADER_SIZE <= buf.length) {
    const keyLength = buf.readUInt8(at);
    const end = at + INDEX_ITEM_HEADER_SIZE + keyLength;
    if (end > buf.length) break;
    items.push({
      offset: at,
      keyLength,
      dataOffset: buf.readUInt32LE(at + 1),
      length: buf.readUInt32LE(at + 5),
      previous: buf.readUInt32LE(at + 9),
      flags: buf.readUInt8(at + 13),
      dataId: buf.readUInt32LE(at + 14),
      timestamp: buf.readUInt32LE(at + 18),
      crc: buf.readUInt32LE(at + 22),
      parentId: buf.readUInt32LE(at + 26),
      parentOffset: buf.readUInt32LE(at + 30),
      key: Buffer.from(buf.subarray(at + INDEX_ITEM_HEADER_SIZE, end)),
    });
    at = end;
  }
  return { header, items, trailing: buf.length - at };
}

// ------------------------------------------------------------------ namespace descriptor

export interface NamespaceDescriptor {
  version: number;
  name: string;
  password: string;
  maxsize: bigint;
  flags: number;
  public: boolean;
  worm: boolean;
}

export function parseDescriptor(buf: Buffer): NamespaceDescriptor {
  if (buf.length < 15) throw new Error(`descriptor too short (${buf.length} bytes)`);
  const nameLength = buf.readUInt8(4);
  const passLength = buf.readUInt8(5);
  const flags = buf.readUInt8(14);
  return {
    version: buf.readUInt32LE(0),
    maxsize: buf.readBigUInt64LE(6),
    flags,
    public: (flags & 1) !== 0,
    worm: (flags & 2) !== 0,
    name: buf.toString('utf8', 15, 15 + nameLength),
    password: buf.toString('utf8', 15 + nameLength, 15 + nameLength + passLength),
  };
}

// ------------------------------------------------------------------ a whole namespace

export interface NamespaceFiles {
  descriptor: NamespaceDescriptor;
  /** Indexed by file id; consecutive from 0. */
  data: DataFile[];
  index: IndexFile[];
}

/** Reads `<indexDir>/<ns>/{zdb-namespace,i0..}` and `<dataDir>/<ns>/d0..`. */
export function readNamespace(dataDir: string, indexDir: string, ns: string): NamespaceFiles {
  const descriptor = parseDescriptor(fs.readFileSync(path.join(indexDir, ns, 'zdb-namespace')));
  const index: IndexFile[] = [];
  const data: DataFile[] = [];
  for (let id = 0; fs.existsSync(path.join(indexDir, ns, `i${id}`)); id++) {
    index.push(parseIndexFile(fs.readFileSync(path.join(indexDir, ns, `i${id}`))));
    const dataPath = path.join(dataDir, ns, `d${id}`);
    data.push(parseDataFile(fs.existsSync(dataPath) ? fs.readFileSync(dataPath) : Buffer.alloc(0)));
  }
  return { descriptor, data, index };
}

export interface LiveValue {
  key: Buffer;
  value: Buffer;
  crc: number;
  timestamp: number;
  /** Where the live index item is. */
  indexId: number;
  indexOffset: number;
}

/**
 * The live keys of a namespace as a reader of the files sees them: every index item not
 * flagged deleted, in append order, with its payload read from the data file the item names
 * (user mode: the data file with the index file's id; seq mode: the item's data id).
 */
export function liveValues(files: NamespaceFiles): LiveValue[] {
  const out: LiveValue[] = [];
  const seq = files.index[0]?.header.mode === 1;
  files.index.forEach((file, indexId) => {
    for (const item of file.items) {
      if (item.flags & FLAG_DELETED) continue;
      const dataId = seq ? item.dataId : indexId;
      const dataFile = files.data[dataId];
      if (!dataFile) throw new Error(`item ${item.key.toString('hex')} names missing data file ${dataId}`);
      const entry = dataFile.entries.find((e) => e.offset === item.dataOffset);
      if (!entry) throw new Error(`item ${item.key.toString('hex')}: no data entry at d${dataId}:${item.dataOffset}`);
      if (!entry.key.equals(item.key))
        throw new Error(`item ${item.key.toString('hex')}: data entry has key ${entry.key.toString('hex')}`);
      out.push({
        key: item.key,
        value: entry.payload,
        crc: item.crc,
        timestamp: item.timestamp,
        indexId,
        indexOffset: item.offset,
      });
    }
  });
  return out;
}
