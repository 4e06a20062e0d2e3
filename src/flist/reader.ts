import Database from 'better-sqlite3';
import { FlistError } from './errors.js';
import { ROOT_INO, S_IFMT, S_IFREG, type BlockRef, type Inode, type Route } from './schema.js';

/** Reads a `.fl` file (ours or rfs's) without changing it. */
export class FlistReader {
  private readonly db: Database.Database;
  private readonly byIno: Database.Statement<[number], Inode>;
  private readonly byParent: Database.Statement<[number], Inode>;
  private readonly byName: Database.Statement<[number, string], Inode>;
  private readonly extra: Database.Statement<[number], { data: Buffer | string }>;
  private readonly blockRows: Database.Statement<[number], BlockRef>;

  constructor(file: string) {
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      const columns = 'ino, parent, name, size, uid, gid, mode, rdev, ctime, mtime';
      this.byIno = this.db.prepare(`SELECT ${columns} FROM inode WHERE ino = ?`);
      this.byParent = this.db.prepare(`SELECT ${columns} FROM inode WHERE parent = ? ORDER BY ino`);
      this.byName = this.db.prepare(`SELECT ${columns} FROM inode WHERE parent = ? AND name = ?`);
      this.extra = this.db.prepare('SELECT data FROM extra WHERE ino = ?');
      this.blockRows = this.db.prepare('SELECT id, key FROM block WHERE ino = ? ORDER BY rowid');
    } catch (err) {
      throw new FlistError('BAD_FORMAT', `${file}: not an flist (${(err as Error).message})`, { cause: err });
    }
  }

  root(): Inode {
    return this.inode(ROOT_INO);
  }

  inode(ino: number): Inode {
    const row = this.byIno.get(ino);
    if (!row) throw new FlistError('NOT_FOUND', `no inode ${ino}`);
    return row;
  }

  children(ino: number): Inode[] {
    return this.byParent.all(ino);
  }

  lookup(parent: number, name: string): Inode | undefined {
    return this.byName.get(parent, name);
  }

  /** The inode at a slash-separated path from the root; NOT_FOUND when any part is missing. */
  resolve(path: string): Inode {
    let node = this.root();
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      const next = this.lookup(node.ino, part);
      if (!next) throw new FlistError('NOT_FOUND', `no such file: ${path}`);
      node = next;
    }
    return node;
  }

  /** A symlink's target (rfs stores it as a blob; text is accepted too). */
  target(ino: number): Buffer {
    const row = this.extra.get(ino);
    if (!row) throw new FlistError('BAD_FORMAT', `inode ${ino} has no link target`);
    return Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data);
  }

  blocks(ino: number): BlockRef[] {
    const rows = this.blockRows.all(ino);
    for (const b of rows) {
      if (!Buffer.isBuffer(b.id) || b.id.length !== 32 || !Buffer.isBuffer(b.key) || b.key.length !== 32) {
        throw new FlistError('BAD_FORMAT', `inode ${ino}: a block id or key is not 32 bytes`);
      }
    }
    return rows;
  }

  tags(): Record<string, string> {
    const rows = this.db.prepare('SELECT key, value FROM tag').all() as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  routes(): Route[] {
    return this.db.prepare('SELECT start, end, url FROM route').all() as Route[];
  }

  /** Counts for `inspect`. */
  stats(): { inodes: number; blocks: number; uniqueBlocks: number; bytes: number } {
    const q = (sql: string) => (this.db.prepare(sql).get() as { n: number | null }).n ?? 0;
    return {
      inodes: q('SELECT count(*) AS n FROM inode'),
      blocks: q('SELECT count(*) AS n FROM block'),
      uniqueBlocks: q('SELECT count(DISTINCT id) AS n FROM block'),
      bytes: q(`SELECT sum(size) AS n FROM inode WHERE (mode & ${S_IFMT}) = ${S_IFREG}`),
    };
  }

  close(): void {
    this.db.close();
  }
}
