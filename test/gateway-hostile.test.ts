import net from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway/server.js';
import { content } from './helpers/store-harness.js';
import {
  errorCode,
  failure,
  rawRequest,
  ROOT,
  signHeaders,
  startGateway,
  type GatewayHarness,
} from './helpers/gateway-harness.js';
import { form, signedFields } from './helpers/post-form.js';

const IDLE_MS = 1500;

/** What a raw connection saw: the bytes it received and when the server closed it. */
interface Watched {
  socket: net.Socket;
  received(): string;
  /** Resolves with the ms since `since` at which the connection closed, or null after `limitMs`. */
  closedWithin(limitMs: number): Promise<number | null>;
}

async function connect(port: number): Promise<Watched> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  let closedAt: number | null = null;
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', () => {}); // a reset is one way of being closed
  socket.on('close', () => (closedAt = Date.now()));
  const since = Date.now();
  return {
    socket,
    received: () => data,
    async closedWithin(limitMs) {
      const deadline = Date.now() + limitMs;
      while (closedAt === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      return closedAt === null ? null : closedAt - since;
    },
  };
}

function requestHead(method: string, path: string, headers: Record<string, string>): string {
  return [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let g: GatewayHarness;
let s3: S3Client;
beforeAll(async () => {
  g = await startGateway({ idleTimeoutMs: IDLE_MS });
  s3 = g.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'hostile' }));
});
afterAll(async () => {
  await g?.close();
});

describe('gateway: slow and hostile connections are closed, not held', () => {
  it('an upload that goes quiet gets 400 RequestTimeout and its connection closed; nothing is stored', async () => {
    const headers = await signHeaders(g.port, {
      method: 'PUT',
      path: '/hostile/idle',
      payload: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': '1000000' },
    });
    const c = await connect(g.port);
    c.socket.write(requestHead('PUT', '/hostile/idle', headers));
    c.socket.write('0123456789');
    const closed = await c.closedWithin(IDLE_MS * 4);
    expect(closed, 'the quiet upload is still open').not.toBeNull();
    expect(closed!).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(c.received()).toMatch(/^HTTP\/1\.1 400 [^]*<Code>RequestTimeout<\/Code>/);
    const get = await rawRequest(g.port, { method: 'GET', path: '/hostile/idle' });
    expect([get.status, errorCode(get)]).toEqual([404, 'NoSuchKey']);
  });

  it('a slow upload that keeps sending is not cut off', async () => {
    const data = content(10 * 20_000, 5);
    const headers = await signHeaders(g.port, {
      method: 'PUT',
      path: '/hostile/slow',
      payload: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': String(data.length) },
    });
    const c = await connect(g.port);
    c.socket.write(requestHead('PUT', '/hostile/slow', headers));
    // Longer in all than the idle timeout, never quiet for as long.
    for (let i = 0; i < data.length; i += 20_000) {
      c.socket.write(data.subarray(i, i + 20_000));
      await sleep(IDLE_MS / 3);
    }
    while (!c.received().includes('\r\n\r\n') && (await c.closedWithin(50)) === null);
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    c.socket.destroy();
    const get = await rawRequest(g.port, { method: 'GET', path: '/hostile/slow' });
    expect(get.body.equals(data)).toBe(true);
  });

  it('an unauthenticated upload trickling its body is closed right after its 403', async () => {
    const c = await connect(g.port);
    c.socket.write(requestHead('PUT', '/hostile/anon', { host: `127.0.0.1:${g.port}`, 'content-length': '1000000' }));
    let sent = 0;
    // 1 byte every 100 ms: never quiet long enough for the idle timeout.
    const trickle = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write('x', () => sent++);
    }, 100);
    try {
      while (!c.received().includes('</Error>') && (await c.closedWithin(50)) === null);
      expect(c.received()).toMatch(/^HTTP\/1\.1 403 [^]*connection: close[^]*<Code>AccessDenied<\/Code>/i);
      const answeredAt = Date.now();
      const closed = await c.closedWithin(IDLE_MS / 2);
      expect(closed, 'the refused upload is still open').not.toBeNull();
      expect(Date.now() - answeredAt).toBeLessThan(IDLE_MS / 2);
    } finally {
      clearInterval(trickle);
      c.socket.destroy();
    }
    expect(sent).toBeLessThan(10);
  });

  it('a GET whose client stops reading is closed once it has been stuck for the idle timeout', async () => {
    const size = 16 * 1024 * 1024;
    await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'unread', Body: content(size, 6) }));
    const headers = await signHeaders(g.port, { method: 'GET', path: '/hostile/unread', payload: 'UNSIGNED-PAYLOAD' });
    const ended = g.nextRequest((r) => r.op === 'GetObject');
    const c = await connect(g.port);
    c.socket.pause(); // reads nothing: the server's writes back up (and the client sees no close)
    c.socket.write(requestHead('GET', '/hostile/unread', headers));
    const record = await Promise.race([ended, sleep(IDLE_MS * 6).then(() => null)]);
    c.socket.destroy();
    expect(record?.code, 'the stuck GET is still open').toBe('ClientClosed');
  });

  it('an SDK client sending a large body with a wrong secret still reads its 403', async () => {
    const wrong = new S3Client({
      endpoint: g.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...ROOT, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    try {
      expect(
        await failure(
          wrong.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'wrong', Body: content(3 * 1024 * 1024, 2) })),
        ),
      ).toBe('SignatureDoesNotMatch');
    } finally {
      wrong.destroy();
    }
    const get = await rawRequest(g.port, { method: 'GET', path: '/hostile/wrong' });
    expect(get.status).toBe(404);
  });

  describe('with a connection cap', () => {
    const CAP = 3;
    let capped: Gateway;
    let port: number;
    beforeAll(async () => {
      // A second gateway over the same store, with its own cap.
      capped = createGateway({
        store: g.h.store,
        meta: g.h.meta,
        masterKey: g.h.masterKey,
        rootAccessKey: ROOT.accessKeyId,
        rootSecretKey: ROOT.secretAccessKey,
        logger: pino({ level: 'silent' }),
        maxConnections: CAP,
      });
      port = await capped.listen(0);
    });
    afterAll(async () => {
      await capped?.close();
    });

    /** One keep-alive GET on an open connection; resolves with the status line. */
    async function get(c: Watched, path: string): Promise<string> {
      const before = c.received().length;
      const headers = await signHeaders(port, { method: 'GET', path, payload: 'UNSIGNED-PAYLOAD' });
      c.socket.write(requestHead('GET', path, headers));
      while (!c.received().slice(before).includes('</Error>') && (await c.closedWithin(25)) === null);
      return c.received().slice(before).split('\r\n')[0]!;
    }

    it('refuses connections beyond the cap while the open ones keep working', async () => {
      const open = await Promise.all(Array.from({ length: CAP }, () => connect(port)));
      for (const c of open) expect(await get(c, '/hostile/absent')).toBe('HTTP/1.1 404 Not Found');
      const extra = await connect(port);
      extra.socket.write(requestHead('GET', '/hostile/absent', { host: 'x' }));
      expect(await extra.closedWithin(2000), 'a connection over the cap stays open').not.toBeNull();
      expect(extra.received()).toBe('');
      for (const c of open) expect(await get(c, '/hostile/absent')).toBe('HTTP/1.1 404 Not Found');
      open[0]!.socket.destroy();
      await open[0]!.closedWithin(1000);
      await sleep(100);
      const next = await connect(port);
      expect(await get(next, '/hostile/absent')).toBe('HTTP/1.1 404 Not Found');
      for (const c of [...open, next]) c.socket.destroy();
    });
  });
});

describe('gateway: header values that could not be sent back are refused, not stored', () => {
  const BASE = [{ bucket: 'hostile' }, ['starts-with', '$key', 'form/']];
  const file = { name: 'f', data: Buffer.from('data') };

  async function postForm(fields: Array<[string, string]>): Promise<{ status: number; code: string | undefined }> {
    const f = form(fields, file);
    const res = await rawRequest(g.port, {
      method: 'POST',
      path: '/hostile',
      headers: { 'content-type': f.type },
      body: f.body,
      creds: null,
    });
    return { status: res.status, code: errorCode(res) };
  }

  it("a POST form field with CR/LF (AWS's own starts-with '' policy) -> 400 InvalidArgument, nothing stored", async () => {
    const policy = [
      ...BASE,
      ['starts-with', '$Content-Type', ''],
      ['starts-with', '$x-amz-meta-note', ''],
      ['starts-with', '$x-amz-meta-bad name', ''],
    ];
    const attempts: Array<Array<[string, string]>> = [
      [['Content-Type', 'text/plain\r\nX-Injected: yes']],
      [['x-amz-meta-note', 'one\ntwo']],
      [['x-amz-meta-note', 'bell\u0007']],
      [['x-amz-meta-note', 'price: 5 \u20ac']], // past Latin-1: no header can carry it
      [['x-amz-meta-bad name', 'x']], // not a token
    ];
    for (const extra of attempts) {
      const res = await postForm([['key', 'form/injected'], ...extra, ...signedFields(policy)]);
      expect(res, JSON.stringify(extra)).toEqual({ status: 400, code: 'InvalidArgument' });
      const head = await rawRequest(g.port, { method: 'HEAD', path: '/hostile/form/injected' });
      expect(head.status).toBe(404);
    }
    const fine = await postForm([
      ['key', 'form/fine'],
      ['Content-Type', 'text/plain'],
      ['x-amz-meta-note', 'caf\u00e9'],
      ...signedFields(policy),
    ]);
    expect(fine.status).toBe(204);
    const get = await rawRequest(g.port, { method: 'GET', path: '/hostile/form/fine' });
    expect([get.status, get.headers['content-type'], get.headers['x-amz-meta-note']]).toEqual([
      200,
      'text/plain',
      'caf\u00e9',
    ]);
  });

  it('response-* overrides with CR/LF or control characters -> 400 InvalidArgument', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'shown', Body: 'shown' }));
    for (const query of [
      'response-content-type=text/plain%0D%0AX-Injected:%20yes',
      'response-content-disposition=a%0Ab',
      'response-cache-control=%00',
      'response-expires=%E2%82%AC',
    ]) {
      const res = await rawRequest(g.port, { method: 'GET', path: `/hostile/shown?${query}` });
      expect([res.status, errorCode(res)], query).toEqual([400, 'InvalidArgument']);
    }
    const fine = await rawRequest(g.port, { method: 'GET', path: '/hostile/shown?response-content-type=text%2Fcsv' });
    expect([fine.status, fine.headers['content-type'], fine.body.toString()]).toEqual([200, 'text/csv', 'shown']);
  });
});

describe('gateway: XML bodies with a DTD or deep nesting -> 400 MalformedXML', () => {
  it('DeleteObjects with an entity defined in a DOCTYPE deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'kept', Body: 'kept' }));
    const bodies = [
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "kept">]><Delete><Object><Key>&k;</Key></Object></Delete>',
      '<Delete><!DOCTYPE d [<!ENTITY k "kept">]><Object><Key>&k;</Key></Object></Delete>',
      '<!DOCTYPE d [<!ENTITY k SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&k;</Key></Object></Delete>',
    ];
    for (const body of bodies) {
      const res = await rawRequest(g.port, { method: 'POST', path: '/hostile?delete', body });
      expect([res.status, errorCode(res)], body).toEqual([400, 'MalformedXML']);
    }
    const cors = await rawRequest(g.port, {
      method: 'PUT',
      path: '/hostile?cors',
      body: '<!DOCTYPE c><CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>',
    });
    expect([cors.status, errorCode(cors)]).toEqual([400, 'MalformedXML']);
    const get = await rawRequest(g.port, { method: 'GET', path: '/hostile/kept' });
    expect([get.status, get.body.toString()]).toEqual([200, 'kept']);
    // A DOCTYPE inside a key's CDATA is text, not a declaration.
    const cdata = await rawRequest(g.port, {
      method: 'POST',
      path: '/hostile?delete',
      body: '<Delete><Object><Key><![CDATA[<!DOCTYPE x>]]></Key></Object></Delete>',
    });
    expect(cdata.status).toBe(200);
  });

  it('100,000 nested tags', async () => {
    const body = `<Delete>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</Delete>`;
    const res = await rawRequest(g.port, { method: 'POST', path: '/hostile?delete', body });
    expect([res.status, errorCode(res)]).toEqual([400, 'MalformedXML']);
  });
});

describe('gateway: a GET whose later chunk cannot be read', () => {
  it('is cut after its headers went out: the client sees a short body, never a complete-looking one', async () => {
    const data = content(3 * 1024 * 1024 + 5, 8); // 4 chunks of the harness's 1 MiB
    await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'holed', Body: data }));
    const manifest = await g.h.store.head('hostile', 'holed');
    // 3 of the 6 shards of chunk 2 deleted: that chunk cannot be rebuilt, the others can.
    for (const shard of manifest.chunks[2]!.shards.slice(0, 3)) await g.h.backends.client(shard.backend).del(shard.key);
    const headers = await signHeaders(g.port, { method: 'GET', path: '/hostile/holed', payload: 'UNSIGNED-PAYLOAD' });
    const c = await connect(g.port);
    c.socket.write(requestHead('GET', '/hostile/holed', headers));
    expect(await c.closedWithin(20_000), 'the broken GET is still open').not.toBeNull();
    const [head, ...rest] = c.received().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 [^]*content-length: 3145733/i);
    expect(Buffer.byteLength(rest.join('\r\n\r\n'), 'latin1')).toBeLessThan(data.length);
  });
});

// Last: it stops backends of the shared store.
describe('gateway: a GET whose first chunk cannot be read', () => {
  it('answers an S3 error (503 with an XML body), not a connection cut before any status line', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'lost', Body: content(200_000, 4) }));
    // 4+2: with 3 of 6 backends gone no chunk can be rebuilt.
    await Promise.all(g.h.zdbs.slice(0, 3).map((z) => z.stop()));
    const res = await rawRequest(g.port, { method: 'GET', path: '/hostile/lost' });
    expect([res.status, errorCode(res), res.headers['content-type']]).toEqual([
      503,
      'ServiceUnavailable',
      'application/xml',
    ]);
  });
});
