import type { LifecycleCounts, MetaStore } from '../meta/meta-store.js';

function countsText(c: LifecycleCounts): string {
  return `${c.expired} expired, ${c.noncurrentRemoved} noncurrent removed, ${c.markersRemoved} delete markers removed, ${c.uploadsAborted} uploads aborted, ${c.locked} kept by object lock`;
}

/** One line per bucket with lifecycle rules: its last finished run and the run under way (`qstor admin status`). */
export async function lifecycleStatus(meta: MetaStore): Promise<string[]> {
  const lines: string[] = [];
  for (const { name } of await meta.listBuckets()) {
    const settings = (await meta.getBucket(name))?.settings;
    const rules = settings?.lifecycle;
    if (!rules?.length) continue;
    const p = settings!.lifecycleProgress ?? {};
    const enabled = rules.filter((r) => r.enabled).length;
    let line = `lifecycle ${name}: ${enabled} of ${rules.length} rules enabled; `;
    line +=
      p.lastFinished !== undefined && p.lastCounts
        ? `last run finished ${new Date(p.lastFinished).toISOString()} (${countsText(p.lastCounts)})`
        : 'no run finished yet';
    if (p.running)
      line += `; running since ${new Date(p.running.started).toISOString()}, done up to key ${JSON.stringify(p.running.afterKey)} (${countsText(p.running.counts)})`;
    lines.push(line);
  }
  return lines;
}
