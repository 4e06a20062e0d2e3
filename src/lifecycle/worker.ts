import type {
  Bucket,
  LifecycleCounts,
  LifecycleProgress,
  LifecycleRule,
  MetaStore,
  VersionEntry,
} from '../meta/meta-store.js';
import { MetaError } from '../meta/errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { StoreError } from '../store/errors.js';
import {
  afterDays,
  currentExpiry,
  dayOf,
  expiryOf,
  hasTags,
  lifecycleDayMs,
  matches,
  matchesApartFromTags,
  type Candidate,
} from './rules.js';

export interface LifecycleWorkerOptions {
  /** A lifecycle day; default `lifecycleDayMs()` (24 h unless QSTOR_LIFECYCLE_DAY_SECONDS is set). */
  dayMs?: number;
  /** Versions listed per page, and keys done between two saves of the progress. */
  pageSize?: number;
  /** How often `start()` looks for buckets due; default a quarter day, between 250 ms and 60 s. */
  checkMs?: number;
  log?: (message: string) => void;
}

/** One key's versions, newest first, as listed. */
interface History {
  key: string;
  versions: VersionEntry[];
}

export function noCounts(): LifecycleCounts {
  return { expired: 0, noncurrentRemoved: 0, markersRemoved: 0, uploadsAborted: 0, locked: 0 };
}

/**
 * The lifecycle worker of a running gateway: applies each bucket's lifecycle rules at most once a
 * lifecycle day. A run walks the bucket's versions key by key (each key's whole history at once,
 * so that NewerNoncurrentVersions and "noncurrent since" are exact), then its multipart uploads.
 * Its progress (the last key done) is saved in the bucket's settings every page, so a run cut by
 * a restart resumes there. Object lock is the store's: a locked version is never removed (the
 * delete is refused and counted). `runOnce()` is one pass over every bucket due, so that the job
 * can run under a lease.
 */
export class LifecycleWorker {
  readonly dayMs: number;
  private readonly pageSize: number;
  /** How often a gateway looks for buckets due (the period of its timer or of its leased job). */
  readonly checkMs: number;
  private readonly log: (message: string) => void;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<unknown> | null = null;
  private stopping = false;

  constructor(
    private readonly store: ObjectStore,
    o: LifecycleWorkerOptions = {},
  ) {
    this.dayMs = o.dayMs ?? lifecycleDayMs();
    this.pageSize = o.pageSize ?? 1000;
    this.checkMs = o.checkMs ?? Math.min(60_000, Math.max(250, this.dayMs / 4));
    this.log = o.log ?? (() => {});
  }

  private get meta(): MetaStore {
    return this.store.meta;
  }

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    this.timer = setInterval(() => {
      if (this.current) return;
      this.runOnce().catch((e: unknown) => this.log(`lifecycle run failed: ${(e as Error).message}`));
    }, this.checkMs);
    this.timer.unref();
  }

  /** Stops the timer and ends the run under way at its next key (its progress is saved). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping = true;
    await this.current?.catch(() => {});
  }

  /** One pass: every bucket whose rules have not run this lifecycle day. Returns what each run did. */
  async runOnce(now = Date.now()): Promise<Map<string, LifecycleCounts>> {
    // One pass at a time (the timer's and a caller's): the second starts when the first ends.
    while (this.current) await this.current.catch(() => {});
    const run = this.pass(now);
    this.current = run;
    try {
      return await run;
    } finally {
      this.current = null;
    }
  }

  private async pass(now: number): Promise<Map<string, LifecycleCounts>> {
    const done = new Map<string, LifecycleCounts>();
    for (const { name } of await this.meta.listBuckets()) {
      if (this.stopping) break;
      const bucket = await this.meta.getBucket(name);
      if (!bucket) continue;
      const counts = await this.runBucket(bucket, now);
      if (counts) done.set(name, counts);
    }
    return done;
  }

  private async runBucket(bucket: Bucket, now: number): Promise<LifecycleCounts | null> {
    const rules = (bucket.settings.lifecycle ?? []).filter((r) => r.enabled);
    const progress = bucket.settings.lifecycleProgress ?? {};
    const today = dayOf(now, this.dayMs);
    if (rules.length === 0 || (!progress.running && progress.lastDay !== undefined && progress.lastDay >= today))
      return null;
    const run = progress.running ?? { day: today, started: now, afterKey: '', counts: noCounts() };
    await this.save(bucket.name, { ...progress, running: run });
    let sinceSave = 0;
    for await (const history of this.histories(bucket.name, run.afterKey)) {
      if (this.stopping) {
        await this.save(bucket.name, { ...progress, running: run });
        return null;
      }
      await this.applyToKey(bucket, rules, history, now, run.counts);
      run.afterKey = history.key;
      if (++sinceSave >= this.pageSize) {
        sinceSave = 0;
        await this.save(bucket.name, { ...progress, running: run });
      }
    }
    await this.abortUploads(bucket.name, rules, now, run.counts);
    await this.save(bucket.name, { lastDay: run.day, lastFinished: Date.now(), lastCounts: run.counts });
    const c = run.counts;
    this.log(
      `lifecycle ${bucket.name}: ${c.expired} expired, ${c.noncurrentRemoved} noncurrent and ${c.markersRemoved} delete markers removed, ${c.uploadsAborted} uploads aborted, ${c.locked} kept by object lock`,
    );
    return run.counts;
  }

  private async save(bucket: string, progress: LifecycleProgress): Promise<void> {
    try {
      await this.meta.updateBucketSettings(bucket, (s) => ({ ...s, lifecycleProgress: progress }));
    } catch (e) {
      if (!(e instanceof MetaError && e.code === 'NoSuchBucket')) throw e;
    }
  }

  /**
   * Every key after `afterKey` with its whole history. A key's group is handed out only once its
   * last version is listed: the next page starts from that key's last version listed, which the
   * caller has not removed yet.
   */
  private async *histories(bucket: string, afterKey: string): AsyncGenerator<History> {
    let keyMarker: string | undefined = afterKey || undefined;
    let versionIdMarker: string | undefined;
    let group: History | null = null;
    let seen = new Set<string>();
    for (;;) {
      const page = await this.meta.listVersions({ bucket, keyMarker, versionIdMarker, maxKeys: this.pageSize });
      for (const v of page.versions) {
        if (group && group.key !== v.key) {
          yield group;
          group = null;
        }
        if (!group) {
          group = { key: v.key, versions: [] };
          seen = new Set();
        }
        // A version listed again (its successor's page restarted the key's history) counts once.
        if (!seen.has(v.versionId)) group.versions.push(v);
        seen.add(v.versionId);
      }
      if (!page.isTruncated || page.nextKeyMarker === null) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker ?? undefined;
    }
    if (group) yield group;
  }

  private async applyToKey(
    bucket: Bucket,
    rules: LifecycleRule[],
    { key, versions }: History,
    now: number,
    counts: LifecycleCounts,
  ): Promise<void> {
    const name = bucket.name;
    const removed = new Set<string>();
    // Noncurrent versions: each became noncurrent when the next newer one was written.
    for (let i = 1; i < versions.length; i++) {
      const v = versions[i]!;
      const since = versions[i - 1]!.lastModified;
      const due = rules.filter(
        (r) =>
          r.noncurrentExpiration &&
          i - 1 >= (r.noncurrentExpiration.newerNoncurrentVersions ?? 0) &&
          now >= afterDays(since, r.noncurrentExpiration.noncurrentDays, this.dayMs),
      );
      if ((await this.selects(due, name, v)) && (await this.remove(name, key, v.versionId, counts))) {
        removed.add(v.versionId);
        counts.noncurrentRemoved++;
      }
    }
    const latest = versions[0]!;
    if (latest.object) {
      const due = rules.filter((r) => {
        const at = expiryOf(r, latest.lastModified, this.dayMs);
        return at !== null && now >= at;
      });
      if ((await this.selects(due, name, latest)) && (await this.expire(name, key, latest))) counts.expired++;
    } else if (versions.every((v) => v === latest || removed.has(v.versionId)) && this.markerDue(rules, latest, now)) {
      // A delete marker with no version left behind it: an expired object delete marker.
      if (await this.remove(name, key, latest.versionId, counts)) counts.markersRemoved++;
    }
  }

  /**
   * Whether one of the rules `due` (their time has come for this version) selects it: prefix and
   * size first, and the version's own tags (each version has its own, AWS) only when nothing
   * else is left to decide, so that a bucket's run reads the tags of few versions, one query each.
   */
  private async selects(due: LifecycleRule[], bucket: string, v: VersionEntry): Promise<boolean> {
    const candidate: Candidate = { key: v.key, size: v.object?.size };
    const near = due.filter((r) => matchesApartFromTags(r.filter, candidate));
    if (near.some((r) => !r.filter.tags?.length)) return true;
    // A delete marker carries no tags.
    if (near.length === 0 || !v.object) return false;
    const tags = (await this.meta.getVersion(bucket, v.key, v.versionId))?.manifest?.tags ?? {};
    return near.some((r) => hasTags(r.filter, tags));
  }

  /**
   * Whether an expired object delete marker goes: at once under ExpiredObjectDeleteMarker, or
   * once it is old enough for a Days or Date expiration rule it matches (AWS: "If the lifecycle
   * configuration is set to delete current versions, ... Amazon S3 removes the expired object's
   * delete marker", userguide/ManagingDelMarkers.html).
   */
  private markerDue(rules: LifecycleRule[], marker: VersionEntry, now: number): boolean {
    const c = { key: marker.key };
    if (rules.some((r) => r.expiration?.expiredObjectDeleteMarker === true && matches(r.filter, c))) return true;
    const expiry = currentExpiry(rules, c, marker.lastModified, this.dayMs);
    return expiry !== null && now >= expiry.at;
  }

  /**
   * Expires the current version listed. Unversioned: the object goes; Enabled: a delete marker
   * hides it; Suspended: a null delete marker replaces the null version (AWS's expiration in
   * each state). Only while it is still the key's current version, checked in the delete's
   * transaction: a client's write since the listing wins. False when it lost to one.
   */
  private async expire(bucket: string, key: string, listed: VersionEntry): Promise<boolean> {
    try {
      await this.store.delete(bucket, key, undefined, {
        condition: { versionId: listed.versionId, lastModified: listed.lastModified, etag: listed.object?.etag },
      });
      return true;
    } catch (e) {
      if (e instanceof MetaError && (e.code === 'PreconditionFailed' || e.code === 'NoSuchKey')) return false;
      throw e;
    }
  }

  /** Removes a version for good; false when object lock keeps it. */
  private async remove(bucket: string, key: string, versionId: string, counts: LifecycleCounts): Promise<boolean> {
    try {
      await this.store.delete(bucket, key, versionId);
      return true;
    } catch (e) {
      if (e instanceof MetaError && e.code === 'AccessDenied') {
        counts.locked++;
        return false;
      }
      throw e;
    }
  }

  private async abortUploads(
    bucket: string,
    rules: LifecycleRule[],
    now: number,
    counts: LifecycleCounts,
  ): Promise<void> {
    const abortRules = rules.filter((r) => r.abortIncompleteUploadDays !== undefined);
    if (abortRules.length === 0) return;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.meta.listUploads(bucket, { keyMarker, uploadIdMarker, maxUploads: this.pageSize });
      for (const u of page.uploads) {
        const due = abortRules.some(
          (r) =>
            matches(r.filter, { key: u.key }) &&
            now >= afterDays(u.initiated, r.abortIncompleteUploadDays!, this.dayMs),
        );
        if (!due) continue;
        try {
          await this.store.abortUpload(u.uploadId);
          counts.uploadsAborted++;
        } catch (e) {
          // Completed or aborted by its client meanwhile.
          if (!((e instanceof MetaError || e instanceof StoreError) && e.code === 'NoSuchUpload')) throw e;
        }
      }
      if (!page.isTruncated || page.nextKeyMarker === null) break;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker ?? undefined;
    }
  }
}
