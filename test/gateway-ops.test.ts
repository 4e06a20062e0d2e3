// What an operator sees of a running gateway: the access log (one info line per S3 request,
// refused ones included, never a secret) and /metrics (requests, bytes, degraded writes, queue
// depths), over a real gateway, six zdb processes and real S3 clients.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketLoggingCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { content } from './helpers/content.js';
import { startConsole, type ConsoleHarness } from './helpers/console-harness.js';
import { ROOT } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;
let c: ConsoleHarness;
let s3: S3Client;

beforeAll(async () => {
  c = await startConsole();
  s3 = c.g.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'ops' }));
}, 60_000);

afterAll(async () => {
  await c?.close();
});

interface AccessLine {
  level: number;
  time: number;
  msg: string;
  requestId: string;
  remote: string | null;
  accessKeyId: string | null;
  method: string;
  bucket: string | null;
  key: string | null;
  op: string | null;
  status: number;
  code: string | null;
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

/** The access-log line of the request with this id, once it is written. */
async function accessLine(requestId: string): Promise<AccessLine> {
  for (let i = 0; i < 50; i++) {
    const line = c.logs
      .map((l) => JSON.parse(l) as AccessLine)
      .find((l) => l.msg === 'request' && l.requestId === requestId);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no access-log line for ${requestId}`);
}

async function fetchRequestId(url: string): Promise<{ status: number; requestId: string; body: Buffer }> {
  const res = await fetch(url);
  return {
    status: res.status,
    requestId: res.headers.get('x-amz-request-id')!,
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** One sample of /metrics: `name{labels}` as written, e.g. `qstor_s3_sent_bytes_total{op="GetObject"}`. */
async function metric(sample: string): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (!line) throw new Error(`no sample ${sample} in /metrics`);
  return Number(line.slice(sample.length + 1));
}

describe('access log', () => {
  it('writes one info line per request with who, what, status, bytes and time', async () => {
    const body = content(300_000, 1);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'dir/a b.bin', Body: body }));
    const putLine = await accessLine(put.$metadata.requestId!);
    expect(putLine).toMatchObject({
      level: 30, // info: on by default
      remote: '127.0.0.1',
      accessKeyId: ROOT.accessKeyId,
      method: 'PUT',
      bucket: 'ops',
      key: 'dir/a b.bin',
      op: 'PutObject',
      status: 200,
      code: null,
      bytesOut: 0,
    });
    // The body as it came (aws-chunked framing and trailer included, when the SDK uses them).
    expect(putLine.bytesIn).toBeGreaterThanOrEqual(300_000);
    expect(putLine.bytesIn).toBeLessThan(301_000);
    expect(putLine.ms).toBeGreaterThan(0);
    expect(Math.abs(putLine.time - Date.now())).toBeLessThan(60_000);

    const get = await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'dir/a b.bin' }));
    expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(await accessLine(get.$metadata.requestId!)).toMatchObject({
      op: 'GetObject',
      status: 200,
      bytesIn: 0,
      bytesOut: 300_000,
    });
  }, 60_000);

  it('logs refused requests at info (401/403/404/501) without a stack trace', async () => {
    const wrong = new S3Client({
      endpoint: c.g.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ROOT.accessKeyId, secretAccessKey: 'not-the-secret-0123456789' },
      maxAttempts: 1,
    });
    const refused = await wrong.send(new GetObjectCommand({ Bucket: 'ops', Key: 'dir/a b.bin' })).catch((e) => e);
    wrong.destroy();
    expect(refused).toBeInstanceOf(S3ServiceException);
    expect(await accessLine((refused as S3ServiceException).$metadata.requestId!)).toMatchObject({
      level: 30,
      status: 403,
      code: 'SignatureDoesNotMatch',
      accessKeyId: null, // not authenticated: nobody's
      op: 'GetObject',
    });

    const anonymous = await fetchRequestId(`${c.g.endpoint}/ops/dir/a%20b.bin`);
    expect(anonymous.status).toBe(403);
    expect(await accessLine(anonymous.requestId)).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      accessKeyId: null,
    });

    const missing = await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'nope' })).catch((e) => e);
    expect(await accessLine((missing as S3ServiceException).$metadata.requestId!)).toMatchObject({
      status: 404,
      code: 'NoSuchKey',
    });

    const before = c.logs.length;
    // A subresource refused by design: 501 NotImplemented in the access log, no error record.
    const logging = await s3.send(new GetBucketLoggingCommand({ Bucket: 'ops' })).catch((e) => e);
    expect(await accessLine((logging as S3ServiceException).$metadata.requestId!)).toMatchObject({
      status: 501,
      code: 'NotImplemented',
    });
    const errors = c.logs.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(errors.filter((l) => l.level >= 50)).toEqual([]);
  }, 60_000);

  it('never writes a secret, a signature or a query string', async () => {
    const signed = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'ops', Key: 'dir/a b.bin' }), {
      expiresIn: 600,
    });
    const got = await fetchRequestId(signed);
    expect(got.status).toBe(200);
    const line = await accessLine(got.requestId);
    expect(line).toMatchObject({ accessKeyId: ROOT.accessKeyId, op: 'GetObject', bytesOut: 300_000 });
    const signature = new URL(signed).searchParams.get('X-Amz-Signature')!;
    const all = c.logs.join('\n');
    expect(all).not.toContain(signature);
    expect(all).not.toContain(ROOT.secretAccessKey);
    expect(all).not.toContain('not-the-secret');
    expect(all).not.toContain('X-Amz-Credential');
    expect(all).not.toContain('AWS4-HMAC-SHA256');
  }, 60_000);
});

describe('/metrics', () => {
  it('counts requests and body bytes by operation', async () => {
    const puts = await metric('qstor_s3_requests_total{op="PutObject",status="200"}');
    const sentBefore = await metric('qstor_s3_sent_bytes_total{op="GetObject"}');
    const receivedBefore = await metric('qstor_s3_received_bytes_total{op="PutObject"}');
    await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'm', Body: content(100_000, 2) }));
    const get = await s3.send(new GetObjectCommand({ Bucket: 'ops', Key: 'm' }));
    await get.Body!.transformToByteArray();
    await new Promise((r) => setTimeout(r, 100)); // the GET's record is made once its stream ended
    expect(await metric('qstor_s3_requests_total{op="PutObject",status="200"}')).toBe(puts + 1);
    expect(await metric('qstor_s3_sent_bytes_total{op="GetObject"}')).toBe(sentBefore + 100_000);
    const received = (await metric('qstor_s3_received_bytes_total{op="PutObject"}')) - receivedBefore;
    expect(received).toBeGreaterThanOrEqual(100_000);
    expect(received).toBeLessThan(101_000);
  }, 60_000);

  it('counts degraded writes, their bytes, the repair and delete queues', async () => {
    expect(await metric('qstor_degraded_chunks_total')).toBe(0);
    expect(await metric('qstor_degraded_bytes_total')).toBe(0);
    expect(await metric('qstor_repair_queue_chunks')).toBe(0);
    await s3.send(new DeleteObjectCommand({ Bucket: 'ops', Key: 'm' }));
    // Nothing runs the deleter here: the object's shards stay queued.
    expect(await metric('qstor_delete_queue_shards')).toBeGreaterThan(0);

    c.g.h.zdbs[5]!.kill('SIGKILL');
    for (let i = 0; i < 50 && c.g.h.backends.get('b5')!.state !== 'down'; i++) {
      await c.g.h.backends.refresh();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await metric('qstor_backend_up{backend="b5",farm="farm2",node="node5"}')).toBe(0);
    // 1 MiB chunks in this harness: three chunks, each written with 5 of 6 shards.
    await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'degraded', Body: content(2.5 * MiB, 3) }));
    expect(await metric('qstor_degraded_chunks_total')).toBe(3);
    expect(await metric('qstor_degraded_bytes_total')).toBe(2.5 * MiB);
    expect(await metric('qstor_repair_queue_chunks')).toBe(3);
    expect(await metric('qstor_writes_refused_total')).toBe(0);
  }, 120_000);
});
