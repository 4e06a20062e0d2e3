import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rawRequest, type Creds } from './helpers/gateway-harness.js';
import { portBlock } from './helpers/port-block.js';
import { processesUsing, startQstor, stopAll, stopQstor } from './helpers/qstor-process.js';

const MiB = 1024 * 1024;
const BACKENDS = 6;

/** TCP connections in state ESTABLISHED (01) to a local port in [from, to], from /proc/net/tcp{,6}. */
function establishedTo(from: number, to: number): number {
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '01') continue;
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      if (remotePort >= from && remotePort <= to) n++;
    }
  }
  return n;
}

/** Unix sockets bound to `file` (the listener and each accepted connection), from /proc/net/unix. */
function unixSocketsAt(file: string): number {
  return fs
    .readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${file}`)).length;
}

function credsOf(dir: string): Creds {
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
    accessKey: string;
    secretKey: string;
  };
  return { accessKeyId: c.accessKey, secretAccessKey: c.secretKey };
}

/** A PUT of a body larger than the inline limit (its shards go to the zdbs), then the GET of it. */
async function roundTrip(port: number, creds: Creds): Promise<void> {
  expect((await rawRequest(port, { method: 'PUT', path: '/bucket', creds })).status).toBe(200);
  const body = crypto.randomBytes(5 * MiB);
  expect((await rawRequest(port, { method: 'PUT', path: '/bucket/o', body, creds })).status).toBe(200);
  const got = await rawRequest(port, { method: 'GET', path: '/bucket/o', creds });
  expect(got.status).toBe(200);
  expect(got.body.equals(body)).toBe(true);
}

describe.runIf(process.platform === 'linux')('qstor start: the gateway reaches its own zdbs over unix sockets', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-sock-'));

  afterAll(async () => {
    await stopAll();
    for (const pid of processesUsing(root)) process.kill(pid, 'SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('store.json names each socket, the data goes through them, no TCP connection to a zdb stays open, and the banner keeps the TCP ports', async () => {
    const base = await portBlock();
    const dir = path.join(root, 'store');
    const up = await startQstor(['start', '--data', dir, '--backend-port', String(base), '--port', String(base + 10)]);
    expect(up.output).toContain(`zdb backends on 127.0.0.1:${base}-${base + BACKENDS - 1}`);
    const backends = (
      JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8')) as {
        backends: Array<{ address: string; socket?: string }>;
      }
    ).backends;
    expect(backends.map((b) => b.socket)).toEqual(
      Array.from({ length: BACKENDS }, (_, i) => path.join(dir, 'backends', String(i), 'zdb.sock')),
    );
    expect(backends.map((b) => b.address)).toEqual(Array.from({ length: BACKENDS }, (_, i) => `127.0.0.1:${base + i}`));
    await roundTrip(base + 10, credsOf(dir));
    // The listener and at least one connection of the gateway's pool on each socket.
    for (const b of backends) expect(unixSocketsAt(b.socket!)).toBeGreaterThanOrEqual(2);
    // Start-up probes went over TCP and are closed; the gateway holds none.
    expect(establishedTo(base, base + BACKENDS - 1)).toBe(0);
    await stopQstor(up.child);
  }, 180_000);

  it('a data directory too deep for a unix socket path (107 bytes) keeps TCP', async () => {
    const base = await portBlock();
    const dir = path.join(root, 'd'.repeat(100));
    const up = await startQstor(['start', '--data', dir, '--backend-port', String(base), '--port', String(base + 10)]);
    const backends = (
      JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8')) as {
        backends: Array<{ socket?: string }>;
      }
    ).backends;
    expect(backends.every((b) => b.socket === undefined)).toBe(true);
    await roundTrip(base + 10, credsOf(dir));
    expect(establishedTo(base, base + BACKENDS - 1)).toBeGreaterThanOrEqual(BACKENDS);
    await stopQstor(up.child);
  }, 180_000);
});
