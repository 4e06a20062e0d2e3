import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { identityFromSeed, RegistryClient } from '../src/agent/index.js';
import { startAgent, until, type AgentProcess } from './helpers/agent-harness.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const QSTOR = path.resolve('bin/qstor.js');
const ZDB = path.resolve('bin/zdb.js');
const run = promisify(execFile);

function startGateway(
  config: string,
  env: NodeJS.ProcessEnv,
  wanted = /\/health at http:\/\/127\.0\.0\.1:(\d+)\//,
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
      const other = wanted.exec(out);
      if (s3 && other) resolve({ child, port: Number(s3[1]), admin: Number(other[1]) });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
}

describe('qstor gateway --config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-gw-'));
  let zdbs: ZdbProcess[] = [];
  afterAll(async () => {
    await Promise.all(zdbs.map((z) => z.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves S3 over the backends of its config file, with /metrics and /health on the admin port', async () => {
    zdbs = await Promise.all(Array.from({ length: 6 }, () => startZdb({ bin: ZDB, args: ['--sync'] })));
    const config = path.join(dir, 'gateway.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        data: path.join(dir, 'state'),
        port: 0,
        adminPort: 0,
        dataShards: 3,
        parityShards: 2,
        idleTimeoutSeconds: 20,
        maxConnections: 64,
        backends: zdbs.map((z, i) => ({
          id: `z${i}`,
          farm: `farm${i % 3}`,
          node: `node${i}`,
          address: `127.0.0.1:${z.port}`,
          namespace: 'default',
        })),
      }),
    );
    const env = {
      ...process.env,
      QSTOR_ROOT_ACCESS_KEY: 'ROOTKEYFORTESTS00001',
      QSTOR_ROOT_SECRET_KEY: 'root-secret-for-tests-0123456789abcdefghij',
    };
    const { child, port, admin } = await startGateway(config, env);
    try {
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: env.QSTOR_ROOT_ACCESS_KEY, secretAccessKey: env.QSTOR_ROOT_SECRET_KEY },
      });
      await s3.send(new CreateBucketCommand({ Bucket: 'configured' }));
      const body = Buffer.alloc(3 * 1024 * 1024 + 5, 9);
      await s3.send(new PutObjectCommand({ Bucket: 'configured', Key: 'k', Body: body }));
      const got = Buffer.from(
        await (await s3.send(new GetObjectCommand({ Bucket: 'configured', Key: 'k' }))).Body!.transformToByteArray(),
      );
      expect(got.equals(body)).toBe(true);
      s3.destroy();
      const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
      expect(metrics).toMatch(/qstor_s3_requests_total\{op="PutObject",status="200"\} 1/);
      expect(metrics).toMatch(/qstor_backend_up\{backend="z0",farm="farm0",node="node0"\} 1/);
      const health = await fetch(`http://127.0.0.1:${admin}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { backendsUp: number }).backendsUp).toBe(6);
      expect(fs.statSync(path.join(dir, 'state', 'master.key')).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('serves the registry and stores on the zdbs of the nodes that register with it (no backend in the file)', async () => {
    const config = path.join(dir, 'cluster.json');
    const data = path.join(dir, 'cluster-state');
    fs.writeFileSync(
      config,
      JSON.stringify({
        data,
        port: 0,
        dataShards: 4,
        parityShards: 2,
        registry: { port: 0, downAfterSeconds: 2, namespaceBytes: 1 << 30 },
      }),
    );
    const env = {
      ...process.env,
      QSTOR_ROOT_ACCESS_KEY: 'ROOTKEYFORTESTS00002',
      QSTOR_ROOT_SECRET_KEY: 'root-secret-for-tests-0123456789abcdefghik',
    };
    const { child, port, admin: registryPort } = await startGateway(config, env, /registry on port (\d+)/);
    const agents: AgentProcess[] = [];
    try {
      const url = `http://127.0.0.1:${registryPort}`;
      const token = fs.readFileSync(path.join(data, 'registry-admin.token'), 'utf8').trim();
      expect(fs.statSync(path.join(data, 'registry-admin.token')).mode & 0o777).toBe(0o600);
      const registry = new RegistryClient(url);
      const farms = await Promise.all(['f1', 'f2', 'f3'].map((name) => registry.createFarm(token, name)));
      // Each farmer admits the gateway's store key (DIR/store.key) on its farm's nodes.
      const store = identityFromSeed(fs.readFileSync(path.join(data, 'store.key'))).id;
      for (const f of farms) await registry.admitStore(f.farmerToken, f.farmId, { store, rights: ['storage'] });
      for (let i = 0; i < 6; i++)
        agents.push(
          await startAgent(path.join(dir, `agent${i}`), {
            registry: url,
            farmToken: farms[i % 3]!.farmerToken,
            disks: 1,
            heartbeatSeconds: 0.3,
          }),
        );
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: env.QSTOR_ROOT_ACCESS_KEY, secretAccessKey: env.QSTOR_ROOT_SECRET_KEY },
        maxAttempts: 1,
      });
      await s3.send(new CreateBucketCommand({ Bucket: 'grid' }));
      const body = Buffer.alloc(5 * 1024 * 1024 + 7, 3);
      // The gateway reserves a namespace on each zdb as the nodes appear (every 2 s). A PUT made
      // before the sixth would be written degraded (5 of 6 shards, the write quorum), so wait.
      const reserved = (): number =>
        fs.existsSync(path.join(data, 'gateway.log'))
          ? (fs.readFileSync(path.join(data, 'gateway.log'), 'utf8').match(/reserved namespace/g) ?? []).length
          : 0;
      await until(
        'the gateway to reserve a namespace on every node',
        () => (reserved() === 6 ? true : undefined),
        30_000,
      );
      await s3.send(new PutObjectCommand({ Bucket: 'grid', Key: 'k', Body: body }));
      const got = Buffer.from(
        await (await s3.send(new GetObjectCommand({ Bucket: 'grid', Key: 'k' }))).Body!.transformToByteArray(),
      );
      expect(got.equals(body)).toBe(true);
      s3.destroy();
      expect(fs.statSync(path.join(data, 'store.key')).mode & 0o777).toBe(0o600);
      const logs = fs.readFileSync(path.join(data, 'gateway.log'), 'utf8');
      expect(logs.match(/reserved namespace/g)).toHaveLength(6);
      // The operator's view: every node's backend, then one node gone and its chunks below redundancy.
      const healthy = (await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config])).stdout;
      for (const a of agents)
        expect(healthy).toMatch(
          new RegExp(`${a.nodeId.slice(0, 16)}/disk0\\s+\\d+\\s+${a.nodeId}\\s+127\\.0\\.0\\.1:\\d+\\s+up`),
        );
      expect(healthy).toContain('objects: 1  chunks: 2  below full redundancy: 0');
      await agents[2]!.stop();
      const degraded = (await run(process.execPath, [QSTOR, 'admin', 'status', '--config', config])).stdout;
      expect(degraded).toMatch(
        new RegExp(
          `${agents[2]!.nodeId.slice(0, 16)}/disk0\\s+\\d+\\s+${agents[2]!.nodeId}\\s+127\\.0\\.0\\.1:\\d+\\s+down`,
        ),
      );
      expect(degraded).toContain('objects: 1  chunks: 2  below full redundancy: 2');
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);

  it('refuses a config file with a bad field, naming it', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({ data: dir, backends: [{ id: 'a', farm: 'f', node: 'n', address: 'nowhere', namespace: 'x' }] }),
    );
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({
      stderr: expect.stringContaining('backends[0].address: must be host:port'),
    });
    fs.writeFileSync(bad, JSON.stringify({ data: dir, prot: 9000, backends: [] }));
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({
      stderr: expect.stringContaining('prot: unknown field (expected one of data, listen, port'),
    });
    fs.writeFileSync(bad, JSON.stringify({ data: dir, registry: { port: 'many' } }));
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({
      stderr: expect.stringContaining('registry.port: must be an integer from 0 to 65535'),
    });
    const six = Array.from({ length: 6 }, (_, i) => ({
      id: `b${i}`,
      farm: 'f',
      node: `n${i}`,
      address: `127.0.0.1:${9900 + i}`,
      namespace: 'x',
    }));
    fs.writeFileSync(bad, JSON.stringify({ data: dir, maxConnections: 0, backends: six }));
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({
      stderr: expect.stringContaining('maxConnections: must be an integer from 1 to 1000000'),
    });
  });
});
