import { crc32c } from '@node-rs/crc32';
import type { Backend } from '../placement/backend.js';
import type { ShardBackend, ShardConnector, ShardSpace } from '../store/shard-backend.js';
import { ZdbError, type Key } from '../zdb-client/index.js';

/** The calls of a ShardBackend, as faults and latencies name them. */
export type ShardOp = 'set' | 'get' | 'mget' | 'del' | 'check' | 'nsinfo' | 'scan';

/** How long each call waits before it is served: uniform in [minMs, maxMs], drawn from the seed. */
export interface Latency {
  minMs: number;
  /** Default minMs: a fixed latency. */
  maxMs?: number;
  /** The calls it applies to; every call when absent. */
  ops?: readonly ShardOp[];
}

/**
 * What goes wrong, on which calls:
 * - 'error': the call fails with CONNECTION, as when the backend cannot be reached;
 * - 'timeout': the backend never answers: the call fails with TIMEOUT after the pool's
 *   request timeout, as the zdb client's does, and nothing is done;
 * - 'corrupt': wrong bytes. A get/mget returns its value with a byte flipped (what is stored
 *   stays intact); a set stores the value with a byte flipped after its checksum was taken
 *   (bit rot: `check` then reports false). Other calls are not affected.
 */
export interface Fault {
  kind: 'error' | 'timeout' | 'corrupt';
  /** The calls it applies to; every call when absent. */
  ops?: readonly ShardOp[];
  /** Only the nth, 2nth, 3nth... of those calls. */
  every?: number;
  /** Each of those calls with this probability, drawn from the seed. */
  probability?: number;
}

export interface MemoryBackendOptions {
  /** Seeds the latencies, probabilities and flipped bytes: a run can be repeated exactly. */
  seed?: number;
  /** Calls slower than this fail with TIMEOUT (the pool's request timeout). */
  requestTimeoutMs?: number;
  /** Bytes this backend may hold (its NSINFO), 1 GiB by default. */
  capacityBytes?: number;
  latency?: Latency | null;
  faults?: readonly Fault[];
}

interface Stored {
  value: Buffer;
  /** CRC32C of the value as it was given to set. */
  crc: number;
}

/** A small deterministic generator (mulberry32): the same seed, the same faults. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const name = (key: Key): string => (typeof key === 'string' ? Buffer.from(key) : key).toString('latin1');

/**
 * A ShardBackend held in memory, with latency and faults injected on the calls one names (in
 * the spirit of TigerBeetle's src/testing/storage.zig). A test tool: the real backends are zdb
 * processes. Latency and faults can be changed while it runs (`configure`); the data stays.
 */
export class MemoryBackend implements ShardBackend {
  private readonly data = new Map<string, Stored>();
  private readonly random: () => number;
  private readonly requestTimeoutMs: number;
  private readonly capacityBytes: number;
  private latency: Latency | null = null;
  private faults: Array<{ fault: Fault; seen: number }> = [];
  /** Timers of calls waiting (latency, timeouts): destroy() fails them. */
  private readonly waiting = new Map<NodeJS.Timeout, (e: Error) => void>();
  /** Calls made, per operation (faulty ones included). */
  readonly calls: Record<ShardOp, number> = { set: 0, get: 0, mget: 0, del: 0, check: 0, nsinfo: 0, scan: 0 };
  /** Faults injected so far, per kind. */
  readonly injected = { error: 0, timeout: 0, corrupt: 0 };

  constructor(options: MemoryBackendOptions = {}) {
    this.random = generator(options.seed ?? 1);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.capacityBytes = options.capacityBytes ?? 2 ** 30;
    this.configure({ latency: options.latency ?? null, faults: options.faults ?? [] });
  }

  /** Replaces the latency and the faults (their call counts start again). */
  configure(o: { latency?: Latency | null; faults?: readonly Fault[] }): void {
    if (o.latency !== undefined) this.latency = o.latency;
    if (o.faults !== undefined) this.faults = o.faults.map((fault) => ({ fault, seen: 0 }));
  }

  /** Flips a byte of a stored value, as a disk would: get returns it, check reports false. */
  rot(key: Key): void {
    const stored = this.data.get(name(key));
    if (!stored) throw new Error(`no key ${name(key)} to rot`);
    stored.value = this.flipped(stored.value);
  }

  /** Every key held, as latin1 strings (for assertions). */
  keys(): string[] {
    return [...this.data.keys()];
  }

  set(key: Key, value: Buffer): Promise<unknown> {
    return this.call('set', (corrupt) => {
      const copy = Buffer.from(value);
      this.data.set(name(key), { value: corrupt ? this.flipped(copy) : copy, crc: crc32c(copy) });
      return Buffer.from(name(key), 'latin1');
    });
  }

  get(key: Key): Promise<Buffer | null> {
    return this.call('get', (corrupt) => this.read(key, corrupt));
  }

  mget(keys: readonly Key[]): Promise<(Buffer | null)[]> {
    return this.call('mget', (corrupt) => keys.map((key) => this.read(key, corrupt)));
  }

  del(key: Key): Promise<boolean> {
    return this.call('del', () => this.data.delete(name(key)));
  }

  check(key: Key): Promise<boolean | null> {
    return this.call('check', () => {
      const stored = this.data.get(name(key));
      return stored ? crc32c(stored.value) === stored.crc : null;
    });
  }

  nsinfo(): Promise<ShardSpace> {
    return this.call('nsinfo', () => {
      let size = 0;
      for (const s of this.data.values()) size += s.value.length;
      const free = Math.max(0, this.capacityBytes - size);
      return {
        entries: this.data.size,
        dataSizeBytes: size,
        dataLimitsBytes: 0,
        dataDiskFreespaceBytes: free,
        indexDiskFreespaceBytes: free,
      };
    });
  }

  async *scanAll(): AsyncGenerator<{ key: Buffer }> {
    const keys = await this.call('scan', () => [...this.data.keys()]);
    for (const key of keys) yield { key: Buffer.from(key, 'latin1') };
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    for (const [timer, fail] of this.waiting) {
      clearTimeout(timer);
      fail(new ZdbError('CONNECTION', 'memory backend closed with the request outstanding'));
    }
    this.waiting.clear();
  }

  private read(key: Key, corrupt: boolean): Buffer | null {
    const stored = this.data.get(name(key));
    if (!stored) return null;
    return corrupt ? this.flipped(stored.value) : Buffer.from(stored.value);
  }

  /** A copy of `value` with one byte (chosen from the seed) changed. */
  private flipped(value: Buffer): Buffer {
    const out = Buffer.from(value);
    if (out.length > 0) out[Math.floor(this.random() * out.length)]! ^= 1 + Math.floor(this.random() * 255);
    return out;
  }

  /** Runs one call: its latency, then the first fault that hits it, then `serve`. */
  private async call<T>(op: ShardOp, serve: (corrupt: boolean) => T): Promise<T> {
    this.calls[op]++;
    const delay = this.delay(op);
    const fault = this.fault(op);
    if (fault === 'timeout' || delay >= this.requestTimeoutMs) {
      await this.wait(this.requestTimeoutMs);
      if (fault === 'timeout') this.injected.timeout++;
      throw new ZdbError('TIMEOUT', `memory backend: no answer to ${op} within ${this.requestTimeoutMs} ms`);
    }
    if (delay > 0) await this.wait(delay);
    if (fault === 'error') {
      this.injected.error++;
      throw new ZdbError('CONNECTION', `memory backend: ${op} refused (injected)`);
    }
    const corrupt = fault === 'corrupt' && (op === 'get' || op === 'mget' || op === 'set');
    if (corrupt) this.injected.corrupt++;
    return serve(corrupt);
  }

  private delay(op: ShardOp): number {
    const l = this.latency;
    if (!l || (l.ops && !l.ops.includes(op))) return 0;
    const max = l.maxMs ?? l.minMs;
    return l.minMs + this.random() * (max - l.minMs);
  }

  /** The kind of the first fault that hits this call (every fault that applies counts it). */
  private fault(op: ShardOp): Fault['kind'] | null {
    let hit: Fault['kind'] | null = null;
    for (const f of this.faults) {
      if (f.fault.ops && !f.fault.ops.includes(op)) continue;
      f.seen++;
      const byCount = f.fault.every === undefined || f.seen % f.fault.every === 0;
      const byChance = f.fault.probability === undefined || this.random() < f.fault.probability;
      if (byCount && byChance) hit ??= f.fault.kind;
    }
    return hit;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(timer);
        resolve();
      }, ms);
      this.waiting.set(timer, reject);
    });
  }
}

/**
 * Memory backends by backend id, and the connector that gives them to a BackendPool. A backend
 * keeps its data when the pool connects to it again (`BackendPool.add`), as a zdb would.
 */
export class MemoryBackends {
  private readonly byId = new Map<string, MemoryBackend>();

  constructor(private readonly options: Omit<MemoryBackendOptions, 'requestTimeoutMs'> = {}) {}

  /** For `new BackendPool(list, { connect })`. */
  readonly connect: ShardConnector = (b, o) => this.open(b.id, o.requestTimeoutMs);

  /** The memory backend of a backend id (made by the pool's first connection to it). */
  get(id: string): MemoryBackend {
    const backend = this.byId.get(id);
    if (!backend) throw new Error(`no memory backend ${id}: the pool has not connected to it`);
    return backend;
  }

  private open(id: string, requestTimeoutMs: number): MemoryBackend {
    let backend = this.byId.get(id);
    if (!backend) {
      // Each backend draws from a seed of its own, so that adding one changes no other's faults.
      const seed = (this.options.seed ?? 1) * 1_000_003 + this.byId.size;
      backend = new MemoryBackend({ ...this.options, seed, requestTimeoutMs });
      this.byId.set(id, backend);
    }
    return backend;
  }
}

/**
 * `count` backends for a BackendPool over MemoryBackends: one per node, spread over three farms
 * as the store harness does with zdb processes (host and port are never dialled).
 */
export function memoryBackendList(count: number): Backend[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `b${i}`,
    farm: `farm${i % 3}`,
    node: `node${i}`,
    host: 'memory',
    port: 0,
    namespace: 'default',
    freeBytes: 2 ** 30,
    state: 'up' as const,
  }));
}
