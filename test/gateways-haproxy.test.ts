/**
 * Two gateways over one PostgreSQL behind HAProxy (Debian's, roundrobin, health checks on each
 * gateway's admin `/health`), the aws cli going through it: a gateway killed -9 in the middle
 * of a multipart upload, then of a ranged download, costs retries, never the transfer.
 */
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayCluster, type GatewayCluster } from './helpers/gateways-harness.js';
import { freePort } from './helpers/zdb-process.js';

const run = promisify(execFile);
const HAPROXY = '/usr/sbin/haproxy';
const MiB = 1 << 20;

/** This machine's environment without the AWS settings that would reach past the test's own. */
const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^AWS_/.test(name)));

/** The example of the README's "Running several gateways", with this test's ports. */
function haproxyConfig(port: number, gateways: Array<{ port: number; adminPort: number }>): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  retries 3',
    '  option redispatch',
    'frontend s3',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    ...gateways.map((g, i) => `  server gw${i} 127.0.0.1:${g.port} check port ${g.adminPort} inter 500 fall 2 rise 2`),
    '',
  ].join('\n');
}

let c: GatewayCluster;
let haproxy: ChildProcess | undefined;
let endpoint = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-haproxy-'));

beforeAll(async () => {
  c = await startGatewayCluster({ gateways: 2 });
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    cfg,
    haproxyConfig(
      port,
      c.gateways.map((g) => g!),
    ),
  );
  await run(HAPROXY, ['-c', '-f', cfg]);
  haproxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  endpoint = `http://127.0.0.1:${port}`;
  // Up once both servers passed their health checks.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await fetch(`${endpoint}/`).catch(() => null);
    if (r && r.status === 403) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not come up on ${endpoint}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}, 120_000);

afterAll(async () => {
  if (haproxy && haproxy.exitCode === null) {
    const gone = new Promise((r) => haproxy!.once('exit', r));
    haproxy.kill('SIGTERM');
    await gone;
  }
  await c?.close();
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('HAProxy in front of two gateways, aws cli through it', () => {
  it('a gateway killed -9 mid-upload and mid-download: the cli retries through the other, bytes equal', async () => {
    const config = path.join(dir, 'aws-config');
    // Multipart from 5 MiB, two parts at a time: the upload lasts long enough to be cut.
    fs.writeFileSync(
      config,
      '[default]\nretry_mode = standard\nmax_attempts = 10\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n  max_concurrent_requests = 2\n',
    );
    const env = {
      ...inherited,
      AWS_ACCESS_KEY_ID: c.root.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.root.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    };
    const aws = async (...args: string[]): Promise<string> =>
      (await run('aws', ['--endpoint-url', endpoint, ...args], { env, maxBuffer: 16 * MiB })).stdout;
    await aws('s3', 'mb', 's3://balanced');
    const data = crypto.randomBytes(20 * MiB);
    const file = path.join(dir, 'big.bin');
    fs.writeFileSync(file, data);

    const direct = c.client(1);
    const upload = aws('s3', 'cp', '--no-progress', file, 's3://balanced/big.bin');
    // Killed once the multipart upload exists: its parts are then going through both gateways.
    let deadline = Date.now() + 60_000;
    while (((await direct.send(new ListMultipartUploadsCommand({ Bucket: 'balanced' }))).Uploads ?? []).length === 0) {
      if (Date.now() > deadline) throw new Error('the multipart upload never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    await c.kill(0);
    await upload;

    const back = path.join(dir, 'big.back');
    await aws('s3', 'cp', '--no-progress', 's3://balanced/big.bin', back);
    expect(fs.readFileSync(back).equals(data)).toBe(true);

    // Gateway 0 back (HAProxy sees it healthy again), gateway 1 killed in the middle of a download.
    await c.start(0);
    await new Promise((r) => setTimeout(r, 1500));
    fs.rmSync(back);
    deadline = Date.now() + 60_000;
    const download = aws('s3', 'cp', '--no-progress', 's3://balanced/big.bin', back);
    // Killed once the first bytes are on disk (the cli writes to a temporary name beside `back`).
    while (!fs.readdirSync(dir).some((f) => f.startsWith('big.back') && fs.statSync(path.join(dir, f)).size > 0)) {
      if (Date.now() > deadline) throw new Error('the download never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.kill(1);
    await download;
    expect(fs.readFileSync(back).equals(data)).toBe(true);

    // And small objects, put and read back through the one gateway left.
    fs.writeFileSync(path.join(dir, 'small.txt'), 'through the balancer\n');
    await aws('s3', 'cp', '--no-progress', path.join(dir, 'small.txt'), 's3://balanced/small.txt');
    expect(await aws('s3', 'cp', '--no-progress', 's3://balanced/small.txt', '-')).toBe('through the balancer\n');
  }, 120_000);
});
