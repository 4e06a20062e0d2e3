// A metadata record copy missed while backends were down is written when they return, even
// when the gateway restarted meanwhile: the records short of copies are kept in the database.
// Six real zdb, three copies per record: with four down, a record gets two.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { ObjectStore } from '../src/store/object-store.js';
import { collect, content, startStore, type Harness } from './helpers/store-harness.js';

const BUCKET = 'records';
const IDS = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];
const DOWN = ['b0', 'b1', 'b2', 'b3'];

let h: Harness;

beforeAll(async () => {
  h = await startStore(6);
  await h.store.createBucket(BUCKET);
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

async function refreshUntil(ids: string[], state: 'up' | 'down'): Promise<void> {
  for (let i = 0; i < 50 && ids.some((id) => h.backends.get(id)!.state !== state); i++) {
    await h.backends.refresh();
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const id of ids) expect(h.backends.get(id)!.state, id).toBe(state);
}

/** The backends holding record `id` (see MetaReplica). */
async function holders(id: string): Promise<string[]> {
  const recordKey = 'meta:' + crypto.createHash('sha256').update(id).digest('hex');
  const held = await Promise.all(
    IDS.map(
      (b) =>
        h.backends
          .client(b)
          .get(recordKey)
          .then(
            (v) => v !== null,
            () => false,
          ), // down
    ),
  );
  return IDS.filter((_, i) => held[i]);
}

/** A new process on the same database file and backends: nothing kept in memory survives. */
async function restart(): Promise<void> {
  const backends = new BackendPool(
    h.backends.list().map((b) => ({ ...b })),
    { requestTimeoutMs: 3000, downAfterFailures: 1 },
  );
  await h.backends.close();
  await h.meta.close();
  h.backends = backends;
  h.meta = new SqliteMetaStore(path.join(h.dir, 'meta.db'));
  h.store = new ObjectStore({ meta: h.meta, backends, pipeline: h.pipeline, masterKey: h.masterKey });
}

describe('metadata record copies missed while backends were down, across a restart', () => {
  it('backend down, PUT, restart, backend back: the missed copies are written', async () => {
    const index = DOWN.map((id) => IDS.indexOf(id));
    for (const i of index) h.zdbs[i]!.kill('SIGKILL');
    await refreshUntil(DOWN, 'down');
    const bytes = content(1000, 7);
    await h.store.put(
      BUCKET,
      'tiny',
      (async function* () {
        yield bytes;
      })(),
    ); // inline: its bytes live in the metadata copies only
    const record = `o\0${BUCKET}\0tiny`;
    expect(await holders(record)).toEqual(['b4', 'b5']);
    expect(await h.store.replica.catchUp()).toBe(0); // still too few up
    expect(h.store.replica.recordsShort).toBe(1);

    await restart();
    for (const i of index) h.zdbs[i] = await h.zdbs[i]!.restart();
    await refreshUntil(DOWN, 'up');
    expect(await h.store.replica.catchUp()).toBe(1);
    const after = await holders(record);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.some((b) => DOWN.includes(b))).toBe(true);
    expect(h.store.replica.recordsShort).toBe(0);
    expect(await h.meta.countRecordsShort()).toBe(0);
    expect((await collect((await h.store.get(BUCKET, 'tiny')).body)).equals(bytes)).toBe(true);

    // The copies are the record as the database holds it: a rebuild from the backends finds the object.
    const rebuilt = new SqliteMetaStore(path.join(h.dir, 'rebuilt.db'));
    try {
      const report = await h.store.replica.rebuild(rebuilt);
      expect(report).toMatchObject({ buckets: 1, objects: 1, unreadable: 0 });
      expect((await rebuilt.getObject(BUCKET, 'tiny'))?.inline).toEqual(
        (await h.meta.getObject(BUCKET, 'tiny'))?.inline,
      );
    } finally {
      await rebuilt.close();
    }
  }, 180_000);
});
