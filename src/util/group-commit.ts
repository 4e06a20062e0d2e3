import fs from 'node:fs';

/**
 * Group commit: writers mark the descriptors they touched and wait for a flush; one
 * fdatasync per descriptor then serves every write made before it started. While a flush
 * runs, new writes gather for the next one, so durable throughput follows the disk's
 * flush rate, not the number of writers.
 */
export class GroupCommit {
  private dirty = new Set<number>();
  /**
   * @param enabled false when nothing is ever synced (no --sync, no --synctime): then marking
   *   and syncing cost nothing.
   * @param beforeSync writes what is held in memory (index items written behind) first.
   * @param afterSync runs once everything marked before beforeSync is on disk.
   */
  constructor(
    private readonly enabled = true,
    private readonly beforeSync: () => void = () => {},
    private readonly afterSync: () => void = () => {},
  ) {}

  private waiting: Array<() => void> = [];
  private failed: Array<(e: Error) => void> = [];
  private running = false;

  markDirty(fd: number): void {
    if (this.enabled) this.dirty.add(fd);
  }

  /**
   * Sync a descriptor now, before it is closed (rotation, compaction), so that the flush
   * never touches a descriptor number the system may have handed out again.
   */
  syncAndForget(fd: number): void {
    if (this.dirty.delete(fd)) {
      this.beforeSync();
      fs.fdatasyncSync(fd);
    }
  }

  /** Resolves once everything written before this call is on disk. */
  flush(): Promise<void> {
    if (!this.enabled) {
      this.beforeSync();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      this.failed.push(reject);
      if (!this.running) void this.run();
    });
  }

  /** Flush what is dirty now without anyone waiting (the --synctime timer). */
  background(): void {
    if (this.dirty.size > 0 && !this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0 || this.dirty.size > 0) {
      const fds = [...this.dirty];
      const resolve = this.waiting;
      const reject = this.failed;
      this.dirty = new Set();
      this.waiting = [];
      this.failed = [];
      try {
        this.beforeSync();
        await Promise.all(fds.map(fdatasync));
        this.afterSync();
        for (const r of resolve) r();
      } catch (e) {
        for (const r of reject) r(e as Error);
      }
    }
    this.running = false;
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}
