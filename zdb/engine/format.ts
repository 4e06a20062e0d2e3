/**
 * The 0-db v2 file formats, byte for byte (all integers little-endian, structures packed).
 * Only this file knows the layouts; everything else goes through these encoders/decoders.
 */

export const DATA_MAGIC = 'DAT0';
export const DATA_VERSION = 3;
export const DATA_HEADER_SIZE = 28;
export const DATA_ENTRY_HEADER_SIZE = 18;

export const INDEX_MAGIC = 'IDX0';
export const INDEX_VERSION = 4;
export const INDEX_HEADER_SIZE = 29;
export const INDEX_ITEM_HEADER_SIZE = 34;

export const NS_DESCRIPTOR_FILE = 'zdb-namespace';
export const NS_DESCRIPTOR_VERSION = 1;
export const NS_DESCRIPTOR_HEADER_SIZE = 15;

export const FLAG_DELETED = 1;

export const NS_FLAG_PUBLIC = 1;
export const NS_FLAG_WORM = 2;
export const NS_FLAG_EXTENDED = 4;

export const MAX_KEY_LENGTH = 255;

export enum IndexMode {
  User = 0,
  Seq = 1,
}

export interface FileHeader {
  created: number;
  opened: number;
  fileId: number;
}

/** The common start of data and index file headers: magic, version, times, file id. */
function encodeFileHeader(magic: string, version: number, h: FileHeader, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.write(magic, 0, 'latin1');
  b.writeUInt32LE(version, 4);
  b.writeBigUInt64LE(BigInt(h.created), 8);
  b.writeBigUInt64LE(BigInt(h.opened), 16);
  b.writeUInt32LE(h.fileId, 24);
  return b;
}

export function encodeDataHeader(h: FileHeader): Buffer {
  return encodeFileHeader(DATA_MAGIC, DATA_VERSION, h, DATA_HEADER_SIZE);
}

export interface IndexFileHeader extends FileHeader {
  mode: IndexMode;
}

export function encodeIndexHeader(h: IndexFileHeader): Buffer {
  const b = encodeFileHeader(INDEX_MAGIC, INDEX_VERSION, h, INDEX_HEADER_SIZE);
  b.writeUInt8(h.mode, 28);
  return b;
}

export function decodeIndexHeader(b: Buffer): IndexFileHeader {
  if (b.length < INDEX_HEADER_SIZE || b.toString('latin1', 0, 4) !== INDEX_MAGIC)
    throw new Error('not a 0-db index file');
  const version = b.readUInt32LE(4);
  if (version !== INDEX_VERSION) throw new Error(`unsupported index file version ${version}`);
  return {
    created: Number(b.readBigUInt64LE(8)),
    opened: Number(b.readBigUInt64LE(16)),
    fileId: b.readUInt32LE(24),
    mode: b.readUInt8(28) as IndexMode,
  };
}

/** Header of one data entry; the key and then the payload follow it. */
export interface DataEntryHeader {
  keyLength: number;
  dataLength: number;
  previous: number;
  crc: number;
  flags: number;
  timestamp: number;
}

export function writeDataEntryHeader(b: Buffer, at: number, e: DataEntryHeader): void {
  b.writeUInt8(e.keyLength, at);
  b.writeUInt32LE(e.dataLength, at + 1);
  b.writeUInt32LE(e.previous, at + 5);
  b.writeUInt32LE(e.crc, at + 9);
  b.writeUInt8(e.flags, at + 13);
  b.writeUInt32LE(e.timestamp, at + 14);
}

export function readDataEntryHeader(b: Buffer, at = 0): DataEntryHeader {
  return {
    keyLength: b.readUInt8(at),
    dataLength: b.readUInt32LE(at + 1),
    previous: b.readUInt32LE(at + 5),
    crc: b.readUInt32LE(at + 9),
    flags: b.readUInt8(at + 13),
    timestamp: b.readUInt32LE(at + 14),
  };
}

/**
 * Is `entry` (bytes read at a data entry's offset) the live entry of `key` with this payload
 * length and CRC, as an index item or the in-memory index says? Its payload is not hashed here.
 */
export function dataEntryMatches(entry: Buffer, key: Buffer, length: number, crc: number): boolean {
  if (entry.length !== DATA_ENTRY_HEADER_SIZE + key.length + length) return false;
  const head = readDataEntryHeader(entry);
  if (head.keyLength !== key.length || head.dataLength !== length || head.crc !== crc || head.flags & FLAG_DELETED)
    return false;
  return entry.subarray(DATA_ENTRY_HEADER_SIZE, DATA_ENTRY_HEADER_SIZE + key.length).equals(key);
}

/** One index item; the key follows it. */
export interface IndexItem {
  keyLength: number;
  dataOffset: number;
  length: number;
  previous: number;
  flags: number;
  dataFileId: number;
  timestamp: number;
  crc: number;
  parentFileId: number;
  parentOffset: number;
}

export const INDEX_FLAGS_FIELD_OFFSET = 13;

export function writeIndexItem(b: Buffer, at: number, i: IndexItem): void {
  b.writeUInt8(i.keyLength, at);
  b.writeUInt32LE(i.dataOffset, at + 1);
  b.writeUInt32LE(i.length, at + 5);
  b.writeUInt32LE(i.previous, at + 9);
  b.writeUInt8(i.flags, at + INDEX_FLAGS_FIELD_OFFSET);
  b.writeUInt32LE(i.dataFileId, at + 14);
  b.writeUInt32LE(i.timestamp, at + 18);
  b.writeUInt32LE(i.crc, at + 22);
  b.writeUInt32LE(i.parentFileId, at + 26);
  b.writeUInt32LE(i.parentOffset, at + 30);
}

export function readIndexItem(b: Buffer, at = 0): IndexItem {
  return {
    keyLength: b.readUInt8(at),
    dataOffset: b.readUInt32LE(at + 1),
    length: b.readUInt32LE(at + 5),
    previous: b.readUInt32LE(at + 9),
    flags: b.readUInt8(at + INDEX_FLAGS_FIELD_OFFSET),
    dataFileId: b.readUInt32LE(at + 14),
    timestamp: b.readUInt32LE(at + 18),
    crc: b.readUInt32LE(at + 22),
    parentFileId: b.readUInt32LE(at + 26),
    parentOffset: b.readUInt32LE(at + 30),
  };
}

export interface NamespaceDescriptor {
  name: string;
  password: string;
  maxsize: number;
  public: boolean;
  worm: boolean;
}

export function encodeNamespaceDescriptor(d: NamespaceDescriptor): Buffer {
  const name = Buffer.from(d.name);
  const pass = Buffer.from(d.password);
  const b = Buffer.alloc(NS_DESCRIPTOR_HEADER_SIZE + name.length + pass.length);
  b.writeUInt32LE(NS_DESCRIPTOR_VERSION, 0);
  b.writeUInt8(name.length, 4);
  b.writeUInt8(pass.length, 5);
  b.writeBigUInt64LE(BigInt(d.maxsize), 6);
  b.writeUInt8(NS_FLAG_EXTENDED | (d.public ? NS_FLAG_PUBLIC : 0) | (d.worm ? NS_FLAG_WORM : 0), 14);
  name.copy(b, NS_DESCRIPTOR_HEADER_SIZE);
  pass.copy(b, NS_DESCRIPTOR_HEADER_SIZE + name.length);
  return b;
}

export function decodeNamespaceDescriptor(b: Buffer): NamespaceDescriptor {
  if (b.length < NS_DESCRIPTOR_HEADER_SIZE) throw new Error('namespace descriptor too short');
  const nameLen = b.readUInt8(4);
  const passLen = b.readUInt8(5);
  const flags = b.readUInt8(14);
  const start = NS_DESCRIPTOR_HEADER_SIZE;
  if (b.length < start + nameLen + passLen) throw new Error('namespace descriptor truncated');
  return {
    maxsize: Number(b.readBigUInt64LE(6)),
    public: (flags & NS_FLAG_PUBLIC) !== 0,
    worm: (flags & NS_FLAG_WORM) !== 0,
    name: b.toString('utf8', start, start + nameLen),
    password: b.toString('utf8', start + nameLen, start + nameLen + passLen),
  };
}

export function dataFileName(id: number): string {
  return `d${id}`;
}

export function indexFileName(id: number): string {
  return `i${id}`;
}
