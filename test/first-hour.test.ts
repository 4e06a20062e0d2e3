// The first hour of a new user, as real processes: a --data that cannot be made fails at once
// (it hung), --log-level reaches the gateway's log, and the registry's default namespace size
// (more than a small disk holds) no longer makes every reservation fail.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistryServer, identityFromSeed, RegistryClient, Signer } from '../src/agent/index.js';
import { Discovery } from '../src/cluster/discovery.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { startAgent, until } from './helpers/agent-harness.js';
import { QSTOR, startQstor, stopAll, stopQstor } from './helpers/qstor-process.js';
import { freePort } from './helpers/zdb-process.js';
import { portBlock } from './helpers/port-block.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-first-hour-'));

afterAll(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('qstor start', () => {
  it('refuses a --data where no directory can be made, in one line, at once (it hung in mkdir)', async () => {
    const started = Date.now();
    const refused = await run(process.execPath, [QSTOR, 'start', '--data', '/proc/nope', '--admin-port', '0'], {
      timeout: 30_000,
    }).then(
      () => null,
      (e: { code: number; killed: boolean; stderr: string }) => e,
    );
    expect(refused?.killed).toBe(false);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toBe(
      'qstor: --data /proc/nope: no directory can be made there; name a directory this user may create and write\n',
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it('passes --log-level to the gateway: info writes an access line per request, warn none', async () => {
    const port = await portBlock();
    const data = path.join(dir, 'store');
    const requestLines = (): string[] =>
      fs
        .readFileSync(path.join(data, 'gateway.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'));
    const putOnce = async (key: string): Promise<void> => {
      const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(data, 'credentials.json'), 'utf8')) as {
        accessKey: string;
        secretKey: string;
      };
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${port + 10}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      });
      if (key === 'at-info') await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
      await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: key, Body: 'x' }));
      s3.destroy();
    };
    const args = ['start', '--data', data, '--backend-port', String(port), '--port', String(port + 10)];

    let q = await startQstor(args); // default: info
    await putOnce('at-info');
    await until('the access line of the PUT', () => requestLines().some((l) => l.includes('"key":"at-info"')), 10_000);
    await stopQstor(q.child);
    const before = requestLines().length;

    q = await startQstor([...args, '--log-level', 'warn']);
    await putOnce('at-warn');
    await new Promise((r) => setTimeout(r, 1500)); // the log is written asynchronously
    await stopQstor(q.child);
    expect(requestLines().length).toBe(before);

    const bad = await run(process.execPath, [QSTOR, ...args, '--log-level', 'loud']).catch(
      (e: { stderr: string }) => e,
    );
    expect((bad as { stderr: string }).stderr).toContain("option '--log-level <level>' argument 'loud' is invalid");
  }, 240_000);
});

describe('registry reservations', () => {
  it('clamp the namespace size to what the disk holds, and keep each failure to show', async () => {
    const registry = await createRegistryServer({
      dbPath: path.join(dir, 'registry.db'),
      adminToken: crypto.randomBytes(24).toString('hex'),
      downAfterMs: 60_000, // a stopped agent stays "up" here: its reservation fails instead
    });
    const url = `http://127.0.0.1:${await registry.listen(0, '127.0.0.1')}`;
    const farm = await registry.registry.createFarm('f');
    const signer = new Signer(identityFromSeed(crypto.randomBytes(32)));
    await registry.registry.admitStore(farm.farmId, { store: signer.id, rights: ['storage'] });
    const agents = await Promise.all(
      ['node0', 'node1'].map((n) =>
        startAgent(path.join(dir, n), { registry: url, farmToken: farm.farmerToken, disks: 1 }),
      ),
    );
    const meta = new SqliteMetaStore(path.join(dir, 'store.db'));
    const pool = new BackendPool([], { requestTimeoutMs: 2000, downAfterFailures: 1 });
    try {
      await until(
        'both zdbs up with their free space',
        async () =>
          (await registry.registry.listBackends()).filter((b) => b.state === 'up' && b.freeBytes > 0).length === 2,
        30_000,
      );
      await agents[1]!.stop();
      const log: string[] = [];
      const discovery = new Discovery({
        registry: registry.registry,
        pool,
        meta,
        masterKey: crypto.randomBytes(32),
        signer,
        namespaceBytes: 2 ** 50, // 1 PiB: more than any disk here
        log: (m) => log.push(m),
      });
      expect(await discovery.sync()).toMatchObject({ reserved: 1, failed: 1 });
      const free = (await registry.registry.listBackends()).find((b) => b.nodeId === agents[0]!.nodeId)!.freeBytes;
      const size = Number(/reserved namespace .*, (\d+) bytes$/.exec(log.find((l) => l.startsWith('reserved'))!)![1]);
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThanOrEqual(free);
      expect(discovery.failures()).toEqual([
        expect.objectContaining({ node: agents[1]!.nodeId, farm: String(farm.farmId), reason: expect.any(String) }),
      ]);
    } finally {
      await agents[0]!.stop();
      await pool.close();
      await meta.close();
      await registry.close();
    }
  }, 120_000);
});

describe('failed reservations, through the CLI', () => {
  it("are told on the gateway's stdout, one line each, and listed by qstor admin status (text and --json)", async () => {
    const gw = path.join(dir, 'gw-registry');
    const config = path.join(dir, 'gw-registry.json');
    const registryPort = await freePort();
    const url = `http://127.0.0.1:${registryPort}`;
    // A node that stopped stays "up" for ten minutes: its reservation fails instead.
    fs.writeFileSync(
      config,
      JSON.stringify({ data: gw, port: await freePort(), registry: { port: registryPort, downAfterSeconds: 600 } }),
    );
    const q = await startQstor(['gateway', '--config', config]);
    let stdout = q.output;
    q.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const agents: Array<{ stop(): Promise<void> }> = [];
    try {
      const token = path.join(gw, 'registry-admin.token');
      const farm = await run(process.execPath, [
        QSTOR,
        'admin',
        'farm',
        'create',
        '--name',
        'f',
        '--registry',
        url,
        '--admin-token-file',
        token,
      ]);
      const farmToken = /farmer token: (\S+)/.exec(farm.stdout)![1]!;
      const agent = await startAgent(path.join(dir, 'rnode'), { registry: url, farmToken, disks: 1 });
      agents.push(agent);
      const registry = new RegistryClient(url);
      const adminToken = fs.readFileSync(token, 'utf8').trim();
      await until(
        "the node's zdb up in the registry",
        async () =>
          (await registry.listNodes(adminToken)).nodes.some(
            (n) => n.id === agent.nodeId && n.capacity.disks.some((d) => d.zdb.state === 'up' && d.freeBytes > 0),
          ),
        30_000,
      );
      await agent.stop();
      const storeKey = fs
        .readFileSync(path.join(gw, 'gateway.log'), 'utf8')
        .split('\n')
        .map((l) => (l.includes('store identity') ? (JSON.parse(l) as { store: string }).store : null))
        .find(Boolean)!;
      await run(process.execPath, [
        QSTOR,
        'admin',
        'farm',
        'admit',
        '--store',
        storeKey,
        '--rights',
        'storage',
        '--registry',
        url,
        '--farm-token',
        farmToken,
      ]);
      const told = await until(
        'the failure told on stdout',
        () => /^qstor: namespace reservation failed on node .*$/m.exec(stdout)?.[0],
        30_000,
      );
      expect(told).toContain(`on node ${agent.nodeId} (zdb ${agent.nodeId.slice(0, 16)}/`);
      // The agent is gone: the fix is to bring it back, not to free space.
      expect(told).toMatch(
        /\. Fix: check that the node's agent runs and that this gateway reaches its address \(tried again every 2 s\)$/,
      );
      // Told once, not at every retry (every 2 s).
      await new Promise((r) => setTimeout(r, 5000));
      expect(stdout.match(/namespace reservation failed/g)).toHaveLength(1);

      const text = await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config], { timeout: 60_000 });
      expect(text.stdout).toContain('1 namespace reservation(s) failed');
      expect(text.stdout).toContain(`  ${told.slice('qstor: '.length)}`);
      const json = await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config, '--json'], {
        timeout: 60_000,
      });
      const status = JSON.parse(json.stdout) as {
        reservationFailures: { failures: Array<{ node: string; farm: string; reason: string }> };
      };
      expect(status.reservationFailures.failures).toEqual([
        expect.objectContaining({ node: agent.nodeId, reason: expect.stringMatching(/.+/) }),
      ]);
    } finally {
      await stopQstor(q.child);
      for (const a of agents) await a.stop();
    }
  }, 240_000);
});
