// Degraded writes over real processes: 4+2 over six zdb behind a real gateway. One backend
// frozen (SIGSTOP), then killed, then a second killed: writes keep succeeding down to the write
// quorum (5), are refused with 503 SlowDown below it, and every chunk written short of a shard
// is completed by repair once backends are back.
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Completer } from '../src/repair/completion.js';
import { Scrubber } from '../src/repair/scrubber.js';
import { content } from './helpers/content.js';
import { startGateway, type GatewayHarness } from './helpers/gateway-harness.js';
import { ZDB } from './helpers/store-harness.js';
import { startZdb } from './helpers/zdb-process.js';

const MiB = 1024 * 1024;
const BUCKET = 'grid';

let g: GatewayHarness;
let s3: S3Client;
/** Every object written, with its bytes: all must read back at the end. */
const written = new Map<string, Buffer>();
let frozen: number | null = null;

beforeAll(async () => {
  g = await startGateway();
  s3 = g.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 60_000);

afterAll(async () => {
  if (frozen !== null) process.kill(frozen, 'SIGCONT'); // a stopped process never exits on SIGTERM
  await g?.close();
}, 60_000);

async function putTimed(key: string, body: Buffer): Promise<number> {
  const t0 = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  written.set(key, body);
  return performance.now() - t0;
}

async function multipartTimed(key: string, parts: Buffer[]): Promise<number> {
  const t0 = performance.now();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const done = [];
  for (const [i, Body] of parts.entries()) {
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body }),
    );
    done.push({ PartNumber: i + 1, ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: done } }),
  );
  written.set(key, Buffer.concat(parts));
  return performance.now() - t0;
}

async function read(key: string): Promise<Buffer> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

/** A 100 KB PUT, a 30 MB PUT and a 3-part multipart upload, each timed; all read back identical. */
async function writeSet(tag: string, seed: number): Promise<Record<string, number>> {
  const ms = {
    small: await putTimed(`${tag}/100k`, content(100_000, seed)),
    large: await putTimed(`${tag}/30m`, content(30 * MiB, seed + 1)),
    multipart: await multipartTimed(`${tag}/mpu`, [
      content(5 * MiB, seed + 2),
      content(5 * MiB, seed + 3),
      content(300_000, seed + 4),
    ]),
  };
  for (const key of [`${tag}/100k`, `${tag}/30m`, `${tag}/mpu`])
    expect((await read(key)).equals(written.get(key)!)).toBe(true);
  return ms;
}

/** Chunks of the stored objects with shards recorded missing. */
async function degradedChunks(): Promise<number> {
  let n = 0;
  for (const key of written.keys())
    n += (await g.h.meta.getObject(BUCKET, key))!.chunks.filter((c) => c.shards.some((x) => x.missing)).length;
  return n;
}

async function refreshUntil(id: string, state: 'up' | 'down'): Promise<void> {
  for (let i = 0; i < 50 && g.h.backends.get(id)!.state !== state; i++) {
    await g.h.backends.refresh();
    if (g.h.backends.get(id)!.state !== state) await new Promise((r) => setTimeout(r, 200));
  }
  expect(g.h.backends.get(id)!.state).toBe(state);
}

describe('degraded writes over six zdb processes (4+2, write quorum 5)', () => {
  it('healthy: the objects every later step must still read', async () => {
    const ms = await writeSet('healthy', 1);
    console.log('healthy PUT ms', ms);
    expect(await degradedChunks()).toBe(0);
  }, 120_000);

  it('one backend frozen (SIGSTOP): the PUTs succeed within a bounded time and read back identical', async () => {
    frozen = g.h.zdbs[5]!.pid;
    process.kill(frozen, 'SIGSTOP');
    const ms = await writeSet('frozen', 10);
    console.log('one frozen PUT ms', ms);
    // Bounded by the shard timeout (3 s in this harness) plus the healthy time, not by the frozen zdb.
    expect(ms.small).toBeLessThan(10_000);
    expect(ms.large).toBeLessThan(60_000);
    expect(g.h.backends.get('b5')!.state).toBe('down');
    expect(await degradedChunks()).toBeGreaterThan(0);
    process.kill(frozen, 'SIGCONT');
    frozen = null;
    await refreshUntil('b5', 'up');
  }, 180_000);

  it('one backend killed: the same', async () => {
    g.h.zdbs[5]!.kill('SIGKILL');
    await refreshUntil('b5', 'down');
    const ms = await writeSet('killed', 20);
    console.log('one killed PUT ms', ms);
    expect(ms.small).toBeLessThan(10_000);
  }, 180_000);

  it('a second backend killed: every object still reads back; a PUT is refused with 503 SlowDown and leaves nothing', async () => {
    g.h.zdbs[4]!.kill('SIGKILL');
    await refreshUntil('b4', 'down');
    for (const [key, bytes] of written) expect((await read(key)).equals(bytes), key).toBe(true);

    const refused = await s3
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'refused', Body: content(100_000, 30) }))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(S3ServiceException);
    expect((refused as S3ServiceException).name).toBe('SlowDown');
    expect((refused as S3ServiceException).$metadata.httpStatusCode).toBe(503);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'refused' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((listed.Contents ?? []).map((o) => o.Key)).not.toContain('refused');
  }, 180_000);

  it('back up, and the dead one replaced by an empty zdb: repair restores every chunk to k+m; a second pass finds nothing', async () => {
    g.h.zdbs[4] = await g.h.zdbs[4]!.restart();
    await refreshUntil('b4', 'up');
    const empty = await startZdb({ bin: ZDB, args: ['--sync'] });
    g.h.zdbs[5] = empty; // stopped with the others
    g.h.backends.add({ ...g.h.backends.get('b5')!, host: empty.host, port: empty.port, state: 'up' });
    await refreshUntil('b5', 'up');

    const t0 = performance.now();
    const completion = await new Completer(g.h, {
      batch: 10_000,
      leaseMs: 60_000,
      graceMs: 0,
      chunksPerSecond: 0,
    }).pass();
    expect(completion.failed).toBe(0);
    expect(await degradedChunks()).toBe(0);
    // What the queue does not know of (the healthy objects' shards lost with b5's disk) the scrubber finds.
    const scrub = await new Scrubber(g.h, { graceMs: 0, chunksPerSecond: 0 }).pass();
    console.log('completion', completion, 'scrub', scrub, 'ms', Math.round(performance.now() - t0));
    expect(scrub.failed).toBe(0);
    const again = await new Scrubber(g.h, { graceMs: 0, chunksPerSecond: 0, repair: false }).pass();
    expect(again).toMatchObject({ belowRedundancy: 0, failed: 0 });
    expect(again.healthy).toBe(again.chunks);
    for (const [key, bytes] of written) expect((await read(key)).equals(bytes), key).toBe(true);
  }, 300_000);
});
