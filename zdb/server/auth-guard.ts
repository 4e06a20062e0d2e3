import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError } from './command-error.js';

/** After a wrong password, the next check from the same source waits this long. */
export const FAILED_AUTH_DELAY_MS = 100;
/** Past this much queued waiting, a source's attempts are refused without a check. */
export const MAX_AUTH_BACKLOG_MS = 5_000;
/** Sources remembered at once before the ones whose penalty ran out are forgotten. */
const SWEEP_AT = 10_000;

/**
 * Paces password checks (AUTH, SELECT with a password, their SECURE forms) per source address:
 * after a failure, checks from that source run at most one per FAILED_AUTH_DELAY_MS, whatever
 * the number of connections, and a failure's reply waits that long too. More than
 * MAX_AUTH_BACKLOG_MS of queued attempts is refused at once (THROTTLED). A source with no
 * recent failure is checked at once, so the right password costs nothing.
 */
export class AuthGuard {
  private readonly nextCheckAt = new Map<string, number>();

  /** True when `check` (a constant-time password comparison) passed; may resolve later. */
  attempt(source: string, check: () => boolean): boolean | Promise<boolean> {
    const now = Date.now();
    const at = Math.max(now, this.nextCheckAt.get(source) ?? 0);
    if (at - now > MAX_AUTH_BACKLOG_MS)
      throw new CommandError('THROTTLED', 'Too many failed authentications, retry later');
    if (at === now) {
      if (check()) return true;
      this.penalize(source, now + FAILED_AUTH_DELAY_MS);
      return sleep(FAILED_AUTH_DELAY_MS).then(() => false);
    }
    // Queued behind earlier failures: the check itself waits for its turn, which it reserves.
    this.penalize(source, at + FAILED_AUTH_DELAY_MS);
    return sleep(at - now).then(() => (check() ? true : sleep(FAILED_AUTH_DELAY_MS).then(() => false)));
  }

  private penalize(source: string, until: number): void {
    if (this.nextCheckAt.size >= SWEEP_AT) {
      const now = Date.now();
      for (const [s, t] of this.nextCheckAt) if (t <= now) this.nextCheckAt.delete(s);
    }
    this.nextCheckAt.set(source, until);
  }
}
