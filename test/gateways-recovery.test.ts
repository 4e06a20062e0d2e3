/**
 * Background work survives a gateway killed -9 (issue 15), checked on the backends themselves:
 * the shards of its interrupted PUT and UploadPart are deleted by the other gateways once it
 * has been silent past the orphan age; the delete queue drains to nothing; a scrub pass runs
 * on a survivor once the killed holder's lease expires and rebuilds shards removed from a zdb.
 * The orphan age and the scrub period are shortened for the test (QSTOR_ORPHANED_WRITES_SECONDS,
 * QSTOR_SCRUB_SECONDS, read by each gateway at start).
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardLocation } from '../src/meta/meta-store.js';
import { PostgresMetaStore } from '../src/meta/postgres/postgres-meta-store.js';
import { ALIVE_MS } from '../src/repair/leased-job.js';
import { ZdbClient } from '../src/zdb-client/client.js';
import { startGatewayCluster, type GatewayCluster } from './helpers/gateways-harness.js';
import { streamed } from './helpers/streamed-body.js';

const MiB = 1 << 20;
const B = 'recovery';
const ENV = { QSTOR_ORPHANED_WRITES_SECONDS: '8', QSTOR_SCRUB_SECONDS: '3' };

let c: GatewayCluster;
let meta: PostgresMetaStore;
let db: pg.Pool;
/** One client per zdb, by index: backend `z<n>` is zdb n (see the harness). */
let zdbs: ZdbClient[];
const s3: S3Client[] = [];
const saved = new Map<string, string | undefined>();

function zdbOf(backend: string): ZdbClient {
  const z = zdbs[Number(backend.slice(1))];
  if (!z) throw new Error(`no zdb for backend ${backend}`);
  return z;
}

async function stored(shards: ShardLocation[]): Promise<ShardLocation[]> {
  const found = await Promise.all(shards.map((s) => zdbOf(s.backend).exists(s.key)));
  return shards.filter((_, i) => found[i]);
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The index of the gateway holding lease `name` (taken by then), and one that does not hold it. */
async function holderOf(name: string): Promise<{ holder: number; other: number }> {
  let holderId: string | undefined;
  await until(
    `lease ${name} taken`,
    async () => (holderId = (await meta.listLeases()).find((l) => l.name === name)?.holder) !== undefined,
    60_000,
  );
  const address = (await meta.listGateways(ALIVE_MS)).find((g) => g.id === holderId)?.address;
  const holder = c.gateways.findIndex((g) => g !== undefined && address === `127.0.0.1:${g.port}`);
  expect(holder).toBeGreaterThanOrEqual(0);
  return { holder, other: c.gateways.findIndex((g, i) => g !== undefined && i !== holder) };
}

async function get(client: S3Client, Key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: B, Key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Every shard location of the newest version of `key`, as its manifest names them. */
async function shardsOf(key: string): Promise<ShardLocation[]> {
  const manifest = await meta.getObject(B, key);
  if (!manifest) throw new Error(`no object ${key}`);
  return manifest.chunks.flatMap((ch) => ch.shards.map(({ backend, key: k }) => ({ backend, key: k })));
}

beforeAll(async () => {
  for (const [name, value] of Object.entries(ENV)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  c = await startGatewayCluster({ gateways: 3 });
  meta = await PostgresMetaStore.open(c.metadata, { max: 2 });
  db = new pg.Pool({ connectionString: c.metadata, max: 2 });
  zdbs = c.zdbs.map((z) => new ZdbClient({ port: z.port, connections: 1 }));
  for (let i = 0; i < 3; i++) s3[i] = c.client(i, 3);
  await s3[0]!.send(new CreateBucketCommand({ Bucket: B }));
}, 120_000);

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all((zdbs ?? []).map((z) => z.close()));
  await db?.end();
  await meta?.close();
  await c?.close();
}, 60_000);

describe('three gateways, one killed -9: the others finish its background work', () => {
  it('its interrupted PUT and UploadPart leave no shard behind: the survivors delete them', async () => {
    // Killed: a gateway other than the one recovering orphaned writes (whose lease would take
    // 15 s more to move).
    const { other: victim } = await holderOf('recover-writes');
    const { UploadId } = await s3[0]!.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'cut-mpu' }));
    // Both uploads stream slowly through the victim, which is killed once each has shards on
    // the zdbs (a 4 MiB chunk written, the next one coming).
    const owned = async (): Promise<ShardLocation[]> =>
      (await db.query<ShardLocation>('SELECT backend, key FROM pending_writes')).rows;
    const killed = (async () => {
      await until(
        'shards of both uploads written',
        async () => {
          const rows = await db.query<{ n: number }>('SELECT count(DISTINCT write_id)::int AS n FROM pending_writes');
          return rows.rows[0]!.n === 2 && (await stored(await owned())).length >= 12;
        },
        60_000,
      );
      await c.kill(victim);
    })();
    const put = crypto.randomBytes(12 * MiB);
    const part = crypto.randomBytes(12 * MiB);
    const once = c.client(victim);
    const slowly = (data: Buffer): Readable => streamed(data, 0, async () => undefined, 600);
    const results = await Promise.allSettled([
      once.send(new PutObjectCommand({ Bucket: B, Key: 'cut-put', Body: slowly(put), ContentLength: put.length })),
      once.send(
        new UploadPartCommand({
          Bucket: B,
          Key: 'cut-mpu',
          UploadId,
          PartNumber: 1,
          Body: slowly(part),
          ContentLength: part.length,
        }),
      ),
    ]);
    await killed;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);

    // What the killed gateway left: its pending writes, and shards of them on the zdbs.
    const left = await owned();
    expect(left.length).toBeGreaterThan(0);
    const onDisk = await stored(left);
    expect(onDisk.length).toBeGreaterThan(0);
    // Nothing of them is visible.
    const head = await s3[(victim + 1) % 3]!.send(new HeadObjectCommand({ Bucket: B, Key: 'cut-put' })).catch(
      (e: unknown) => e,
    );
    expect((head as S3ServiceException).$metadata.httpStatusCode).toBe(404);
    const parts = await s3[(victim + 2) % 3]!.send(new ListPartsCommand({ Bucket: B, Key: 'cut-mpu', UploadId }));
    expect(parts.Parts ?? []).toEqual([]);

    // Once the victim has been silent 8 s, a survivor recovers its writes and the delete queue
    // removes their shards.
    await until(
      'the pending writes recovered',
      async () => (await db.query('SELECT 1 FROM pending_writes LIMIT 1')).rowCount === 0,
      90_000,
    );
    await until('their shards deleted from the zdbs', async () => (await stored(onDisk)).length === 0, 60_000);
    expect(await meta.countDeletes()).toBe(0);

    // The survivors serve on; the victim comes back for the tests below.
    const retry = crypto.randomBytes(300_000);
    await s3[(victim + 1) % 3]!.send(new PutObjectCommand({ Bucket: B, Key: 'cut-put', Body: retry }));
    expect((await get(s3[(victim + 2) % 3]!, 'cut-put')).equals(retry)).toBe(true);
    await c.start(victim);
    s3[victim] = c.client(victim, 3);
  }, 240_000);

  it('the delete queue drains to nothing with one gateway killed while it drains', async () => {
    const keys = Array.from({ length: 60 }, (_, n) => `drain/${n}`);
    for (const [n, Key] of keys.entries())
      await s3[n % 3]!.send(new PutObjectCommand({ Bucket: B, Key, Body: crypto.randomBytes(100_000 + n) }));
    const shards = (await Promise.all(keys.map(shardsOf))).flat();
    expect(await stored(shards)).toHaveLength(shards.length);
    await s3[0]!.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
    // Killed as soon as a drain has taken entries (every gateway drains every 5 s): the
    // victim's batch, when it was the taker, is offered again once its row lease ends (60 s).
    await until(
      'a drain started',
      async () =>
        (await db.query('SELECT 1 FROM delete_queue WHERE leased_until > 0 LIMIT 1')).rowCount === 1 ||
        (await meta.countDeletes()) === 0,
      30_000,
    );
    await c.kill(2);
    await until('the delete queue empty', async () => (await meta.countDeletes()) === 0, 120_000);
    expect(await stored(shards)).toEqual([]);
    await c.start(2);
    s3[2] = c.client(2, 3);
  }, 240_000);

  it("a scrub pass runs on a survivor once the killed holder's lease expires: removed shards rebuilt", async () => {
    const body = crypto.randomBytes(3 * MiB);
    await s3[0]!.send(new PutObjectCommand({ Bucket: B, Key: 'scrubbed', Body: body }));
    const { holder } = await holderOf('scrub');
    await c.kill(holder);
    // Two shards of each chunk gone from their zdbs (at parity 2, one more loss would lose data).
    const before = await shardsOf('scrubbed');
    const removed = before.filter((_, i) => i % 6 < 2);
    for (const s of removed) expect(await zdbOf(s.backend).del(s.key)).toBe(true);
    expect(await stored(before)).toHaveLength(before.length - removed.length);
    await until(
      'every shard of the object stored again',
      async () => {
        const now = await shardsOf('scrubbed');
        return now.every((s) => s.backend !== '') && (await stored(now)).length === now.length;
      },
      120_000,
    );
    const newHolder = (await meta.listLeases()).find((l) => l.name === 'scrub')?.holder;
    expect((await meta.listGateways(ALIVE_MS)).map((g) => g.id)).toContain(newHolder);
    expect((await get(s3[(holder + 1) % 3]!, 'scrubbed')).equals(body)).toBe(true);
  }, 240_000);
});
