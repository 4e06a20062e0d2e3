import type { LifecycleFilter, LifecycleRule } from '../meta/meta-store.js';

/**
 * When lifecycle rules act, and on what. Times are Unix ms; a "day" is a lifecycle day (24 h,
 * or `QSTOR_LIFECYCLE_DAY_SECONDS` for tests, as Ceph's `rgw_lc_debug_interval`) and days end
 * at the epoch's day boundaries (midnight UTC for real days).
 */

export const DAY_MS = 24 * 3600 * 1000;

/** The lifecycle day's length: `QSTOR_LIFECYCLE_DAY_SECONDS` when set (tests), else 24 h. */
export function lifecycleDayMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env['QSTOR_LIFECYCLE_DAY_SECONDS']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DAY_MS;
}

/** The day `ms` falls in, counted from the epoch. */
export function dayOf(ms: number, dayMs: number): number {
  return Math.floor(ms / dayMs);
}

/** AWS's expiry time: `days` after `from`, rounded up to the next day boundary (midnight UTC). */
export function afterDays(from: number, days: number, dayMs: number): number {
  return Math.ceil((from + days * dayMs) / dayMs) * dayMs;
}

/** What a filter looks at of a version: size and tags (a delete marker has neither). */
export interface Candidate {
  key: string;
  size?: number;
  tags?: Record<string, string>;
}

/** Whether the filter's prefix and size bounds (strict, as AWS) hold; its tags are not looked at. */
export function matchesApartFromTags(filter: LifecycleFilter, c: Candidate): boolean {
  if (filter.prefix !== undefined && !c.key.startsWith(filter.prefix)) return false;
  const sized = filter.objectSizeGreaterThan !== undefined || filter.objectSizeLessThan !== undefined;
  if (sized && c.size === undefined) return false;
  if (filter.objectSizeGreaterThan !== undefined && !(c.size! > filter.objectSizeGreaterThan)) return false;
  if (filter.objectSizeLessThan !== undefined && !(c.size! < filter.objectSizeLessThan)) return false;
  return true;
}

/** Whether the version carries every tag the filter names, each with that value. */
export function hasTags(filter: LifecycleFilter, tags: Record<string, string> | undefined): boolean {
  return (filter.tags ?? []).every((t) => tags !== undefined && Object.hasOwn(tags, t.key) && tags[t.key] === t.value);
}

export function matches(filter: LifecycleFilter, c: Candidate): boolean {
  return matchesApartFromTags(filter, c) && hasTags(filter, c.tags);
}

/** When an enabled Expiration rule (Days or Date) expires a current version last modified at `modified`. */
export function expiryOf(rule: LifecycleRule, modified: number, dayMs: number): number | null {
  const e = rule.expiration;
  if (!rule.enabled || !e) return null;
  if (e.days !== undefined) return afterDays(modified, e.days, dayMs);
  return e.date ?? null;
}

/**
 * When the current version `c`, last modified at `modified`, expires and by which rule: the
 * earliest of the enabled Expiration rules (Days or Date) it matches; null when none does.
 */
export function currentExpiry(
  rules: readonly LifecycleRule[],
  c: Candidate,
  modified: number,
  dayMs: number,
): { at: number; ruleId: string } | null {
  let best: { at: number; ruleId: string } | null = null;
  for (const rule of rules) {
    const at = expiryOf(rule, modified, dayMs);
    if (at === null || !matches(rule.filter, c)) continue;
    if (!best || at < best.at) best = { at, ruleId: rule.id };
  }
  return best;
}

/** The `x-amz-expiration` value of an expiry (the rule id URL-encoded, as AWS sends it). */
export function expirationHeader(expiry: { at: number; ruleId: string }): string {
  return `expiry-date="${new Date(expiry.at).toUTCString()}", rule-id="${encodeURIComponent(expiry.ruleId)}"`;
}
