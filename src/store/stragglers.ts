/**
 * The waits of a group of parallel writes where `enough` of `total` make it a success (a chunk's
 * shards: the write quorum; a metadata record's copies): each attempt gives up at its own
 * timeout, and once `enough` are stored the others get `minMs`, or 4x the time `enough` took if
 * longer. A frozen backend then costs the group little more than its healthy time; a backend
 * merely slower than its peers is still waited for.
 */
export class Stragglers {
  private readonly controller = new AbortController();
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  /** Writes of the group stored so far. */
  stored = 0;

  constructor(
    private readonly enough: number,
    private readonly total: number,
    private readonly minMs: number,
  ) {}

  /** What one attempt waits under (for `BackendPool.run`): its own timeout, or the group giving up on it. */
  signal(timeoutMs: number): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(timeoutMs), this.controller.signal]);
  }

  /** True once the group gave up on its stragglers: no further attempt (a spare) is worth making. */
  get givenUp(): boolean {
    return this.controller.signal.aborted;
  }

  /** One write stored. */
  storedOne(): void {
    if (++this.stored !== this.enough || this.stored >= this.total) return;
    const wait = Math.max(this.minMs, 4 * (performance.now() - this.started));
    this.timer = setTimeout(
      () => this.controller.abort(new Error(`the others were stored ${Math.round(wait)} ms before`)),
      wait,
    );
  }

  /** The group is over: no timer left behind. */
  close(): void {
    clearTimeout(this.timer);
  }
}
