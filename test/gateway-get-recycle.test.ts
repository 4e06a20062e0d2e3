// A GET hands each whole chunk it sent back to the store once the socket took it, and the next
// compressed chunk read (by any request) is decompressed into that memory. These tests make that
// reuse as likely as possible (small chunks, compressible data, many requests at once, slow and
// vanishing readers) and check every byte every client receives.
import crypto from 'node:crypto';
import http from 'node:http';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { content } from './helpers/store-harness.js';
import { gatewayForSuite, signHeaders, type GatewayHarness } from './helpers/gateway-harness.js';

const CHUNK = 256 * 1024;
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/**
 * Mostly text (compressed chunks), with a random head (content() is half each): 12 MiB, more
 * than loopback's socket buffers hold, so a paused reader leaves chunks queued in the gateway.
 */
function body(seed: number): Buffer {
  const text = Buffer.from(`object ${seed}: the quick brown fox jumps over the lazy dog\n`.repeat(240_000));
  return Buffer.concat([content(3 * CHUNK, seed), text.subarray(0, 45 * CHUNK + seed)]);
}

describe('gateway GET: chunk buffers reused once the socket took them', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['recycle'], chunkSize: CHUNK }, (t) => ({ g, s3 } = t));

  async function get(key: string): Promise<Buffer> {
    const res = await s3.send(new GetObjectCommand({ Bucket: 'recycle', Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /** A GET through a raw socket whose reader stops for `pauseMs` after the first bytes, or hangs up. */
  async function rawGet(key: string, o: { pauseMs?: number; hangUp?: boolean }): Promise<Buffer | null> {
    const path = `/recycle/${key}`;
    const headers = await signHeaders(g.port, { method: 'GET', path, payload: 'UNSIGNED-PAYLOAD' });
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: g.port, path, headers }, (res) => {
        const parts: Buffer[] = [];
        res.once('data', () => {
          if (o.hangUp) {
            req.destroy();
            resolve(null);
            return;
          }
          res.pause();
          setTimeout(() => res.resume(), o.pauseMs ?? 0);
        });
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      });
      req.on('error', (e) => (o.hangUp ? resolve(null) : reject(e)));
    });
  }

  it('many GETs and PUTs at once, slow and vanishing readers among them: every byte right', async () => {
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) {
      const data = body(i);
      objects.set(`o${i}`, data);
      await s3.send(new PutObjectCommand({ Bucket: 'recycle', Key: `o${i}`, Body: data }));
    }
    const work: Array<Promise<void>> = [];
    for (let round = 0; round < 2; round++) {
      for (const [key, data] of objects) {
        work.push(get(key).then((got) => expect(sha(got)).toBe(sha(data))));
        work.push(
          rawGet(key, { pauseMs: 1500 }).then((got) => {
            expect(got!.length).toBe(data.length);
            expect(sha(got!)).toBe(sha(data));
          }),
        );
        work.push(rawGet(key, { hangUp: true }).then(() => undefined));
      }
      const fresh = body(100 + round);
      work.push(
        s3
          .send(new PutObjectCommand({ Bucket: 'recycle', Key: `new${round}`, Body: fresh }))
          .then(() => get(`new${round}`))
          .then((got) => expect(sha(got)).toBe(sha(fresh))),
      );
    }
    await Promise.all(work);
    // After all that, every object still reads back whole.
    for (const [key, data] of objects) expect(sha(await get(key))).toBe(sha(data));
  }, 120_000);
});
