/** The `.fl` file as rfs writes it: a sqlite database of inodes, blocks, tags and routes. */

/** rfs's schema, statement for statement. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS inode (ino INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER, name VARCHAR(255),
  size INTEGER, uid INTEGER, gid INTEGER, mode INTEGER, rdev INTEGER, ctime INTEGER, mtime INTEGER);
CREATE INDEX IF NOT EXISTS parents ON inode (parent);
CREATE INDEX IF NOT EXISTS names ON inode (name);
CREATE TABLE IF NOT EXISTS extra (ino INTEGER PRIMARY KEY, data VARCHAR(4096));
CREATE TABLE IF NOT EXISTS block (ino INTEGER, id VARCHAR(32), key VARCHAR(32));
CREATE INDEX IF NOT EXISTS block_ino ON block (ino);
CREATE TABLE IF NOT EXISTS tag (key VARCHAR(10) PRIMARY KEY, value VARCHAR(255));
CREATE TABLE IF NOT EXISTS route (start integer, end integer, url VARCHAR(2048));
`;

/** Every regular file is cut into pieces of this size, the last one shorter. */
export const BLOCK_SIZE = 512 * 1024;
export const ROOT_INO = 1;

/** File type bits of st_mode. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFBLK = 0o060000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

export interface Inode {
  ino: number;
  parent: number;
  name: string;
  size: number;
  uid: number;
  gid: number;
  /** Full st_mode: type bits and permissions. */
  mode: number;
  rdev: number;
  /** Unix seconds. */
  ctime: number;
  mtime: number;
}

/** An inode as stored, before it has a number. */
export type NewInode = Omit<Inode, 'ino'>;

export interface BlockRef {
  /** blake2b-256 of the ciphertext: the name under which stores keep it. */
  id: Buffer;
  /** blake2b-256 of the plaintext: the AES key (and, its first 12 bytes, the nonce). */
  key: Buffer;
}

export interface Route {
  start: number;
  end: number;
  url: string;
}

export function isDir(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}
export function isRegular(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}
export function isSymlink(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}
