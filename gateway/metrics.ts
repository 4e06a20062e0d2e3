import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetaStore } from '../src/meta/meta-store.js';
import type { BackendPool } from '../src/store/backend-pool.js';
import type { ObjectStore } from '../src/store/object-store.js';
import type { RequestRecord } from './access-log.js';
import type { Traffic } from './console/context.js';

export interface MetricSources {
  backends: BackendPool;
  store: ObjectStore;
  meta: MetaStore;
}

/**
 * Everything `/metrics` exposes (each documented in gateway/README.md): S3 requests, their
 * latency and bytes, from the access log's records; degraded writes and the metadata copies
 * left short, from the store's running totals; the repair and delete queues, counted in the
 * metadata when scraped; backend health and space; process metrics.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly latency: Histogram<'op'>;
  private readonly received: Counter<'op'>;
  private readonly sent: Counter<'op'>;

  constructor({ backends, store, meta }: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'qstor_' });
    this.requests = new Counter({
      name: 'qstor_s3_requests_total',
      help: 'S3 requests by operation and HTTP status',
      labelNames: ['op', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'qstor_s3_request_seconds',
      help: 'S3 request latency by operation',
      labelNames: ['op'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers,
    });
    this.received = new Counter({
      name: 'qstor_s3_received_bytes_total',
      help: 'S3 request body bytes received, by operation',
      labelNames: ['op'],
      registers,
    });
    this.sent = new Counter({
      name: 'qstor_s3_sent_bytes_total',
      help: 'S3 response body bytes sent, by operation',
      labelNames: ['op'],
      registers,
    });
    // The store keeps running totals; a scrape copies them (a counter cannot be set, so reset + inc).
    const total = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    total('qstor_degraded_chunks_total', 'Chunks written with fewer than k+m shards (a backend down)', () => {
      return store.writes.degradedChunks;
    });
    total('qstor_degraded_bytes_total', 'Plain bytes of the chunks written with fewer than k+m shards', () => {
      return store.writes.degradedBytes;
    });
    total('qstor_writes_refused_total', 'Writes refused with SlowDown: fewer backends up than the write quorum', () => {
      return store.writes.refused;
    });
    const gauge = (name: string, help: string, read: () => number | Promise<number>): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await read());
        },
      });
    };
    gauge('qstor_repair_queue_chunks', 'Chunks below full redundancy queued for repair or completion', () =>
      meta.countRepairs(),
    );
    gauge('qstor_delete_queue_shards', 'Shards queued for deletion from their backends', () => meta.countDeletes());
    gauge(
      'qstor_metadata_records_short',
      'Metadata records with fewer copies than wanted, waiting for a backend',
      () => {
        return store.replica.recordsShort;
      },
    );
    new Gauge({
      name: 'qstor_backend_up',
      help: '1 when the backend answers',
      labelNames: ['backend', 'farm', 'node'],
      registers,
      collect() {
        for (const b of backends.list())
          this.set({ backend: b.id, farm: b.farm, node: b.node }, b.state === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'qstor_backend_free_bytes',
      help: 'Free bytes reported by the backend',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const b of backends.list()) this.set({ backend: b.id }, b.freeBytes);
      },
    });
  }

  /** Counts one finished S3 request (the gateway's onRequest). */
  record(r: RequestRecord): void {
    const op = r.op ?? 'unknown';
    this.requests.inc({ op, status: String(r.status) });
    this.latency.observe({ op }, r.ms / 1000);
    if (r.bytesIn > 0) this.received.inc({ op }, r.bytesIn);
    if (r.bytesOut > 0) this.sent.inc({ op }, r.bytesOut);
  }

  /** The S3 counters as they stand (the console charts their rates). */
  async traffic(): Promise<Traffic> {
    const t: Traffic = { requests: 0, clientErrors: 0, serverErrors: 0, latencySeconds: 0, bytesIn: 0, bytesOut: 0 };
    for (const v of (await this.requests.get()).values) {
      const status = Number(v.labels.status);
      t.requests += v.value;
      if (status >= 500) t.serverErrors += v.value;
      else if (status >= 400) t.clientErrors += v.value;
    }
    for (const v of (await this.latency.get()).values) if (v.metricName?.endsWith('_sum')) t.latencySeconds += v.value;
    for (const v of (await this.received.get()).values) t.bytesIn += v.value;
    for (const v of (await this.sent.get()).values) t.bytesOut += v.value;
    return t;
  }
}
