import type { MetaStore } from '../meta/meta-store.js';
import type { BackendPool } from './backend-pool.js';

export interface DeleterOptions {
  batch: number;
  /** How long a taken batch stays leased before another pass may take it again. */
  leaseMs: number;
}

/**
 * Drains the persistent delete queue: removes the shards no manifest references any more
 * (deleted and overwritten objects, failed writes). A shard already gone counts as done;
 * a backend that is down keeps its entries queued for a later pass. zdb compaction then
 * reclaims the space. The shard of an interrupted write that committed after all never gets
 * here: `takeDeletes` drops it (see the MetaStore). Gateways sharing one metadata database all
 * drain, with no lease of their own: `takeDeletes` hands each entry to one taker at a time.
 */
export class Deleter {
  constructor(
    private readonly meta: MetaStore,
    private readonly backends: BackendPool,
    private readonly opts: DeleterOptions = { batch: 256, leaseMs: 60_000 },
  ) {}

  /** One pass over the queue; resolves to the number of shards removed. */
  async drain(): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.meta.takeDeletes(this.opts.batch, this.opts.leaseMs);
      if (batch.length === 0) return removed;
      const done: number[] = [];
      await Promise.all(
        batch.map(async (entry) => {
          if (!this.backends.get(entry.backend)) return done.push(entry.id); // backend retired
          try {
            await this.backends.run(entry.backend, (c) => c.del(entry.key));
            done.push(entry.id);
            removed++;
          } catch {
            // Stays leased, then offered again.
          }
        }),
      );
      await this.meta.ackDeletes(done);
      if (done.length < batch.length) return removed;
    }
  }
}
