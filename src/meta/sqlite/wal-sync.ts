import fs from 'node:fs';
import { GroupCommit } from '../../util/group-commit.js';

/**
 * Durability of a WAL-mode database opened with synchronous=NORMAL: sqlite writes each commit
 * to the -wal file without syncing it, and this class syncs that file, either at once (the
 * commit then behaves as with synchronous=FULL) or as a group commit off the event loop, where
 * one fdatasync serves every commit made before it started. A commit is visible and survives a
 * crash of the process at once; it survives a crash of the machine once synced.
 *
 * The -wal file stays in place while the database is open (sqlite removes it only when the
 * last connection closes), so one descriptor serves for the connection's life.
 */
export class WalSync {
  private fd: number | null = null;
  private readonly group = new GroupCommit();

  constructor(private readonly walPath: string) {}

  /** After a commit whose durability the caller awaits with `durable()`. */
  deferred(): void {
    this.group.markDirty(this.descriptor());
  }

  /** After a commit that must be on disk before the method that made it returns. */
  now(): void {
    const fd = this.descriptor();
    this.group.markDirty(fd);
    this.group.syncAndForget(fd);
  }

  /** Resolves once every commit made before the call is on disk. */
  durable(): Promise<void> {
    return this.group.flush();
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private descriptor(): number {
    // Opened at the first commit: sqlite creates the -wal file with the first write.
    this.fd ??= fs.openSync(this.walPath, 'r');
    return this.fd;
  }
}
