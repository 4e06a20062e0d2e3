import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../gateway/admin-server.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { until } from './helpers/agent-harness.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const QSTOR = path.resolve('bin/qstor.js');
const ZDB = path.resolve('bin/zdb.js');
const run = promisify(execFile);

function startGateway(
  config: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number; admin: number }> {
  const child = spawn(process.execPath, [QSTOR, 'gateway', '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const s3 = /S3 on port (\d+)/.exec(out);
      const admin = /\/health at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (s3 && admin) resolve({ child, port: Number(s3[1]), admin: Number(admin[1]) });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
}

describe('a gateway on the metadata database: its id, heartbeat, leases and /health', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-presence-'));
  let zdbs: ZdbProcess[] = [];
  afterAll(async () => {
    await Promise.all(zdbs.map((z) => z.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('recovers a crashed predecessor, heartbeats, holds leases, lists them in admin status, and leaves cleanly', async () => {
    zdbs = await Promise.all(Array.from({ length: 5 }, () => startZdb({ bin: ZDB, args: ['--sync'] })));
    const data = path.join(dir, 'state');
    const config = path.join(dir, 'gateway.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        data,
        port: 0,
        adminPort: 0,
        dataShards: 3,
        parityShards: 2,
        backends: zdbs.map((z, i) => ({
          id: `z${i}`,
          farm: `farm${i}`,
          node: `node${i}`,
          address: `127.0.0.1:${z.port}`,
          namespace: 'default',
        })),
      }),
    );
    // A gateway killed a moment ago: its heartbeat is still fresh and a write of it pending.
    // Nothing else can run on this data directory (its lock), so the next start recovers it.
    fs.mkdirSync(data, { mode: 0o700 });
    const before = new SqliteMetaStore(path.join(data, 'meta.db'));
    await before.heartbeatGateway({ id: 'gw-crashed', address: '127.0.0.1:1', version: '0.0.1', startedAt: 1 });
    await before.beginWrite('w-crashed', [
      { backend: 'z0', key: 'orphan/0' },
      { backend: 'z1', key: 'orphan/1' },
    ]);
    await before.durable();
    await before.close();

    const env = {
      ...process.env,
      QSTOR_GATEWAY_ID: 'gw-test-1',
      QSTOR_ROOT_ACCESS_KEY: 'ROOTKEYFORTESTS00003',
      QSTOR_ROOT_SECRET_KEY: 'root-secret-for-tests-0123456789abcdefghil',
    };
    const { child, port, admin } = await startGateway(config, env);
    try {
      const log = fs.readFileSync(path.join(data, 'gateway.log'), 'utf8');
      expect(log).toMatch(/"orphans":2,.*"msg":"shards of interrupted writes queued for deletion"/);

      const health = await fetch(`http://127.0.0.1:${admin}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', database: { reachable: true }, backendsUp: 5 });

      // The repair queue's lease is taken at the first round (5 s after start).
      const status = await until(
        'admin status to show the repair queue lease',
        async () => {
          const out = (await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config])).stdout;
          return /^complete\s+gw-test-1\s+in \d+s$/m.test(out) ? out : undefined;
        },
        60_000,
      );
      expect(status).toMatch(/^GATEWAY\s+ADDRESS\s+VERSION\s+LAST SEEN\s+STARTED$/m);
      expect(status).toMatch(
        new RegExp(`^gw-test-1\\s+127\\.0\\.0\\.1:${port}\\s+0\\.1\\.0\\s+\\d+s ago\\s+20\\d\\d-`, 'm'),
      );
      expect(status).toMatch(/^LEASE\s+HOLDER\s+EXPIRES$/m);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    // A clean shutdown takes the gateway off the list and gives its leases up.
    const after = (await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config])).stdout;
    expect(after).toContain('no gateway alive on this metadata database');
    expect(after).toContain('no lease held');
  }, 120_000);

  it('answers /health 503, naming the failure, when the metadata database does not answer', async () => {
    const meta = new SqliteMetaStore(path.join(dir, 'unreachable.db'));
    await meta.close(); // every query fails from now on, as on a database gone
    const server = new AdminServer(new BackendPool([]), meta, 0);
    const adminPort = await server.listen(0, '127.0.0.1');
    try {
      const health = await fetch(`http://127.0.0.1:${adminPort}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'unavailable',
        database: { reachable: false, error: expect.stringMatching(/^metadata database unreachable: .*not open/) },
      });
    } finally {
      await server.close();
    }
  });
});
