import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, signHeaders, type Creds } from './helpers/gateway-harness.js';
import { portBlock } from './helpers/port-block.js';
import {
  processesUsing,
  runQstor,
  startQstor,
  stopAll,
  stopQstor,
  type RunningQstor,
} from './helpers/qstor-process.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

/** A signed PUT whose body goes in two parts: the second only once `between` resolved. */
async function slowPut(
  port: number,
  creds: Creds,
  path: string,
  body: Buffer,
  splitAt: number,
  between: Promise<unknown>,
): Promise<number> {
  const headers = await signHeaders(port, {
    method: 'PUT',
    path,
    headers: { 'content-length': String(body.length) },
    payload: 'UNSIGNED-PAYLOAD',
    creds,
  });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.write(body.subarray(0, splitAt));
    void between.then(() => req.end(body.subarray(splitAt)));
  });
}

// Fixed ports: the store is restarted on the same ones.
const base = await portBlock();

describe('one data directory, one set of ports: one store', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-safety-'));
  const dirA = path.join(root, 'a');
  const s3Port = base + 10;
  let a: RunningQstor;
  let creds: Creds;
  const objects = new Map<string, Buffer>();

  const get = async (key: string): Promise<Buffer> => {
    const r = await rawRequest(s3Port, { method: 'GET', path: `/bucket/${key}`, creds });
    expect(r.status).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    a = await startQstor([
      'start',
      '--data',
      dirA,
      '--backend-port',
      String(base),
      '--port',
      String(s3Port),
      '--admin-port',
      '0',
    ]);
    const c = JSON.parse(fs.readFileSync(path.join(dirA, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    creds = { accessKeyId: c.accessKey, secretAccessKey: c.secretKey };
    expect((await rawRequest(s3Port, { method: 'PUT', path: '/bucket', creds })).status).toBe(200);
    const first = crypto.randomBytes(5 * MiB);
    expect((await rawRequest(s3Port, { method: 'PUT', path: '/bucket/first', body: first, creds })).status).toBe(200);
    objects.set('first', first);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    // What a start that failed badly left behind (the old code orphaned its zdbs).
    for (const pid of processesUsing(root)) process.kill(pid, 'SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("a second qstor start on the directory exits naming the first one's pid; a PUT in flight meanwhile reads back whole", async () => {
    // 9 MiB sent of 12: two 4 MiB chunks stored and in the pending-write log, not committed.
    const body = crypto.randomBytes(12 * MiB);
    let second!: (v: unknown) => void;
    const secondDone = new Promise((r) => (second = r));
    const put = slowPut(s3Port, creds, '/bucket/in-flight', body, 9 * MiB, secondDone);
    await new Promise((r) => setTimeout(r, 2000));
    const other = await runQstor([
      'start',
      '--data',
      dirA,
      '--backend-port',
      String(base + 20),
      '--port',
      String(base + 30),
      '--admin-port',
      '0',
    ]);
    second(null);
    expect(other.code).toBe(1);
    expect(other.output).toContain(`data directory ${dirA} is in use by another process (pid ${a.child.pid})`);
    expect(await put).toBe(200);
    // The first store's deleter runs every 5 s: anything queued by mistake would be gone by now.
    await new Promise((r) => setTimeout(r, 6000));
    expect((await get('in-flight')).equals(body)).toBe(true);
    objects.set('in-flight', body);
  }, 120_000);

  it('a newcomer on the ports the store answers on exits naming --backend-port, records nothing, and may then start on others', async () => {
    const dirB = path.join(root, 'b');
    const taken = await runQstor([
      'start',
      '--data',
      dirB,
      '--backend-port',
      String(base),
      '--port',
      String(base + 40),
      '--admin-port',
      '0',
    ]);
    expect(taken.code).toBe(1);
    expect(taken.output).toContain(`port ${base} is answered by a zdb that is not this store's`);
    expect(taken.output).toContain('--backend-port');
    expect(fs.existsSync(path.join(dirB, 'store.json'))).toBe(false);
    expect(processesUsing(dirB)).toEqual([]);
    for (const [key, data] of objects) expect((await get(key)).equals(data)).toBe(true);

    const b = await startQstor([
      'start',
      '--data',
      dirB,
      '--backend-port',
      String(base + 50),
      '--port',
      String(base + 60),
      '--admin-port',
      '0',
    ]);
    expect(b.output).toContain(`zdb backends on 127.0.0.1:${base + 50}-${base + 55}`);
    expect(JSON.parse(fs.readFileSync(path.join(dirB, 'store.json'), 'utf8')).backends[0].address).toBe(
      `127.0.0.1:${base + 50}`,
    );
    expect(await stopQstor(b.child)).toBe(0);
  }, 120_000);

  it('a zdb that dies at start-up fails the start, and nothing it started is left running', async () => {
    const dirC = path.join(root, 'c');
    fs.mkdirSync(path.join(dirC, 'backends', '3'), { recursive: true });
    fs.writeFileSync(path.join(dirC, 'backends', '3', 'index'), 'not a directory');
    const failed = await runQstor([
      'start',
      '--data',
      dirC,
      '--backend-port',
      String(base + 70),
      '--port',
      String(base + 80),
      '--admin-port',
      '0',
    ]);
    expect(failed.code).toBe(1);
    expect(processesUsing(dirC)).toEqual([]);
    expect(failed.output).toContain(`zdb on port ${base + 73} exited at start-up`);
    expect(fs.existsSync(path.join(dirC, 'store.json'))).toBe(false);
  }, 60_000);

  it('qstor gateway on a data directory in use exits naming its holder', async () => {
    const config = path.join(root, 'gateway.json');
    const backends = Array.from({ length: 6 }, (_, i) => ({
      id: `g${i}`,
      farm: 'f',
      node: `n${i}`,
      address: `127.0.0.1:${base + i}`,
      namespace: 'default',
    }));
    fs.writeFileSync(config, JSON.stringify({ data: dirA, port: base + 90, backends }));
    const gw = await runQstor(['gateway', '--config', config]);
    expect(gw.code).toBe(1);
    expect(gw.output).toContain(`is in use by another process (pid ${a.child.pid})`);
  }, 60_000);

  it.skipIf(!isRoot)(
    'an unprivileged local user can neither lock, delete nor write on the backends, nor learn their secret',
    async () => {
      const secretFile = path.join(dirA, 'backends.secret');
      expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
      const secret = fs.readFileSync(secretFile, 'utf8').trim();
      const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups', '--'];
      await expect(run('setpriv', [...nobody, 'cat', secretFile])).rejects.toMatchObject({
        stderr: expect.stringContaining('Permission denied'),
      });
      for (const pid of processesUsing(path.join(dirA, 'backends'))) {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        expect(cmdline).toContain('--admin-file');
        expect(cmdline).toContain('--protect');
        expect(cmdline).not.toContain(secret);
      }
      // As that user: a real shard key from SCAN, then the commands that froze or broke the store.
      const script = `
const net = require('node:net');
const s = net.connect(${base});
const cmd = (...a) => '*' + a.length + '\\r\\n' + a.map((x) => '$' + Buffer.byteLength(x) + '\\r\\n' + x + '\\r\\n').join('');
let buf = '';
s.on('data', (d) => (buf += d.toString('latin1')));
const ask = async (...a) => { buf = ''; s.write(cmd(...a)); for (let i = 0; i < 100 && buf === ''; i++) await new Promise((r) => setTimeout(r, 20)); await new Promise((r) => setTimeout(r, 50)); return buf; };
(async () => {
  const scan = await ask('SCAN');
  const key = /\\$\\d+\\r\\n([0-9a-f]{32}\\/\\d+)\\r\\n/.exec(scan)[1];
  const out = { key };
  for (const [name, args] of [['lock', ['NSSET', 'default', 'lock', '1']], ['del', ['DEL', key]], ['set', ['SET', key, 'x']], ['set-new', ['SET', 'k', 'v']], ['flush', ['FLUSH']]]) out[name] = await ask(...args);
  console.log(JSON.stringify(out));
  s.end();
})();`;
      const { stdout } = await run('setpriv', [...nobody, process.execPath, '-e', script]);
      const out = JSON.parse(stdout) as Record<string, string>;
      expect(out).toMatchObject({
        lock: '-Permission denied\r\n',
        del: '-Namespace is in read-only mode\r\n',
        set: '-Namespace is in read-only mode\r\n',
        'set-new': '-Namespace is in read-only mode\r\n',
        flush: expect.stringMatching(/^-/),
      });
      // The store still writes and reads: the namespace is not locked, the shard not deleted.
      const after = crypto.randomBytes(MiB);
      expect((await rawRequest(s3Port, { method: 'PUT', path: '/bucket/after', body: after, creds })).status).toBe(200);
      expect((await get('after')).equals(after)).toBe(true);
      for (const [key, data] of objects) expect((await get(key)).equals(data)).toBe(true);
    },
    60_000,
  );

  it('a data directory from before backend secrets gets one at its next start and keeps its data', async () => {
    expect(await stopQstor(a.child)).toBe(0);
    fs.rmSync(path.join(dirA, 'backends.secret'));
    a = await startQstor([
      'start',
      '--data',
      dirA,
      '--backend-port',
      String(base),
      '--port',
      String(s3Port),
      '--admin-port',
      '0',
    ]);
    expect(fs.statSync(path.join(dirA, 'backends.secret')).mode & 0o777).toBe(0o600);
    for (const [key, data] of objects) expect((await get(key)).equals(data)).toBe(true);
  }, 120_000);
});
