import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FlistError } from '../errors.js';
import { shardedPath, type BlockStore } from './store.js';

/** `dir:///path`: one file per block at `path/ab/<hex id>`, as rfs lays it out. */
export class DirStore implements BlockStore {
  constructor(
    readonly url: string,
    private readonly root: string,
  ) {}

  async get(id: Buffer): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FlistError('NOT_FOUND', `not in ${this.url}`);
      throw new FlistError('STORE', `${this.url}: ${(err as Error).message}`, { cause: err });
    }
  }

  async set(id: Buffer, data: Buffer): Promise<void> {
    const file = this.file(id);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Written aside and renamed, so a reader never sees half a block.
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  }

  async exists(id: Buffer): Promise<boolean> {
    try {
      await fs.access(this.file(id));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}

  private file(id: Buffer): string {
    return path.join(this.root, shardedPath(id));
  }
}
