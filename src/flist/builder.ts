import { chunkStream } from '../pipeline/chunker.js';
import type { EncodedBlock } from './block-codec.js';
import type { CodecPool } from './codec-pool.js';
import { BLOCK_SIZE, type BlockRef, type NewInode } from './schema.js';
import type { Router } from './stores/router.js';
import { redact } from './stores/store.js';
import type { FlistWriter } from './writer.js';

export interface BuildStats {
  files: number;
  inodes: number;
  /** Plaintext bytes of all regular files. */
  bytes: number;
  blocks: number;
  /** Distinct blocks written to at least one store. */
  uploaded: number;
  /** Distinct blocks every matching store already had. */
  present: number;
  /** Ciphertext bytes sent to stores. */
  storedBytes: number;
}

export interface BuilderOptions {
  /** Blocks of one file being encoded at once. Default 4. */
  encodeAhead?: number;
  /** Blocks being uploaded at once. Default 16. */
  concurrency?: number;
  /** Keep passwords in the route table (rfs strips them by default). */
  keepPasswords?: boolean;
  onProgress?: (stats: Readonly<BuildStats>) => void;
}

/**
 * What every source of a tree (a directory, image layers) feeds: inodes in parent-first
 * order and file contents as streams. Contents are cut into blocks, encoded, recorded in order
 * and uploaded in the background, a bounded number at a time; a block id seen before in this
 * build is not sent again, and the router skips ids its stores already hold.
 */
export class FlistBuilder {
  readonly stats: BuildStats = { files: 0, inodes: 0, bytes: 0, blocks: 0, uploaded: 0, present: 0, storedBytes: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private readonly seen = new Set<string>();
  private failure: unknown;
  private readonly concurrency: number;

  constructor(
    private readonly writer: FlistWriter,
    private readonly router: Router,
    private readonly codec: CodecPool,
    private readonly options: BuilderOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 16;
    for (const r of router.describe(options.keepPasswords ? undefined : redact)) writer.route(r);
    writer.tag('block-size', String(BLOCK_SIZE));
  }

  inode(n: NewInode, target?: Buffer): number {
    this.stats.inodes++;
    return this.writer.inode(n, target);
  }

  /** Cuts `source` into blocks for inode `ino`; resolves with them once all are recorded (uploads may still run). */
  async content(ino: number, source: AsyncIterable<Uint8Array>): Promise<BlockRef[]> {
    this.stats.files++;
    const blocks: BlockRef[] = [];
    // A few blocks of the file encode at once on the pool; they are recorded in file order.
    const queue: Promise<EncodedBlock>[] = [];
    const ahead = this.options.encodeAhead ?? 4;
    for await (const piece of chunkStream(source, BLOCK_SIZE)) {
      this.throwIfFailed();
      this.stats.bytes += piece.length; // before the piece is transferred to a worker
      const encoded = this.codec.encode(piece);
      encoded.catch(() => undefined); // awaited in order below; a failure surfaces there
      queue.push(encoded);
      if (queue.length >= ahead) await this.record(ino, await queue.shift()!, blocks);
    }
    while (queue.length > 0) await this.record(ino, await queue.shift()!, blocks);
    return blocks;
  }

  /** Another inode with the same content (a hard link): its blocks recorded again, nothing uploaded. */
  sameContent(ino: number, blocks: BlockRef[]): void {
    this.stats.files++;
    for (const b of blocks) this.writer.block(ino, b);
  }

  tag(key: string, value: string): void {
    this.writer.tag(key, value);
  }

  /** Waits for every upload, then commits the flist. */
  async finish(): Promise<BuildStats> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    this.writer.finish();
    return this.stats;
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    this.writer.abort();
  }

  private async record(ino: number, block: EncodedBlock, blocks: BlockRef[]): Promise<void> {
    this.writer.block(ino, block);
    blocks.push({ id: block.id, key: block.key });
    this.stats.blocks++;
    const hex = block.id.toString('hex');
    if (!this.seen.has(hex)) {
      this.seen.add(hex);
      await this.upload(block.id, block.data);
    }
    this.options.onProgress?.(this.stats);
  }

  private async upload(id: Buffer, data: Buffer): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    const p = this.router.set(id, data).then(
      (outcome) => {
        if (outcome.written > 0) {
          this.stats.uploaded++;
          this.stats.storedBytes += data.length * outcome.written;
        } else this.stats.present++;
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
