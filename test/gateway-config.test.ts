import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const QSTOR = path.resolve('bin/qstor.js');
const ZDB = path.resolve('bin/zdb.js');
const run = promisify(execFile);

function startGateway(config: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; admin: number }> {
  const child = spawn(process.execPath, [QSTOR, 'gateway', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const s3 = /S3 on port (\d+)/.exec(out);
      const admin = /\/health on port (\d+)/.exec(out);
      if (s3 && admin) resolve({ child, port: Number(s3[1]), admin: Number(admin[1]) });
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
        backends: zdbs.map((z, i) => ({ id: `z${i}`, farm: `farm${i % 3}`, node: `node${i}`, address: `127.0.0.1:${z.port}`, namespace: 'default' })),
      }),
    );
    const env = { ...process.env, QSTOR_ROOT_ACCESS_KEY: 'ROOTKEYFORTESTS00001', QSTOR_ROOT_SECRET_KEY: 'root-secret-for-tests-0123456789abcdefghij' };
    const { child, port, admin } = await startGateway(config, env);
    try {
      const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.QSTOR_ROOT_ACCESS_KEY, secretAccessKey: env.QSTOR_ROOT_SECRET_KEY } });
      await s3.send(new CreateBucketCommand({ Bucket: 'configured' }));
      const body = Buffer.alloc(3 * 1024 * 1024 + 5, 9);
      await s3.send(new PutObjectCommand({ Bucket: 'configured', Key: 'k', Body: body }));
      const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'configured', Key: 'k' }))).Body!.transformToByteArray());
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

  it('refuses a config file with a bad field, naming it', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ data: dir, backends: [{ id: 'a', farm: 'f', node: 'n', address: 'nowhere', namespace: 'x' }] }));
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({ stderr: expect.stringContaining('backends[0].address must be host:port') });
    fs.writeFileSync(bad, JSON.stringify({ data: dir, prot: 9000, backends: [] }));
    await expect(run(process.execPath, [QSTOR, 'gateway', '--config', bad])).rejects.toMatchObject({ stderr: expect.stringContaining('"prot" is not a known setting') });
  });
});
