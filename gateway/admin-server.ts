import http from 'node:http';
import type { MetaStore } from '../src/meta/meta-store.js';
import type { BackendPool } from '../src/store/backend-pool.js';
import type { RequestRecord } from './access-log.js';
import type { Traffic } from './console/context.js';
import type { Console } from './console/index.js';
import { GatewayMetrics, type MetricSources } from './metrics.js';

/** How long `/health` waits for the metadata database's answer before calling it unreachable. */
const PING_TIMEOUT_MS = 2_000;

/**
 * The admin port: Prometheus `/metrics` (gateway/metrics.ts) and `/health` (200 while the
 * metadata database answers and the store can place a whole chunk, 503 otherwise, with the
 * database's and the backends' states as JSON). No S3 auth
 * on those two: bind it to a private address. Given a console, every other path is the web
 * console (gateway/console/), which has its own login.
 */
export class AdminServer {
  private readonly metrics: GatewayMetrics;
  private readonly backends: BackendPool;
  private readonly shardsPerChunk: number;
  private readonly database: Pick<MetaStore, 'ping'>;
  private server: http.Server | null = null;

  constructor(
    sources: MetricSources,
    private readonly console: Console | null = null,
  ) {
    this.metrics = new GatewayMetrics(sources);
    this.backends = sources.backends;
    this.shardsPerChunk = sources.store.k + sources.store.m;
    this.database = sources.meta;
  }

  /** Feed it every finished request (the gateway's onRequest). */
  record(r: RequestRecord): void {
    this.metrics.record(r);
  }

  /** The S3 request counters as they stand (the console charts their rates). */
  traffic(): Promise<Traffic> {
    return this.metrics.traffic();
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
      const { registry } = this.metrics;
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
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
