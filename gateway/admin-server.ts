import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetaStore } from '../src/meta/meta-store.js';
import type { BackendPool } from '../src/store/backend-pool.js';
import type { Traffic } from './console/context.js';
import type { Console } from './console/index.js';
import type { RequestRecord } from './server.js';

/** How long `/health` waits for the metadata database's answer before calling it unreachable. */
const PING_TIMEOUT_MS = 2_000;

/**
 * The admin port: Prometheus `/metrics` (requests by operation and status, latency, backend
 * health and free space, process metrics) and `/health` (200 while the metadata database
 * answers and the store can place a whole chunk, 503 otherwise, with the database's and the
 * backends' states as JSON). No S3 auth on those two: bind it to a private address. Given a
 * console, every other path is the web console (gateway/console/), which has its own login.
 */
export class AdminServer {
  private readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly latency: Histogram<'op'>;
  private server: http.Server | null = null;

  constructor(
    private readonly backends: BackendPool,
    private readonly database: Pick<MetaStore, 'ping'>,
    private readonly shardsPerChunk: number,
    private readonly console: Console | null = null,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'qstor_' });
    this.requests = new Counter({
      name: 'qstor_s3_requests_total',
      help: 'S3 requests by operation and HTTP status',
      labelNames: ['op', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'qstor_s3_request_seconds',
      help: 'S3 request latency by operation',
      labelNames: ['op'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers: [this.registry],
    });
    const pool = this.backends;
    new Gauge({
      name: 'qstor_backend_up',
      help: '1 when the backend answers',
      labelNames: ['backend', 'farm', 'node'],
      registers: [this.registry],
      collect() {
        for (const b of pool.list()) this.set({ backend: b.id, farm: b.farm, node: b.node }, b.state === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'qstor_backend_free_bytes',
      help: 'Free bytes reported by the backend',
      labelNames: ['backend'],
      registers: [this.registry],
      collect() {
        for (const b of pool.list()) this.set({ backend: b.id }, b.freeBytes);
      },
    });
  }

  /** Feed it every finished request (the gateway's onRequest). */
  record(r: RequestRecord): void {
    const op = r.op ?? 'unknown';
    this.requests.inc({ op, status: String(r.status) });
    this.latency.observe({ op }, r.ms / 1000);
  }

  /** The S3 request counters as they stand (the console charts their rates). */
  async traffic(): Promise<Traffic> {
    const t: Traffic = { requests: 0, clientErrors: 0, serverErrors: 0, latencySeconds: 0 };
    for (const v of (await this.requests.get()).values) {
      const status = Number(v.labels.status);
      t.requests += v.value;
      if (status >= 500) t.serverErrors += v.value;
      else if (status >= 400) t.clientErrors += v.value;
    }
    for (const v of (await this.latency.get()).values) if (v.metricName?.endsWith('_sum')) t.latencySeconds += v.value;
    return t;
  }

  listen(port: number, host: string): Promise<number> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve((this.server!.address() as { port: number }).port));
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === '/metrics') {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(body);
    } else if (req.url === '/health') {
      const database = await this.pingDatabase();
      const list = this.backends.list();
      const up = list.filter((b) => b.state === 'up').length;
      const status = database.reachable ? (up >= this.shardsPerChunk ? 'ok' : 'degraded') : 'unavailable';
      res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status,
          database,
          backendsUp: up,
          backends: list.map((b) => ({ id: b.id, state: b.state })),
        }),
      );
    } else if (this.console) {
      await this.console.handle(req, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: /metrics, /health\n');
    }
  }

  /** Whether the metadata database answers a query within PING_TIMEOUT_MS, and if not why. */
  private async pingDatabase(): Promise<{ reachable: true } | { reachable: false; error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.database.ping(), timeout]);
      return { reachable: true };
    } catch (e) {
      return { reachable: false, error: `metadata database unreachable: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      // A browser keeps the console's connections open; they must not hold the shutdown.
      this.server.closeAllConnections();
    });
  }
}
