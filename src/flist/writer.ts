import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SCHEMA, type BlockRef, type NewInode, type Route } from './schema.js';

/**
 * Writes a `.fl` file. Everything goes in one transaction, committed by finish(): a create
 * that fails leaves no half flist behind (abort() removes the file).
 */
export class FlistWriter {
  private readonly db: Database.Database;
  private readonly insertInode: Database.Statement;
  private readonly insertExtra: Database.Statement;
  private readonly insertBlock: Database.Statement;

  constructor(private readonly file: string) {
    fs.rmSync(file, { force: true });
    this.db = new Database(file);
    // rfs opens its flists in rollback-journal mode: a single file, nothing beside it.
    this.db.pragma('journal_mode = DELETE');
    this.db.exec(SCHEMA);
    this.insertInode = this.db.prepare(
      'INSERT INTO inode (parent, name, size, uid, gid, mode, rdev, ctime, mtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertExtra = this.db.prepare('INSERT INTO extra (ino, data) VALUES (?, ?)');
    this.insertBlock = this.db.prepare('INSERT INTO block (ino, id, key) VALUES (?, ?, ?)');
    this.db.exec('BEGIN');
  }

  /** Adds an inode (with a symlink target as its extra data); resolves with its number. */
  inode(n: NewInode, target?: Buffer): number {
    const r = this.insertInode.run(n.parent, n.name, n.size, n.uid, n.gid, n.mode, n.rdev, n.ctime, n.mtime);
    const ino = Number(r.lastInsertRowid);
    if (target !== undefined) this.insertExtra.run(ino, target);
    return ino;
  }

  /** The next block of a file: insertion order is block order. */
  block(ino: number, block: BlockRef): void {
    this.insertBlock.run(ino, block.id, block.key);
  }

  route(r: Route): void {
    this.db.prepare('INSERT INTO route (start, end, url) VALUES (?, ?, ?)').run(r.start, r.end, r.url);
  }

  tag(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO tag (key, value) VALUES (?, ?)').run(key, value);
  }

  finish(): void {
    this.db.exec('COMMIT');
    this.db.close();
  }

  abort(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.db.close();
    fs.rmSync(this.file, { force: true });
  }
}
