import type { Backend } from '../placement/backend.js';
import { ZdbError } from '../zdb-client/index.js';
import { backendFault, connectZdb, type ShardBackend, type ShardConnector } from './shard-backend.js';

export interface BackendPoolOptions {
  /** Connections per backend. */
  connections: number;
  /** A shard request slower than this fails (and the backend is suspected). */
  requestTimeoutMs: number;
  /** Consecutive failures that mark a backend down. */
  downAfterFailures: number;
  /** Makes each backend's client: zdb by default (tests give src/testing's memory backends). */
  connect: ShardConnector;
}

/**
 * Answers from a reachable server that this store cannot use as configured (its namespace is
 * missing, or the password is refused): no retry fixes them, so the backend is down at once,
 * with the fix in its last error, instead of looking healthy while every write to it fails.
 */
const UNUSABLE = new Set(['NS_NOT_FOUND', 'PERMISSION']);

const DEFAULTS: BackendPoolOptions = {
  connections: 2,
  requestTimeoutMs: 10_000,
  downAfterFailures: 3,
  connect: connectZdb,
};

interface Health {
  failures: number;
  downSince: number | null;
  lastError: string | null;
}

/**
 * One client per backend (a ShardBackend: zdb unless `connect` says otherwise) and what we
 * know of its health. A backend that fails `downAfterFailures` requests in a row is marked
 * down (placement skips it; repair rebuilds its shards after a grace period); one success
 * brings it back.
 */
export class BackendPool {
  private readonly clients = new Map<string, ShardBackend>();
  private readonly health = new Map<string, Health>();
  private readonly byId = new Map<string, Backend>();
  /** Backends kept down whatever they answer: the registry says their node is gone. */
  private readonly held = new Set<string>();
  private readonly opts: BackendPoolOptions;

  constructor(backends: readonly Backend[], opts: Partial<BackendPoolOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    for (const b of backends) this.add(b);
  }

  add(b: Backend): void {
    this.byId.set(b.id, b);
    this.health.set(b.id, { failures: 0, downSince: b.state === 'down' ? Date.now() : null, lastError: null });
    this.clients.get(b.id)?.destroy();
    this.clients.set(b.id, this.opts.connect(b, this.opts));
  }

  list(): Backend[] {
    return [...this.byId.values()];
  }

  get(id: string): Backend | undefined {
    return this.byId.get(id);
  }

  client(id: string): ShardBackend {
    const c = this.clients.get(id);
    if (!c) throw new Error(`unknown backend ${id}`);
    return c;
  }

  /**
   * Runs a request on a backend, keeping its health up to date. With `giveUp` (a deadline,
   * `AbortSignal.timeout(ms)`, or the caller's own reason), the caller stops waiting when it
   * aborts: a TIMEOUT, counted against the backend like the client's own, so a frozen backend
   * holds a write for the caller's deadline, not for the client's timeout. The request itself
   * runs on; what it does later is ignored.
   */
  async run<T>(id: string, op: (c: ShardBackend) => Promise<T>, giveUp?: AbortSignal): Promise<T> {
    let stop: (() => void) | undefined;
    try {
      const request = op(this.client(id));
      const result = await (giveUp === undefined
        ? request
        : Promise.race([
            request,
            new Promise<never>((_, reject) => {
              stop = () => {
                request.catch(() => {}); // settles after we stopped listening
                const why = giveUp.reason instanceof Error ? giveUp.reason.message : String(giveUp.reason);
                reject(new ZdbError('TIMEOUT', `backend ${id}: given up waiting: ${why}`));
              };
              if (giveUp.aborted) stop();
              else giveUp.addEventListener('abort', stop, { once: true });
            }),
          ]));
      this.succeeded(id);
      return result;
    } catch (e) {
      this.failed(id, e as Error);
      throw e;
    } finally {
      if (stop) giveUp?.removeEventListener('abort', stop);
    }
  }

  succeeded(id: string): void {
    const h = this.health.get(id)!;
    h.failures = 0;
    if (h.downSince !== null && !this.held.has(id)) {
      h.downSince = null;
      this.byId.get(id)!.state = 'up';
    }
  }

  failed(id: string, e: Error): void {
    const h = this.health.get(id)!;
    // Answers from a healthy server (a missing key, a bad CRC) say nothing about its health.
    if (backendFault(e) === null) return;
    h.failures++;
    h.lastError = e.message;
    if (h.failures >= this.opts.downAfterFailures && h.downSince === null) {
      h.downSince = Date.now();
      this.byId.get(id)!.state = 'down';
    }
  }

  /**
   * Holds a backend down (its node stopped heartbeating: placement skips it, and past the
   * grace period repair moves its shards), or lets it go: it is up again at its next answer.
   */
  hold(id: string, down: boolean): void {
    const h = this.health.get(id);
    if (!h) return;
    if (!down) {
      this.held.delete(id);
      return;
    }
    this.held.add(id);
    if (h.downSince === null) {
      h.downSince = Date.now();
      this.byId.get(id)!.state = 'down';
    }
  }

  /** Since when a backend is down (ms), or null when up. */
  downSince(id: string): number | null {
    return this.health.get(id)?.downSince ?? null;
  }

  lastError(id: string): string | null {
    return this.health.get(id)?.lastError ?? null;
  }

  /** Pings every backend and reads its free space (NSINFO), updating states. */
  async refresh(): Promise<void> {
    await Promise.all(
      this.list().map(async (b) => {
        try {
          const info = await this.run(b.id, (c) => c.nsinfo(b.namespace));
          const diskFree = Math.min(info.dataDiskFreespaceBytes ?? Infinity, info.indexDiskFreespaceBytes ?? Infinity);
          const limitFree = info.dataLimitsBytes > 0 ? info.dataLimitsBytes - info.dataSizeBytes : Infinity;
          const free = Math.min(diskFree, limitFree);
          b.freeBytes = Number.isFinite(free) ? Math.max(0, free) : 0;
          this.succeeded(b.id);
        } catch (e) {
          this.failed(b.id, e as Error);
          if (UNUSABLE.has((e as { code?: string }).code ?? '')) this.unusable(b, e as Error);
        }
      }),
    );
  }

  private unusable(b: Backend, e: Error): void {
    const h = this.health.get(b.id)!;
    const where = `${b.host}:${b.port}`;
    h.lastError =
      (e as { code?: string }).code === 'NS_NOT_FOUND'
        ? `namespace "${b.namespace}" does not exist on zdb ${where}: create it (redis-cli -h ${b.host} -p ${b.port} NSNEW ${b.namespace}) or fix the backend's namespace in the config`
        : `zdb ${where} refuses namespace "${b.namespace}" (${e.message}): check its password in the config`;
    h.failures = Math.max(h.failures, this.opts.downAfterFailures);
    if (h.downSince === null) {
      h.downSince = Date.now();
      b.state = 'down';
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close().catch(() => c.destroy())));
  }
}
