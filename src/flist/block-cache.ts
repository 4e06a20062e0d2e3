import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CodecPool } from './codec-pool.js';
import type { BlockRef } from './schema.js';
import type { Router } from './stores/router.js';

/**
 * Plaintext blocks by id: from memory (the last few), from the disk cache (rfs's layout,
 * `dir/ab/cd/<hex id>`), or fetched from the stores, verified and decoded. Concurrent asks
 * for one block share one fetch. A cache file is written aside and renamed into place, so a
 * crash never leaves a short block that later reads would trust.
 */
export class BlockCache {
  private readonly pending = new Map<string, Promise<Buffer>>();
  private readonly recent = new Map<string, Buffer>();

  constructor(
    private readonly router: Router,
    private readonly codec: CodecPool,
    private readonly dir?: string,
    private readonly memoryBlocks = 32,
  ) {}

  get(block: BlockRef): Promise<Buffer> {
    const hex = block.id.toString('hex');
    const hit = this.recent.get(hex);
    if (hit) {
      this.recent.delete(hex);
      this.recent.set(hex, hit);
      return Promise.resolve(hit);
    }
    let p = this.pending.get(hex);
    if (!p) {
      p = this.load(block, hex).finally(() => this.pending.delete(hex));
      this.pending.set(hex, p);
    }
    return p;
  }

  private async load(block: BlockRef, hex: string): Promise<Buffer> {
    const file = this.dir ? path.join(this.dir, hex.slice(0, 2), hex.slice(2, 4), hex) : undefined;
    let plain: Buffer | undefined;
    if (file) plain = await fs.readFile(file).catch(() => undefined);
    if (!plain) {
      plain = await this.router.get(block.id, (data) => this.codec.decode(block, data));
      // Written in the background: the reader waiting for this block need not wait for the disk.
      if (file) this.keep(file, plain).catch(() => undefined);
    }
    this.recent.set(hex, plain);
    if (this.recent.size > this.memoryBlocks) this.recent.delete(this.recent.keys().next().value!);
    return plain;
  }

  private async keep(file: string, plain: Buffer): Promise<void> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, plain);
    await fs.rename(tmp, file);
  }
}
