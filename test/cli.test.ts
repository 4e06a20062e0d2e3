import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { QSTOR, startQstor, stopAll, stopQstor } from './helpers/qstor-process.js';
import { portBlock } from './helpers/port-block.js';

const DIST = path.resolve('dist/src');
const run = promisify(execFile);

/** Runs a script in another process against the data directory (as a second client of the store). */
async function withStore(dir: string, body: string): Promise<string> {
  const script = path.join(dir, `script-${Date.now()}-${Math.random()}.mjs`);
  fs.writeFileSync(
    script,
    `import { openStore } from '${DIST}/data-dir/local-store.js';
const s = await openStore(${JSON.stringify(dir)});
try { ${body} } finally { await s.close(); }`,
  );
  const { stdout } = await run(process.execPath, [script]);
  return stdout;
}

let output = '';
async function startStore(dir: string, port: number): Promise<ChildProcess> {
  const up = await startQstor([
    'start',
    '--data',
    dir,
    '--backend-port',
    String(port),
    '--port',
    String(port + 10),
    '--admin-port',
    String(port + 11),
  ]);
  output = up.output;
  return up.child;
}

// Fixed ports: the store is restarted on the same ones.
const port = await portBlock();

describe('qstor command', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-cli-'));
  afterAll(async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('start, status, repair, restart, and meta rebuild after losing the database', async () => {
    let q = await startStore(dir, port);
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
    const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    expect(output).toContain(`AWS_ACCESS_KEY_ID=${accessKey}`);
    expect(output).toContain(`aws --endpoint-url http://127.0.0.1:${port + 10} s3 ls`);
    // A line to paste as it is, the log's path, and the admin port asked for.
    expect(output).toContain(
      `export AWS_ACCESS_KEY_ID=${accessKey} AWS_SECRET_ACCESS_KEY=${secretKey} AWS_DEFAULT_REGION=us-east-1\n`,
    );
    expect(output).toContain(`Log: ${path.join(dir, 'gateway.log')}`);
    expect(output).toContain(`Console at http://127.0.0.1:${port + 11}/`);
    expect((await fetch(`http://127.0.0.1:${port + 11}/health`)).status).toBe(200);

    // The aws cli, unchanged: a multipart upload and download through the gateway.
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const aws = (...args: string[]): Promise<{ stdout: string }> =>
      run('aws', ['--endpoint-url', `http://127.0.0.1:${port + 10}`, ...args], { env });
    const file = path.join(dir, 'upload.bin');
    const data = Buffer.alloc(20 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i += 4)
      data.writeUInt32LE((i * 2654435761) >>> 0, i - (i + 4 > data.length ? i + 4 - data.length : 0));
    fs.writeFileSync(file, data);
    await aws('s3', 'mb', 's3://cli-bucket');
    await aws('s3', 'cp', '--no-progress', file, 's3://cli-bucket/dir/upload.bin');
    await aws('s3', 'cp', '--no-progress', 's3://cli-bucket/dir/upload.bin', `${file}.back`);
    expect(fs.readFileSync(`${file}.back`).equals(data)).toBe(true);
    expect((await aws('s3', 'ls', 's3://cli-bucket/dir/')).stdout).toMatch(/20971643 upload\.bin/);

    // A key of its own sees and touches only what it was granted.
    const created = (await run(process.execPath, [QSTOR, 'admin', 'key', 'create', '--name', 'ci', '--data', dir]))
      .stdout;
    const keyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(created)![1]!;
    const keySecret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(created)![1]!;
    const asKey = (...args: string[]): Promise<{ stdout: string }> =>
      run('aws', ['--endpoint-url', `http://127.0.0.1:${port + 10}`, ...args], {
        env: { ...env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: keySecret },
      });
    await expect(asKey('s3', 'ls', 's3://cli-bucket/')).rejects.toMatchObject({
      stderr: expect.stringContaining('AccessDenied'),
    });
    await run(process.execPath, [
      QSTOR,
      'admin',
      'bucket',
      'allow',
      'cli-bucket',
      '--key',
      keyId,
      '--read',
      '--data',
      dir,
    ]);
    expect((await asKey('s3', 'ls', 's3://cli-bucket/dir/')).stdout).toContain('upload.bin');
    await expect(asKey('s3', 'cp', '--no-progress', file, 's3://cli-bucket/by-key.bin')).rejects.toMatchObject({
      stderr: expect.stringContaining('AccessDenied'),
    });
    await run(process.execPath, [
      QSTOR,
      'admin',
      'bucket',
      'allow',
      'cli-bucket',
      '--key',
      keyId,
      '--write',
      '--data',
      dir,
    ]);
    await asKey('s3', 'cp', '--no-progress', file, 's3://cli-bucket/by-key.bin');
    expect((await run(process.execPath, [QSTOR, 'admin', 'key', 'list', '--data', dir])).stdout).toMatch(
      new RegExp(`${keyId}\\s+ci\\s+\\S+\\s+cli-bucket:read,write`),
    );
    await run(process.execPath, [QSTOR, 'admin', 'key', 'delete', keyId, '--data', dir]);
    await expect(asKey('s3', 'ls', 's3://cli-bucket/')).rejects.toMatchObject({
      stderr: expect.stringContaining('InvalidAccessKeyId'),
    });
    await aws('s3', 'rm', 's3://cli-bucket/by-key.bin');
    await aws('s3', 'rm', 's3://cli-bucket/dir/upload.bin');
    await aws('s3', 'rb', 's3://cli-bucket');
    await withStore(
      dir,
      `await s.store.createBucket('photos');
for (let i = 0; i < 5; i++) await s.store.put('photos', 'p' + i, (async function* () { yield Buffer.alloc(300000 + i, i); })(), { metadata: { n: String(i) } });`,
    );
    const status = (await run(process.execPath, [QSTOR, 'admin', 'status', '--data', dir])).stdout;
    expect(status).toMatch(/local-0\s+local\s+disk-0\s+127\.0\.0\.1:\d+\s+up/);
    expect(status).toContain('objects: 5  chunks: 5  below full redundancy: 0');
    const repaired = (await run(process.execPath, [QSTOR, 'admin', 'repair', '--data', dir])).stdout;
    expect(repaired).toContain('repaired 0 chunks (0 shards) of 5');
    expect(await stopQstor(q)).toBe(0);

    // A second start finds all data again.
    q = await startStore(dir, port);
    const listed = await withStore(
      dir,
      `console.log((await s.meta.listObjects({ bucket: 'photos' })).entries.map((e) => e.key + ':' + e.size).join(','));`,
    );
    expect(listed.trim()).toBe('p0:300000,p1:300001,p2:300002,p3:300003,p4:300004');
    const before = await withStore(
      dir,
      `console.log(JSON.stringify((await s.meta.listObjects({ bucket: 'photos' })).entries.map((e) => [e.key, e.etag, e.size])))`,
    );
    expect(await stopQstor(q)).toBe(0);

    // The machine holding the database is lost: rebuild it from the backends and the master key.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    const rebuilt = (await run(process.execPath, [QSTOR, 'meta', 'rebuild', '--data', dir])).stdout;
    expect(rebuilt).toContain('rebuilt 1 buckets and 5 objects');
    await expect(run(process.execPath, [QSTOR, 'meta', 'rebuild', '--data', dir])).rejects.toMatchObject({
      stderr: expect.stringContaining('exists: move it away first'),
    });
    q = await startStore(dir, port);
    const after = await withStore(
      dir,
      `console.log(JSON.stringify((await s.meta.listObjects({ bucket: 'photos' })).entries.map((e) => [e.key, e.etag, e.size])))`,
    );
    expect(after).toBe(before);
    const body = await withStore(
      dir,
      `const chunks = []; for await (const c of (await s.store.get('photos', 'p3')).body) chunks.push(c); const b = Buffer.concat(chunks); console.log(b.length, b.every((x) => x === 3), (await s.store.head('photos', 'p3')).metadata.n);`,
    );
    expect(body.trim()).toBe('300003 true 3');
    expect(await stopQstor(q)).toBe(0);
    // Stopped: status and repair say so instead of reporting every backend down.
    for (const command of ['status', 'repair']) {
      await expect(run(process.execPath, [QSTOR, 'admin', command, '--data', dir])).rejects.toMatchObject({
        code: 1,
        stderr: `qstor: no store is running on ${dir}; start it with \`qstor start --data ${dir}\`\n`,
      });
    }
    // Three starts and stops of the whole store and ~15 aws cli runs: minutes on 2 busy cores.
  }, 300_000);

  it('refuses a bad --data, a used port and a gateway without --config in one line naming the fix', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const refusal = (args: string[]) =>
      run(process.execPath, [QSTOR, ...args]).then(
        () => 'started',
        (e: { code: number; stderr: string }) => [e.code, e.stderr],
      );
    expect(await refusal(['start', '--data', file])).toEqual([
      1,
      `qstor: --data ${file}: a file (not a directory) has that name; name a directory this user may create and write\n`,
    ]);
    const busy = net.createServer();
    const taken = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as net.AddressInfo).port)),
    );
    try {
      expect(
        await refusal(['start', '--data', path.join(dir, 'busy'), '--port', String(taken), '--admin-port', '0']),
      ).toEqual([1, `qstor: port ${taken} on 127.0.0.1 is in use by another program: choose another with --port N\n`]);
    } finally {
      busy.close();
    }
    const [code, stderr] = (await refusal(['gateway'])) as [number, string];
    expect(code).toBe(1);
    expect(stderr).toContain("required option '--config <file>' not specified");
    expect(fs.existsSync(path.join(process.cwd(), 'qstor-data'))).toBe(false);
  });

  it('refuses a wrong master key with a clear error', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-cli-key-'));
    fs.cpSync(dir, other, { recursive: true });
    fs.writeFileSync(path.join(other, 'master.key'), 'ab'.repeat(32) + '\n', { mode: 0o600 });
    await expect(run(process.execPath, [QSTOR, 'admin', 'status', '--data', other])).rejects.toMatchObject({
      stderr: expect.stringMatching(/master key/i),
    });
    fs.rmSync(other, { recursive: true, force: true });
  });
});
