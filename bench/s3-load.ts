/**
 * The S3 client side the S3 benchmarks share (s3.ts, gateways.ts): the seeded body generator,
 * the SDK client, concurrent lanes of operations, and reading a body to its end.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createCipheriv, createHash } from 'node:crypto';
import http from 'node:http';
import { textLike } from './common.js';

const PIECE = 1 << 20;

const TEMPLATES = Array.from({ length: 8 }, (_, i) => textLike(PIECE, 1000 + i));

/** `size` bytes in 1 MiB pieces: even pieces AES-256-CTR keystream of a seeded key, odd pieces text. */
export async function* pieces(size: number, seed: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(`qstor bench ${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(PIECE);
  for (let offset = 0, i = 0; offset < size; offset += PIECE, i++) {
    const n = Math.min(PIECE, size - offset);
    yield i % 2 === 0
      ? cipher.update(zeros.subarray(0, n))
      : Buffer.from(TEMPLATES[(i >> 1) % TEMPLATES.length]!.subarray(0, n));
  }
}

/** The SHA-256 of `pieces(size, seed)`, computed untimed before a run. */
export async function expectedSha256(size: number, seed: number): Promise<string> {
  const h = createHash('sha256');
  for await (const p of pieces(size, seed)) h.update(p);
  return h.digest('hex');
}

/** A path-style SDK client, plain SigV4, no retries, keep-alive sockets. */
export function client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // Plain SigV4 for both servers (Ceph 16 predates the SDK's default CRC32 trailers).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }), requestTimeout: 600_000 },
  });
}

/** `parallel` lanes taking operation numbers until `max` are taken or `seconds` have passed. */
export async function lanes(
  parallel: number,
  max: number,
  seconds: number,
  op: (i: number) => Promise<void>,
): Promise<{ count: number; errors: number; lat: number[]; firstError?: string }> {
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lat: number[] = [];
  const lane = async (): Promise<void> => {
    while (next < max && performance.now() < deadline) {
      const i = next++;
      const t = performance.now();
      try {
        await op(i);
        lat.push(performance.now() - t);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message || (e as Error).name;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { count: lat.length, errors, lat, firstError };
}

/** Reads a body to its end (hashing it when asked); resolves to its length. */
export async function drain(body: unknown, hash?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  for await (const c of body as AsyncIterable<Uint8Array>) {
    n += c.length;
    hash?.update(c);
  }
  return n;
}

/** The SDK's notice that it will want Node 22 in 2027 is not about a benchmark run: other warnings still show. */
export function quietSdkNodeNotice(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'NodeVersionSupportWarning') console.warn(`${w.name}: ${w.message}`);
  });
}
