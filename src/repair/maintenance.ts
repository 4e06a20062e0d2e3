import type { MetaStore } from '../meta/meta-store.js';
import type { PipelinePool } from '../pipeline/pool.js';
import type { BackendPool } from '../store/backend-pool.js';
import { Deleter } from '../store/deleter.js';
import type { ObjectStore } from '../store/object-store.js';
import { Completer } from './completion.js';
import { LeasedJob, leaseTtl, ORPHANED_WRITES_MS, secondsFromEnv } from './leased-job.js';
import { Scrubber, type ScrubReport } from './scrubber.js';

export interface MaintenanceOptions {
  /** How often backends are pinged and their free space read. */
  refreshMs: number;
  /** How often the delete queue is drained. */
  deleteMs: number;
  /** How often a scrub pass starts (after the previous one ended). */
  scrubMs: number;
  /** How often the repair queue (chunks written degraded, shards a read missed) is worked on. */
  completeMs: number;
  /** How often the pending writes of gateways gone silent are recovered (their shards deleted). */
  recoverMs: number;
  /** A backend down this long has lost its shards: they are rebuilt elsewhere. */
  graceMs: number;
  chunksPerSecond: number;
  /** This gateway's id: the holder of the leases it takes. */
  gatewayId: string;
  log: (message: string) => void;
}

export const DEFAULT_MAINTENANCE: Omit<MaintenanceOptions, 'log' | 'gatewayId'> = {
  refreshMs: 10_000,
  deleteMs: 5_000,
  // QSTOR_SCRUB_SECONDS: tests watching a pass finish.
  scrubMs: secondsFromEnv(process.env, 'QSTOR_SCRUB_SECONDS', 10 * 60_000),
  completeMs: 5_000,
  // At least 4 rounds per orphan age: a shorter age (tests) is acted on soon after it passes.
  recoverMs: Math.min(30_000, ORPHANED_WRITES_MS / 4),
  graceMs: 15 * 60_000,
  chunksPerSecond: 100,
};

/**
 * The background work of a running store: health checks, the delete queue, completing chunks
 * short of shards (the repair queue), scrubbing, recovering the writes of gateways gone; and a
 * line in the log when writes were refused below the write quorum (no stack trace per request:
 * it is the grid's state, not a bug). Gateways sharing the metadata split it (see README.md):
 * the repair queue, scrubs and recovery run on the holder of their lease only; every gateway
 * drains the delete queue (`takeDeletes` hands each entry to one) and refreshes its own pool.
 */
export class Maintenance {
  private timers: NodeJS.Timeout[] = [];
  private jobs: LeasedJob[] = [];
  private busy = new Set<string>();
  private refusalsLogged = 0;
  lastScrub: ScrubReport | null = null;

  constructor(
    private readonly d: { meta: MetaStore; backends: BackendPool; pipeline: PipelinePool; store?: ObjectStore },
    private readonly opts: MaintenanceOptions,
  ) {}

  start(): void {
    const deleter = new Deleter(this.d.meta, this.d.backends);
    const scrubber = new Scrubber(this.d, { graceMs: this.opts.graceMs, chunksPerSecond: this.opts.chunksPerSecond });
    const completer = new Completer(this.d, {
      batch: 256,
      leaseMs: 60_000,
      graceMs: this.opts.graceMs,
      chunksPerSecond: this.opts.chunksPerSecond,
    });
    this.every('refresh', this.opts.refreshMs, async () => {
      await this.d.backends.refresh();
      this.logRefusals();
      const caught = (await this.d.store?.replica.catchUp()) ?? 0;
      if (caught > 0)
        this.opts.log(`metadata copies missed while backends were down: ${caught} records complete again`);
    });
    this.leased('complete', this.opts.completeMs, async () => {
      const r = await completer.pass();
      if (r.taken > 0) {
        this.opts.log(
          `repair queue: ${r.taken} chunks, ${r.completed} at full redundancy (${r.shardsRebuilt} shards written), ${r.waiting} waiting for a backend, ${r.inUpload} in open uploads, ${r.notFound} gone, ${r.failed} failed`,
        );
      }
    });
    this.every('delete', this.opts.deleteMs, async () => {
      const n = await deleter.drain();
      if (n > 0) this.opts.log(`deleted ${n} unreferenced shards`);
    });
    this.leased('recover-writes', this.opts.recoverMs, async () => {
      const n = await this.d.meta.recoverPendingWrites(ORPHANED_WRITES_MS);
      if (n > 0) this.opts.log(`shards of writes left by gateways gone queued for deletion: ${n}`);
    });
    this.leased('scrub', this.opts.scrubMs, async () => {
      this.lastScrub = await scrubber.pass();
      const r = this.lastScrub;
      if (r.repaired > 0 || r.belowRedundancy > 0 || r.failed > 0) {
        this.opts.log(
          `scrub: ${r.chunks} chunks, ${r.repaired} repaired (${r.shardsRebuilt} shards), ${r.belowRedundancy} below full redundancy, ${r.failed} failed`,
        );
      }
    });
  }

  private logRefusals(): void {
    const writes = this.d.store?.writes;
    if (!writes || writes.refused === this.refusalsLogged) return;
    this.opts.log(
      `${writes.refused - this.refusalsLogged} writes refused (SlowDown) below the write quorum; last: ${writes.lastRefusal}`,
    );
    this.refusalsLogged = writes.refused;
  }

  /** Runs `task` every `ms`, never twice at once; a failure is logged and retried next time. */
  private every(name: string, ms: number, task: () => Promise<unknown>): void {
    const run = (): void => {
      if (this.busy.has(name)) return;
      this.busy.add(name);
      task()
        .catch((e: unknown) => this.opts.log(`${name} failed: ${(e as Error).message}`))
        .finally(() => this.busy.delete(name));
    };
    this.timers.push(setInterval(run, ms));
  }

  /** Runs `run` every `ms` while this gateway holds lease `name` (see LeasedJob). */
  private leased(name: string, ms: number, run: () => Promise<unknown>): void {
    const job = new LeasedJob(this.d.meta, {
      name,
      holder: this.opts.gatewayId,
      periodMs: ms,
      ttlMs: leaseTtl(ms),
      run,
      log: this.opts.log,
    });
    job.start();
    this.jobs.push(job);
  }

  /** Stops every timer; resolves once the rounds running ended and the leases are given up. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const jobs = this.jobs;
    this.jobs = [];
    await Promise.all(jobs.map((job) => job.stop()));
  }
}
