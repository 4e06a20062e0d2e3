/**
 * Three gateway processes over one PostgreSQL and six zdb are one store (issue 15): what one
 * gateway writes the others read and list at once, a multipart upload travels between them,
 * conditional PUTs race across them with one winner, a gateway killed -9 mid-PUT leaves nothing
 * half-written and the others serve on, and PostgreSQL restarting under load costs failed
 * requests (503), never an acknowledged write.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayCluster, type GatewayCluster } from './helpers/gateways-harness.js';
import { streamed } from './helpers/streamed-body.js';

const MiB = 1 << 20;
const B = 'shared';

let c: GatewayCluster;
/** One root client per gateway, by index; refreshed when a gateway restarts. */
const s3: S3Client[] = [];

async function get(client: S3Client, Key: string, Bucket = B): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** The HTTP status an SDK call fails with (it must fail). */
async function status(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { status: e.$metadata.httpStatusCode ?? 0, code: e.name };
    throw e;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  c = await startGatewayCluster({ gateways: 3 });
  // Three attempts, as SDKs make by default: a keep-alive connection the gateway closes just as
  // a request goes out is sent again. Tests that count outcomes use clients of one attempt.
  for (let i = 0; i < 3; i++) s3[i] = c.client(i, 3);
  await s3[0]!.send(new CreateBucketCommand({ Bucket: B }));
}, 120_000);

afterAll(async () => {
  await c?.close();
}, 60_000);

describe('three gateways over one PostgreSQL', () => {
  it('read-your-writes across gateways, deletes seen everywhere, identical listings', async () => {
    const bodies = new Map<string, Buffer>();
    for (let k = 0; k < 24; k++) {
      const key = `ryw/${k % 4}/${k.toString().padStart(2, '0')}`;
      // Mixed sizes: inline in the manifest (small) and chunked on the zdbs (large).
      const body = crypto.randomBytes(k % 3 === 0 ? 200_000 : 1000 + k);
      await s3[k % 3]!.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
      // At once, through the two others.
      expect((await get(s3[(k + 1) % 3]!, key)).equals(body)).toBe(true);
      const head = await s3[(k + 2) % 3]!.send(new HeadObjectCommand({ Bucket: B, Key: key }));
      expect(head.ContentLength).toBe(body.length);
      bodies.set(key, body);
    }
    // Overwritten on one, read on another: the new bytes.
    const newer = crypto.randomBytes(5000);
    await s3[2]!.send(new PutObjectCommand({ Bucket: B, Key: 'ryw/0/00', Body: newer }));
    expect((await get(s3[0]!, 'ryw/0/00')).equals(newer)).toBe(true);
    bodies.set('ryw/0/00', newer);
    await s3[1]!.send(new DeleteObjectCommand({ Bucket: B, Key: 'ryw/1/01' }));
    bodies.delete('ryw/1/01');
    expect(await status(s3[2]!.send(new GetObjectCommand({ Bucket: B, Key: 'ryw/1/01' })))).toEqual({
      status: 404,
      code: 'NoSuchKey',
    });

    const listing = async (client: S3Client, delimiter?: string): Promise<string[]> => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await client.send(
          new ListObjectsV2Command({
            Bucket: B,
            Prefix: 'ryw/',
            Delimiter: delimiter,
            MaxKeys: 5,
            ContinuationToken: token,
          }),
        );
        for (const o of r.Contents ?? []) out.push(`${o.Key} ${o.Size} ${o.ETag}`);
        for (const p of r.CommonPrefixes ?? []) out.push(`prefix ${p.Prefix}`);
        token = r.NextContinuationToken;
      } while (token);
      return out;
    };
    const flat = await Promise.all(s3.map((client) => listing(client)));
    expect(flat[0]!.map((l) => l.split(' ')[0])).toEqual([...bodies.keys()].sort());
    expect(flat[1]).toEqual(flat[0]);
    expect(flat[2]).toEqual(flat[0]);
    // The continuation token of one gateway is good on another.
    const page = await s3[0]!.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'ryw/', MaxKeys: 7 }));
    const rest = await s3[1]!.send(
      new ListObjectsV2Command({ Bucket: B, Prefix: 'ryw/', ContinuationToken: page.NextContinuationToken }),
    );
    expect([...page.Contents!, ...rest.Contents!].map((o) => o.Key)).toEqual([...bodies.keys()].sort());
    const grouped = await Promise.all(s3.map((client) => listing(client, '/')));
    expect(grouped[0]).toEqual(['prefix ryw/0/', 'prefix ryw/1/', 'prefix ryw/2/', 'prefix ryw/3/']);
    expect(grouped[1]).toEqual(grouped[0]);
    expect(grouped[2]).toEqual(grouped[0]);
  }, 60_000);

  it('a multipart upload created on one gateway, parts sent to the others, completed on a third', async () => {
    const parts = [crypto.randomBytes(5 * MiB), crypto.randomBytes(5 * MiB), crypto.randomBytes(300_000)];
    const { UploadId } = await s3[0]!.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mpu' }));
    const etags = await Promise.all(
      parts.map(async (Body, n) => {
        const r = await s3[1 + (n % 2)]!.send(
          new UploadPartCommand({ Bucket: B, Key: 'mpu', UploadId, PartNumber: n + 1, Body }),
        );
        return r.ETag!;
      }),
    );
    const listed = await s3[0]!.send(new ListPartsCommand({ Bucket: B, Key: 'mpu', UploadId }));
    expect(listed.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual(
      parts.map((p, n) => [n + 1, etags[n], p.length]),
    );
    const done = await s3[2]!.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mpu',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, n) => ({ ETag, PartNumber: n + 1 })) },
      }),
    );
    expect(done.ETag).toMatch(/-3"$/);
    const whole = Buffer.concat(parts);
    for (const client of s3) expect((await get(client, 'mpu')).equals(whole)).toBe(true);
  }, 60_000);

  it('16 concurrent If-None-Match: * PUTs of one key over 3 gateways: exactly one wins, its bytes stay', async () => {
    const bodies = Array.from({ length: 16 }, (_, n) =>
      Buffer.concat([Buffer.from(`writer ${n}\n`), crypto.randomBytes(100_000)]),
    );
    // One attempt each, on fresh connections: a retried winner would see its own 412.
    const once = [0, 1, 2].map((i) => c.client(i));
    const results = await Promise.allSettled(
      bodies.map((Body, n) =>
        once[n % 3]!.send(new PutObjectCommand({ Bucket: B, Key: 'race', Body, IfNoneMatch: '*' })),
      ),
    );
    const won = results.flatMap((r, n) => (r.status === 'fulfilled' ? [n] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      const e = r.reason as S3ServiceException;
      if (!(e instanceof S3ServiceException)) throw e;
      expect([
        [412, 'PreconditionFailed'],
        [409, 'ConditionalRequestConflict'],
      ]).toContainEqual([e.$metadata.httpStatusCode, e.name]);
    }
    for (const client of s3) expect((await get(client, 'race')).equals(bodies[won[0]!]!)).toBe(true);
  }, 60_000);

  it('a gateway killed -9 mid-PUT: no partial object, the retry through another gateway succeeds', async () => {
    const data = crypto.randomBytes(10 * MiB);
    const put = s3[1]!.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'killed-put',
        Body: streamed(data, 4 * MiB, () => c.kill(1)),
        ContentLength: data.length,
      }),
    );
    await expect(put).rejects.toThrow();
    // Nothing half-written is visible, on any surviving gateway.
    expect(await status(s3[0]!.send(new HeadObjectCommand({ Bucket: B, Key: 'killed-put' })))).toMatchObject({
      status: 404,
    });
    const listed = await s3[2]!.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'killed-put' }));
    expect(listed.KeyCount).toBe(0);
    // The client's retry, through another gateway.
    await s3[2]!.send(new PutObjectCommand({ Bucket: B, Key: 'killed-put', Body: data }));
    expect((await get(s3[0]!, 'killed-put')).equals(data)).toBe(true);
  }, 90_000);

  it("the killed gateway starting again leaves another gateway's write in flight alone", async () => {
    // Gateway 0 streams a PUT slowly; gateway 1 (killed above) starts meanwhile, and its start
    // recovers the writes of crashed gateways: not those of gateway 0, which is alive. The
    // upload goes on 7 s more, past a pass of the delete queue (every 5 s).
    const data = crypto.randomBytes(12 * MiB);
    const restart = async (): Promise<void> => {
      await c.start(1);
      s3[1] = c.client(1, 3);
    };
    await s3[0]!.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'in-flight',
        Body: streamed(data, 5 * MiB, restart, 1000),
        ContentLength: data.length,
      }),
    );
    for (const client of s3) expect((await get(client, 'in-flight')).equals(data)).toBe(true);
    // And the restarted gateway serves what was written while it was down.
    expect((await get(s3[1]!, 'killed-put')).equals(await get(s3[2]!, 'killed-put'))).toBe(true);
  }, 90_000);

  it('a gateway killed -9 mid-multipart: the part is sent again through another, the upload completes', async () => {
    const parts = [crypto.randomBytes(5 * MiB), crypto.randomBytes(8 * MiB)];
    const { UploadId } = await s3[0]!.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'killed-mpu' }));
    const first = await s3[0]!.send(
      new UploadPartCommand({ Bucket: B, Key: 'killed-mpu', UploadId, PartNumber: 1, Body: parts[0] }),
    );
    const cut = s3[1]!.send(
      new UploadPartCommand({
        Bucket: B,
        Key: 'killed-mpu',
        UploadId,
        PartNumber: 2,
        Body: streamed(parts[1]!, 4 * MiB, () => c.kill(1)),
        ContentLength: parts[1]!.length,
      }),
    );
    await expect(cut).rejects.toThrow();
    const listed = await s3[2]!.send(new ListPartsCommand({ Bucket: B, Key: 'killed-mpu', UploadId }));
    expect(listed.Parts!.map((p) => p.PartNumber)).toEqual([1]);
    const second = await s3[2]!.send(
      new UploadPartCommand({ Bucket: B, Key: 'killed-mpu', UploadId, PartNumber: 2, Body: parts[1] }),
    );
    await s3[0]!.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'killed-mpu',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.ETag },
            { PartNumber: 2, ETag: second.ETag },
          ],
        },
      }),
    );
    expect((await get(s3[2]!, 'killed-mpu')).equals(Buffer.concat(parts))).toBe(true);
  }, 90_000);

  it('a gateway with another master key is refused at start', async () => {
    const other = crypto.randomBytes(32).toString('hex');
    await expect(c.start(3, { masterKeyHex: other })).rejects.toThrow(/master key/);
    expect(c.gateways[3]).toBeUndefined();
  }, 60_000);

  it('PostgreSQL stopped and started under load: 503 during the gap, no acknowledged write lost', async () => {
    // Gateway 1 was killed above; 0 and 2 take the load, one attempt per request.
    const live = [c.client(0), c.client(2)];
    const acked = new Map<string, Buffer>();
    const failures: string[] = [];
    let stop = false;
    let n = 0;
    const writer = async (lane: number): Promise<void> => {
      while (!stop) {
        const key = `load/${lane}/${n++}`;
        const body = crypto.randomBytes(2000 + (n % 7) * 1000);
        try {
          await live[n % 2]!.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
          acked.set(key, body);
        } catch (e) {
          const err = e as S3ServiceException;
          failures.push(`${err.$metadata?.httpStatusCode ?? 'no status'} ${err.name}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const lanes = Array.from({ length: 6 }, (_, lane) => writer(lane));
    await new Promise((r) => setTimeout(r, 1500));
    const before = acked.size;
    await c.pg.stop();
    await new Promise((r) => setTimeout(r, 2500));
    const duringGap = acked.size;
    await c.pg.start();
    // Serving again: every gateway answers a PUT within a while of the restart.
    const deadline = Date.now() + 30_000;
    for (const [i, client] of live.entries()) {
      for (;;) {
        try {
          await client.send(new PutObjectCommand({ Bucket: B, Key: `after/${i}`, Body: 'back' }));
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(lanes);
    expect(before).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(duringGap);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f).toMatch(/^503 /);
    // Every acknowledged write is there, byte for byte, through any gateway.
    let k = 0;
    for (const [key, body] of acked) expect((await get(live[k++ % 2]!, key)).equals(body)).toBe(true);
  }, 90_000);
});
