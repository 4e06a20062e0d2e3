import type { MetaStore } from '../meta/meta-store.js';

/** How often a gateway records that it is alive (`heartbeatGateway`). */
export const HEARTBEAT_MS = 3_000;
/** A gateway heard from within this long is alive (`qstor admin status`, the gateways listed). */
export const ALIVE_MS = 5 * HEARTBEAT_MS;
/**
 * The pending writes of a gateway silent for this long are recovered (their shards deleted):
 * `QSTOR_ORPHANED_WRITES_SECONDS` when set, else 2 minutes. Far longer than ALIVE_MS: a
 * gateway whose event loop or database link stalls for a while still commits its writes in
 * flight afterwards, and their shards must not be gone by then. Tests set a few seconds.
 */
export const ORPHANED_WRITES_MS = orphanedWritesMs();

/** `QSTOR_ORPHANED_WRITES_SECONDS` (a positive number) in ms, else 2 minutes. */
export function orphanedWritesMs(env: NodeJS.ProcessEnv = process.env): number {
  return secondsFromEnv(env, 'QSTOR_ORPHANED_WRITES_SECONDS', 2 * 60_000);
}

/** Env variable `name` as a positive number of seconds, in ms; `fallbackMs` when unset or not one. */
export function secondsFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const seconds = Number(env[name]);
  return env[name] !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallbackMs;
}

export interface LeasedJobOptions {
  /** The lease's name: one gateway at a time runs the job. */
  name: string;
  /** This gateway's id. */
  holder: string;
  /** How often a round starts; a round still running when the next is due skips it. */
  periodMs: number;
  /** How long the lease outlives its last renewal (a killed holder's lease lasts that long). */
  ttlMs: number;
  /** One round, run while this gateway holds the lease (renewed all along). */
  run: () => Promise<unknown>;
  /** What a round does on a gateway that does not hold the lease (none: nothing). */
  otherwise?: () => Promise<unknown>;
  log: (message: string) => void;
}

/** The default lease of a job of period `periodMs`: a few periods, never under 15 s. */
export function leaseTtl(periodMs: number): number {
  return Math.max(3 * periodMs, 15_000);
}

/**
 * A periodic job that gateways sharing one metadata database split between them through a
 * lease (`acquireLease`): before each round the gateway takes the lease or renews it, and
 * renews it every third of its ttl while the round runs, so a long round keeps it. The holder
 * keeps the lease between rounds (the ttl spans several periods), so the job stays on one
 * gateway; a gateway that stops (`stop`) gives it up at once, one that is killed loses it when
 * it expires and the next gateway to try takes it.
 */
export class LeasedJob {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private stopped = false;
  /** Rounds run holding the lease. */
  rounds = 0;

  constructor(
    private readonly meta: Pick<MetaStore, 'acquireLease' | 'releaseLease'>,
    private readonly opts: LeasedJobOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.periodMs);
  }

  /** One round now, unless one is running: the lease's work if this gateway gets it. */
  tick(): Promise<void> {
    if (this.round || this.stopped) return this.round ?? Promise.resolve();
    this.round = this.once()
      .catch((e: unknown) => this.opts.log(`${this.opts.name} failed: ${(e as Error).message}`))
      .finally(() => (this.round = null));
    return this.round;
  }

  private async once(): Promise<void> {
    const { name, holder, ttlMs } = this.opts;
    if (!(await this.meta.acquireLease(name, holder, ttlMs))) {
      await this.opts.otherwise?.();
      return;
    }
    // Chained, and awaited before the round ends: a late renewal never takes the lease back
    // after `stop` gave it up.
    let renewing = Promise.resolve();
    const renew = setInterval(() => {
      renewing = renewing
        .then(() => this.meta.acquireLease(name, holder, ttlMs))
        .then((held) => {
          if (!held) this.opts.log(`${name}: lease lost while running (a renewal came too late)`);
        })
        .catch((e: unknown) => this.opts.log(`${name}: lease renewal failed: ${(e as Error).message}`));
    }, ttlMs / 3);
    try {
      this.rounds++;
      await this.opts.run();
    } finally {
      clearInterval(renew);
      await renewing;
    }
  }

  /**
   * No more rounds. The lease is given up for another gateway once the round running ends; one
   * still running after `waitMs` (a scrub takes hours) keeps it until it expires, so that the
   * job never runs on two gateways at once.
   */
  async stop(waitMs = 5_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let timeout: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      (this.round ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), waitMs))),
    ]);
    clearTimeout(timeout);
    if (ended) await this.meta.releaseLease(this.opts.name, this.opts.holder);
  }
}
