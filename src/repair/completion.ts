import type { ChunkRef } from '../meta/manifest.js';
import type { RepairTask } from '../meta/meta-store.js';
import { uploadOfReason } from '../store/repair-reasons.js';
import { shardHealth } from './chunk-health.js';
import { repairChunk, type RepairDeps } from './chunk-repair.js';

export interface CompletionOptions {
  /** Queued chunks taken per pass, oldest first. */
  batch: number;
  /** A chunk taken but not brought back to full redundancy is offered again after this long. */
  leaseMs: number;
  /** A backend down for longer than this has lost its shards. */
  graceMs: number;
  /** Chunks repaired per second at most (0: no limit). */
  chunksPerSecond: number;
}

export interface CompletionReport {
  /** Chunks taken from the repair queue. */
  taken: number;
  /** Back to k+m shards in place (or found so already): off the queue. */
  completed: number;
  shardsRebuilt: number;
  /** Still short (no distinct backend up to take a shard, or one out of reach): stay queued. */
  waiting: number;
  /** A part's chunk whose upload is still open (in no object yet): stays queued. */
  inUpload: number;
  /** In no object and no open upload: deleted since, or its upload aborted. Off the queue. */
  notFound: number;
  failed: number;
}

/** An object holding a queued chunk. */
interface Owner {
  bucket: string;
  key: string;
}

/**
 * Completes the chunks of the repair queue: those written degraded (queued when their write
 * committed, shards recorded missing), and those a read found short of a shard. Oldest first
 * and rate-limited, it writes each missing shard on an up backend holding no shard of the
 * chunk (the same one back up, a new one, a spare) and points every manifest holding the chunk
 * at it. The queue names chunks only, so a pass first finds them in the manifests: one sweep of
 * the metadata per batch (no backend I/O), done only when the queue holds something. A part's
 * chunk is in no object until its upload completes: it stays queued while the upload is open.
 */
export class Completer {
  constructor(
    private readonly d: RepairDeps,
    private readonly opts: CompletionOptions,
  ) {}

  async pass(): Promise<CompletionReport> {
    const report: CompletionReport = {
      taken: 0,
      completed: 0,
      shardsRebuilt: 0,
      waiting: 0,
      inUpload: 0,
      notFound: 0,
      failed: 0,
    };
    const tasks = await this.d.meta.takeRepairs(this.opts.batch, this.opts.leaseMs);
    if (tasks.length === 0) return report;
    report.taken = tasks.length;
    // Asked before the sweep: an upload completing during it moves its chunks into an object the
    // sweep may have passed already, and its own enqueue is a no-op on a chunk this pass holds.
    const open = await this.openUploads(tasks);
    const found = await this.locate(new Set(tasks.map((t) => t.chunkId)));
    const done: string[] = [];
    const started = Date.now();
    for (const [n, task] of tasks.entries()) {
      const at = found.get(task.chunkId);
      if (!at && open.has(task.chunkId)) {
        report.inUpload++; // leased: offered again after leaseMs, found once the upload completes
        continue;
      }
      if (!at) {
        report.notFound++;
        done.push(task.chunkId);
        continue;
      }
      if (this.opts.chunksPerSecond > 0) {
        const due = started + (n / this.opts.chunksPerSecond) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      try {
        if (await this.complete(at.chunk, at.owners, report)) done.push(task.chunkId);
        else report.waiting++;
      } catch {
        report.failed++; // stays leased, then offered again
      }
    }
    await this.d.meta.ackRepairs(done);
    return report;
  }

  /** Brings one chunk back to full redundancy if it can; true when it is there. */
  private async complete(chunk: ChunkRef, owners: Owner[], report: CompletionReport): Promise<boolean> {
    const health = await shardHealth(this.d.backends, chunk, this.opts.graceMs, { forRepair: true });
    if (health.every((h) => h === 'ok')) {
      report.completed++;
      return true;
    }
    const repair = await repairChunk(this.d, chunk, health);
    if (!repair) return false; // only shards out of reach: wait for their backends
    report.shardsRebuilt += repair.rebuilt;
    if (repair.writeId) {
      for (const { bucket, key } of owners) {
        const current = await this.d.meta.getObject(bucket, key);
        if (!current?.chunks.some((c) => c.id === chunk.id)) continue;
        const chunks = current.chunks.map((c) => (c.id === chunk.id ? { ...c, shards: repair.shards } : c));
        await this.d.meta.updateObject(bucket, key, current.id, { ...current, chunks });
      }
      await this.d.meta.commitWrite(repair.writeId, [{ ...chunk, shards: repair.shards }]);
      await this.d.meta.enqueueDeletes(repair.dropped);
    }
    if (repair.remaining > 0) return false;
    report.completed++;
    return true;
  }

  /** The tasks' chunks written as parts of an upload still open now. */
  private async openUploads(tasks: readonly RepairTask[]): Promise<Set<string>> {
    const open = new Set<string>();
    const known = new Map<string, boolean>();
    for (const task of tasks) {
      const uploadId = uploadOfReason(task.reason);
      if (uploadId === null) continue;
      if (!known.has(uploadId)) known.set(uploadId, (await this.d.meta.getUpload(uploadId)) !== null);
      if (known.get(uploadId)) open.add(task.chunkId);
    }
    return open;
  }

  /** Every object holding one of `wanted`, by chunk id, with the chunk as its manifest has it. */
  private async locate(wanted: ReadonlySet<string>): Promise<Map<string, { chunk: ChunkRef; owners: Owner[] }>> {
    const found = new Map<string, { chunk: ChunkRef; owners: Owner[] }>();
    for (const bucket of await this.d.meta.listBuckets()) {
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.d.meta.listObjects({ bucket: bucket.name, startAfter, maxKeys: 1000 });
        for (const entry of page.entries) {
          const manifest = await this.d.meta.getObject(bucket.name, entry.key);
          for (const chunk of manifest?.chunks ?? []) {
            if (!wanted.has(chunk.id)) continue;
            const at = found.get(chunk.id) ?? { chunk, owners: [] };
            at.owners.push({ bucket: bucket.name, key: entry.key });
            found.set(chunk.id, at);
          }
        }
        if (!page.isTruncated || page.nextMarker === null) break;
        startAfter = page.nextMarker;
      }
    }
    return found;
  }
}
