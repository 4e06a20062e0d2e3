import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { LeasedJob, type LeasedJobOptions } from '../src/repair/leased-job.js';
import { until } from './helpers/agent-harness.js';

/**
 * Two holders of one job over one sqlite file, each through its own MetaStore (connection), as
 * gateways sharing a database are: the job runs on one only, and moves to the other when the
 * first stops (at once) or is killed (when its lease expires). Several gateway processes over
 * one sqlite data directory are refused (its lock), hence a process running the job alone.
 */
const DIST = path.resolve('dist/src');
const PERIOD_MS = 100;
const TTL_MS = 1_500;

/** A process holding job "drain" as `holder`, printing a line per round. */
function holderScript(db: string, holder: string): string {
  return `
import { SqliteMetaStore } from '${DIST}/meta/sqlite/sqlite-meta-store.js';
import { LeasedJob } from '${DIST}/repair/leased-job.js';
const meta = new SqliteMetaStore(${JSON.stringify(db)});
new LeasedJob(meta, {
  name: 'drain', holder: ${JSON.stringify(holder)}, periodMs: ${PERIOD_MS}, ttlMs: ${TTL_MS},
  run: async () => process.stdout.write('round\\n'),
  log: (m) => process.stderr.write(m + '\\n'),
}).start();
`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LeasedJob: one job, two holders over one database', () => {
  let dir: string;
  let db: string;
  const stores: SqliteMetaStore[] = [];
  const jobs: LeasedJob[] = [];
  let child: ChildProcess | null = null;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-lease-'));
    db = path.join(dir, 'meta.db');
  });

  afterEach(async () => {
    child?.kill('SIGKILL');
    child = null;
    await Promise.all(jobs.splice(0).map((j) => j.stop(0)));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A holder in this process, through a store of its own; `running` counts rounds under way. */
  function holder(name: string, run: LeasedJobOptions['run'] = async () => {}): LeasedJob {
    const meta = new SqliteMetaStore(db);
    stores.push(meta);
    const job = new LeasedJob(meta, {
      name: 'drain',
      holder: name,
      periodMs: PERIOD_MS,
      ttlMs: TTL_MS,
      run,
      log: () => {},
    });
    jobs.push(job);
    job.start();
    return job;
  }

  it('runs on one holder only, and on the other as soon as the first stops', async () => {
    let running = 0;
    let overlapped = false;
    const round = async (): Promise<void> => {
      running++;
      overlapped ||= running > 1;
      await sleep(30);
      running--;
    };
    const a = holder('gw-a', round);
    await until('gw-a to run the job', () => a.rounds >= 3, 20_000);
    const b = holder('gw-b', round);
    const before = a.rounds;
    await sleep(1_000);
    expect(b.rounds).toBe(0);
    expect(a.rounds).toBeGreaterThan(before); // still on gw-a while gw-b tries every period
    await a.stop();
    const stopped = Date.now();
    await until('gw-b to take the job', () => b.rounds >= 3, 20_000);
    // Given up by stop: no wait for the lease to expire.
    expect(Date.now() - stopped).toBeLessThan(TTL_MS + 5_000);
    expect(overlapped).toBe(false);
    expect((await stores[1]!.listLeases()).map((l) => l.holder)).toEqual(['gw-b']);
  }, 60_000);

  it('keeps the lease through a round longer than its ttl', async () => {
    let rounds = 0;
    // The round outlasts the watch below by 3 ttls, so a late start of the watch (a loaded
    // machine) cannot see the round end and the next begin.
    const a = holder('gw-a', async () => {
      rounds++;
      await sleep(6 * TTL_MS);
    });
    await until('gw-a to start its long round', () => a.rounds === 1, 20_000);
    const b = holder('gw-b');
    await sleep(3 * TTL_MS);
    expect(b.rounds).toBe(0);
    expect(rounds).toBe(1);
  }, 60_000);

  it('moves to the other holder once a killed holder lease expires', async () => {
    const script = path.join(dir, 'holder.mjs');
    fs.writeFileSync(script, holderScript(db, 'gw-a'));
    const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let rounds = 0;
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (rounds += d.toString().split('\n').length - 1));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until(`the holder process to run the job (${err})`, () => rounds >= 3, 20_000);
    const b = holder('gw-b');
    await sleep(1_000);
    expect(b.rounds).toBe(0);
    expect((await stores[0]!.listLeases()).map((l) => l.holder)).toEqual(['gw-a']);
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
    const killed = Date.now();
    const roundsOfA = rounds;
    await until('gw-b to take the job over', () => b.rounds >= 1, 20_000);
    // Not before the killed holder's lease ran out: it was renewed at most one period before.
    expect(Date.now() - killed).toBeGreaterThanOrEqual(TTL_MS - 2 * PERIOD_MS);
    expect(rounds).toBe(roundsOfA);
    expect((await stores[0]!.listLeases()).map((l) => l.holder)).toEqual(['gw-b']);
  }, 60_000);
});
