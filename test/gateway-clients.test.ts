import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type RequestRecord } from '../gateway/server.js';
import { ROOT, startGateway, type GatewayHarness } from './helpers/gateway-harness.js';
import { selfSigned } from './helpers/self-signed.js';
import { portBlock } from './helpers/port-block.js';

/**
 * The S3 clients people use, unchanged, against one store served over HTTP and over HTTPS (a
 * self-signed certificate the clients are told to trust). Every byte downloaded is compared with
 * what was uploaded.
 */

const execFileAsync = promisify(execFile);
const QSTOR = path.resolve('bin/qstor.js');

/** This machine's environment without the AWS and rclone settings that would reach past the test's own. */
const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS|RCLONE)_/.test(name)));

/** Runs a client; its stderr becomes part of the failure, a missing tool says how to get it. */
async function tool(command: string, args: string[], env: NodeJS.ProcessEnv = {}, stdin?: Buffer): Promise<string> {
  try {
    const running = execFileAsync(command, args, { env: { ...inherited, ...env }, maxBuffer: 16 * 1024 * 1024 });
    running.child.stdin!.end(stdin);
    const { stdout } = await running;
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (err.code === 'ENOENT') {
      // rclone and s3cmd come from Debian: scripts/install-test-deps.mjs (npm test's pretest) installs them as root.
      throw new Error(`${command} is not installed: apt-get install ${command}, or run npm test as root`);
    }
    throw new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** Bytes no two files share, so a mixed-up download cannot match. */
function write(file: string, size: number): Buffer {
  const data = crypto.randomBytes(size);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return data;
}

/** Every file under `dir`, relative, sorted, with its bytes. */
function tree(dir: string): Map<string, Buffer> {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const entries = files.map((e) => {
    const full = path.join(e.parentPath, e.name);
    return [path.relative(dir, full), fs.readFileSync(full)] as const;
  });
  return new Map(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

function expectSameTree(actual: string, expected: string): void {
  const a = tree(actual);
  const e = tree(expected);
  expect([...a.keys()]).toEqual([...e.keys()]);
  for (const [name, bytes] of e) expect(a.get(name)!.equals(bytes), name).toBe(true);
}

function expectSameFile(actual: string, expected: Buffer): void {
  const got = fs.readFileSync(actual);
  expect(got.length).toBe(expected.length);
  expect(got.equals(expected)).toBe(true);
}

/** A GET with node's own client, trusting the test certificate over HTTPS. */
function download(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      res.on('error', reject);
    };
    const req = url.startsWith('https:')
      ? https.get(url, { ca: fs.readFileSync(certFile) }, onResponse)
      : http.get(url, onResponse);
    req.on('error', reject);
  });
}

const md5 = (b: Buffer): string => crypto.createHash('md5').update(b).digest('hex');
/** The ETag of a multipart object: MD5 of the parts' binary MD5s, then -N. */
const multipartEtag = (parts: Buffer[]): string =>
  `"${crypto
    .createHash('md5')
    .update(Buffer.concat(parts.map((p) => crypto.createHash('md5').update(p).digest())))
    .digest('hex')}-${parts.length}"`;

const MiB = 1024 * 1024;

interface Endpoint {
  scheme: 'http' | 'https';
  url: string;
  port: number;
  /** Every request this gateway finished. */
  records: RequestRecord[];
}

let g: GatewayHarness;
/** The SDK, over HTTP, to look at what a client left behind. */
let sdk: S3Client;
let tlsGateway: Gateway;
let work: string;
let certFile: string;
let keyFile: string;
const endpoints = {} as Record<'http' | 'https', Endpoint>;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-clients-'));
  ({ certFile, keyFile } = await selfSigned(work));
  const httpRecords: RequestRecord[] = [];
  g = await startGateway({ onRequest: (r) => httpRecords.push(r) });
  sdk = g.client();
  endpoints.http = { scheme: 'http', url: g.endpoint, port: g.port, records: httpRecords };
  // The same store behind a second gateway that speaks HTTPS.
  const httpsRecords: RequestRecord[] = [];
  tlsGateway = createGateway({
    store: g.h.store,
    meta: g.h.meta,
    masterKey: g.h.masterKey,
    rootAccessKey: ROOT.accessKeyId,
    rootSecretKey: ROOT.secretAccessKey,
    logger: pino({ level: 'silent' }),
    onRequest: (r) => httpsRecords.push(r),
    tls: { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
  });
  const port = await tlsGateway.listen(0);
  endpoints.https = { scheme: 'https', url: `https://127.0.0.1:${port}`, port, records: httpsRecords };
});

afterAll(async () => {
  await tlsGateway?.close();
  await g?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * How each client's PutObject and UploadPart bodies arrive (x-amz-content-sha256 as signed), as
 * observed with awscli 1.45 / botocore 1.43, rclone 1.60 and s3cmd 2.3: botocore streams an
 * aws-chunked body with a CRC32 trailer over HTTPS only, so that path of the gateway is covered
 * by a real client here. A client upgrade that changes this fails loudly rather than silently
 * leaving a path untested.
 */
const ENCODINGS = {
  aws: { http: ['sha256'], https: ['STREAMING-UNSIGNED-PAYLOAD-TRAILER'] },
  boto3: { http: ['sha256'], https: ['STREAMING-UNSIGNED-PAYLOAD-TRAILER'] },
  rclone: { http: ['UNSIGNED-PAYLOAD', 'sha256'], https: ['UNSIGNED-PAYLOAD', 'sha256'] },
  s3cmd: { http: ['sha256'], https: ['sha256'] },
} satisfies Record<string, Record<'http' | 'https', string[]>>;

/** How the bodies of the uploads to `bucket` arrived (x-amz-content-sha256 modes). */
function uploadEncodings(e: Endpoint, bucket: string): string[] {
  const uploads = e.records.filter((r) => r.bucket === bucket && (r.op === 'PutObject' || r.op === 'UploadPart'));
  return [...new Set(uploads.map((r) => r.payload ?? 'none'))].sort();
}

// Concurrently: most of the time is the clients' own start-up, and every test has its own bucket.
describe.concurrent.each(['http', 'https'] as const)('real S3 clients over %s', (scheme) => {
  const e = (): Endpoint => endpoints[scheme];
  const dir = (name: string): string => {
    const d = path.join(work, `${name}-${scheme}`);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };

  it('aws cli: s3 cp, sync, ls, rm, mb, rb and s3api', async () => {
    const d = dir('aws');
    const bucket = `${scheme}-aws`;
    const config = path.join(d, 'config');
    // Multipart from 5 MiB on, so a 10 MiB file is 3 parts (the default would be 8 MiB); s3v4 as
    // `s3 presign` would otherwise make a SigV2 URL, which the gateway does not speak.
    fs.writeFileSync(
      config,
      '[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n  signature_version = s3v4\n',
    );
    const env = {
      AWS_ACCESS_KEY_ID: ROOT.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: path.join(d, 'no-credentials'),
      ...(scheme === 'https' ? { AWS_CA_BUNDLE: certFile } : {}),
    };
    const aws = (...args: string[]): Promise<string> => tool('aws', ['--endpoint-url', e().url, ...args], env);
    const awsWithStdin = (stdin: Buffer, ...args: string[]): Promise<string> =>
      tool('aws', ['--endpoint-url', e().url, ...args], env, stdin);
    const api = async (...args: string[]): Promise<Record<string, unknown>> => {
      const out = await aws('s3api', ...args, '--output', 'json');
      return out.trim() === '' ? {} : (JSON.parse(out) as Record<string, unknown>);
    };

    expect(await aws('s3', 'mb', `s3://${bucket}`)).toContain(`make_bucket: ${bucket}`);
    const small = write(path.join(d, 'small.txt'), 1000);
    const big = write(path.join(d, 'big.bin'), 10 * MiB + 7);
    await aws('s3', 'cp', '--no-progress', path.join(d, 'small.txt'), `s3://${bucket}/small.txt`);
    await aws('s3', 'cp', '--no-progress', path.join(d, 'big.bin'), `s3://${bucket}/big.bin`);
    await aws('s3', 'cp', '--no-progress', `s3://${bucket}/small.txt`, path.join(d, 'small.back'));
    await aws('s3', 'cp', '--no-progress', `s3://${bucket}/big.bin`, path.join(d, 'big.back'));
    expectSameFile(path.join(d, 'small.back'), small);
    expectSameFile(path.join(d, 'big.back'), big);
    expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }))).ETag).toBe(
      multipartEtag([big.subarray(0, 5 * MiB), big.subarray(5 * MiB, 10 * MiB), big.subarray(10 * MiB)]),
    );
    // Server-side copies: CopyObject, and UploadPartCopy for a multipart-sized source.
    await aws('s3', 'cp', '--no-progress', `s3://${bucket}/small.txt`, `s3://${bucket}/copies/small.txt`);
    await aws('s3', 'cp', '--no-progress', `s3://${bucket}/big.bin`, `s3://${bucket}/copies/big.bin`);
    // From a pipe: size unknown, so multipart in 5 MiB parts.
    const piped = crypto.randomBytes(5 * MiB + 11);
    await awsWithStdin(piped, 's3', 'cp', '--no-progress', '-', `s3://${bucket}/copies/piped.bin`);
    await aws('s3', 'cp', '--no-progress', '--recursive', `s3://${bucket}/copies/`, path.join(d, 'copies'));
    expectSameFile(path.join(d, 'copies', 'small.txt'), small);
    expectSameFile(path.join(d, 'copies', 'big.bin'), big);
    expectSameFile(path.join(d, 'copies', 'piped.bin'), piped);
    // A SigV4 presigned URL from the cli, fetched by something else.
    const presigned = (await aws('s3', 'presign', `s3://${bucket}/small.txt`, '--expires-in', '300')).trim();
    expect(await download(presigned)).toEqual({ status: 200, body: small });

    const up = path.join(d, 'tree');
    write(path.join(up, 'a.txt'), 10);
    write(path.join(up, 'empty'), 0);
    write(path.join(up, 'with space & ünïcødé+%.txt'), 2000);
    write(path.join(up, 'sub', 'b.bin'), 300_000);
    write(path.join(up, 'sub', 'deeper', 'c.bin'), 400_000);
    await aws('s3', 'sync', '--no-progress', up, `s3://${bucket}/tree/`);
    // Sizes and times listed back match: a second sync has nothing to do.
    expect((await aws('s3', 'sync', '--no-progress', up, `s3://${bucket}/tree/`)).trim()).toBe('');
    await aws('s3', 'sync', '--no-progress', `s3://${bucket}/tree/`, path.join(d, 'down'));
    expectSameTree(path.join(d, 'down'), up);
    const listed = await aws('s3', 'ls', `s3://${bucket}/tree/`);
    expect(listed).toMatch(/PRE sub\/\n/);
    expect(listed).toMatch(/ 2000 with space & ünïcødé\+%\.txt\n/);
    expect(listed).toMatch(/ 0 empty\n/);
    expect(
      (await aws('s3', 'ls', '--recursive', `s3://${bucket}/tree/sub/`))
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(2).join(' ')),
    ).toEqual(['300000 tree/sub/b.bin', '400000 tree/sub/deeper/c.bin']);

    await api(
      'put-object',
      '--bucket',
      bucket,
      '--key',
      'meta.txt',
      '--body',
      path.join(d, 'small.txt'),
      '--metadata',
      'color=blue,Shape=Round',
      '--content-type',
      'text/x-test',
    );
    const head = await api('head-object', '--bucket', bucket, '--key', 'meta.txt');
    expect(head).toMatchObject({
      ContentLength: 1000,
      ContentType: 'text/x-test',
      ETag: `"${md5(small)}"`,
      Metadata: { color: 'blue', shape: 'Round' },
    });
    // Signed for another region: the 400 names ours in x-amz-bucket-region (all a HEAD has), and
    // botocore signs again for it.
    const elsewhere = await tool(
      'aws',
      ['--endpoint-url', e().url, 's3api', 'head-object', '--bucket', bucket, '--key', 'meta.txt', '--output', 'json'],
      { ...env, AWS_DEFAULT_REGION: 'eu-west-1' },
    );
    expect(JSON.parse(elsewhere)).toMatchObject({ ContentLength: 1000, Metadata: { color: 'blue' } });
    // --no-paginate: the cli's page merging drops KeyCount.
    const v2 = await api(
      'list-objects-v2',
      '--no-paginate',
      '--bucket',
      bucket,
      '--prefix',
      'tree/',
      '--delimiter',
      '/',
    );
    expect((v2.Contents as Array<{ Key: string }>).map((o) => o.Key)).toEqual([
      'tree/a.txt',
      'tree/empty',
      'tree/with space & ünïcødé+%.txt',
    ]);
    expect(v2.CommonPrefixes).toEqual([{ Prefix: 'tree/sub/' }]);
    expect(v2.KeyCount).toBe(4);

    const part1 = write(path.join(d, 'part1'), 5 * MiB);
    const part2 = write(path.join(d, 'part2'), 4321);
    const { UploadId } = (await api('create-multipart-upload', '--bucket', bucket, '--key', 'assembled.bin')) as {
      UploadId: string;
    };
    const etags: string[] = [];
    for (const [i, file] of ['part1', 'part2'].entries()) {
      const part = (await api(
        'upload-part',
        '--bucket',
        bucket,
        '--key',
        'assembled.bin',
        '--upload-id',
        UploadId,
        '--part-number',
        String(i + 1),
        '--body',
        path.join(d, file),
      )) as { ETag: string };
      etags.push(part.ETag);
    }
    expect(etags).toEqual([`"${md5(part1)}"`, `"${md5(part2)}"`]);
    const parts = JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) });
    const done = await api(
      'complete-multipart-upload',
      '--bucket',
      bucket,
      '--key',
      'assembled.bin',
      '--upload-id',
      UploadId,
      '--multipart-upload',
      parts,
    );
    expect(done.ETag).toBe(multipartEtag([part1, part2]));
    await api('get-object', '--bucket', bucket, '--key', 'assembled.bin', path.join(d, 'assembled.back'));
    expectSameFile(path.join(d, 'assembled.back'), Buffer.concat([part1, part2]));

    // --acl public-read: an anonymous GET (a browser's) reads the object; the others stay private.
    await aws(
      's3',
      'cp',
      '--no-progress',
      '--acl',
      'public-read',
      path.join(d, 'small.txt'),
      `s3://${bucket}/public.txt`,
    );
    expect(await download(`${e().url}/${bucket}/public.txt`)).toEqual({ status: 200, body: small });
    expect((await download(`${e().url}/${bucket}/small.txt`)).status).toBe(403);

    const deleted = await api(
      'delete-objects',
      '--bucket',
      bucket,
      '--delete',
      JSON.stringify({ Objects: [{ Key: 'meta.txt' }, { Key: 'assembled.bin' }, { Key: 'never-was' }] }),
    );
    expect((deleted.Deleted as Array<{ Key: string }>).map((o) => o.Key).sort()).toEqual([
      'assembled.bin',
      'meta.txt',
      'never-was',
    ]);
    await aws('s3', 'rm', `s3://${bucket}/small.txt`);
    await aws('s3', 'rm', '--recursive', `s3://${bucket}/`);
    await aws('s3', 'rb', `s3://${bucket}`);
    expect(await aws('s3', 'ls')).not.toContain(bucket);
    expect(uploadEncodings(e(), bucket)).toEqual(ENCODINGS.aws[scheme]);
    // About 30 runs of the aws cli, each a Python start of ~1 s of CPU: 150 s seen on 2 cores
    // at load 15, so the limit leaves room for a busier CI machine.
  }, 360_000);

  it('boto3: put, get, head, list, delete, upload_file multipart, a presigned GET', async () => {
    const d = dir('boto3');
    const bucket = `${scheme}-boto3`;
    const small = write(path.join(d, 'small.bin'), 70_000);
    const big = write(path.join(d, 'big.bin'), 11 * MiB + 3);
    const script = path.join(d, 'client.py');
    fs.writeFileSync(script, BOTO3_SCRIPT);
    const out = await tool('python3', [script, e().url, bucket, scheme === 'https' ? certFile : '', d], {
      AWS_ACCESS_KEY_ID: ROOT.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
      AWS_CONFIG_FILE: path.join(d, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(d, 'no-credentials'),
    });
    expect(out.trim()).toBe('ok');
    expectSameFile(path.join(d, 'small.back'), small);
    expectSameFile(path.join(d, 'presigned.back'), small);
    expectSameFile(path.join(d, 'big.back'), big);
    expect(uploadEncodings(e(), bucket)).toEqual(ENCODINGS.boto3[scheme]);
  });

  it('rclone: copy a directory up and back, check, ls, delete', async () => {
    const d = dir('rclone');
    const bucket = `${scheme}-rclone`;
    const conf = path.join(d, 'rclone.conf');
    fs.writeFileSync(conf, '');
    const env = {
      RCLONE_CONFIG_QS_TYPE: 's3',
      RCLONE_CONFIG_QS_PROVIDER: 'Other',
      RCLONE_CONFIG_QS_ACCESS_KEY_ID: ROOT.accessKeyId,
      RCLONE_CONFIG_QS_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
      RCLONE_CONFIG_QS_ENDPOINT: e().url,
      RCLONE_CONFIG_QS_REGION: 'us-east-1',
      RCLONE_CONFIG_QS_FORCE_PATH_STYLE: 'true',
    };
    const tls = scheme === 'https' ? ['--ca-cert', certFile] : [];
    // Multipart from 5 MiB on, in 5 MiB parts.
    const rclone = (...args: string[]): Promise<string> =>
      tool('rclone', ['--config', conf, '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', ...tls, ...args], env);

    const up = path.join(d, 'tree');
    write(path.join(up, 'one.txt'), 1234);
    write(path.join(up, 'big.bin'), 12 * MiB + 1);
    write(path.join(up, 'sub', 'two.bin'), 500_000);
    write(path.join(up, 'sub', 'ünï code.txt'), 77);
    await rclone('mkdir', `qs:${bucket}`);
    await rclone('copy', up, `qs:${bucket}/tree`);
    // Sizes and MD5s, as rclone reads them back from the listing and the metadata.
    await rclone('check', up, `qs:${bucket}/tree`);
    await rclone('copy', `qs:${bucket}/tree`, path.join(d, 'down'));
    expectSameTree(path.join(d, 'down'), up);
    const ls = (await rclone('ls', `qs:${bucket}`))
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .sort();
    expect(ls).toEqual(
      [
        `${12 * MiB + 1} tree/big.bin`,
        '1234 tree/one.txt',
        '500000 tree/sub/two.bin',
        '77 tree/sub/ünï code.txt',
      ].sort(),
    );
    await rclone('delete', `qs:${bucket}/tree/sub`);
    expect(
      (await rclone('ls', `qs:${bucket}`))
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .sort(),
    ).toEqual([`${12 * MiB + 1} tree/big.bin`, '1234 tree/one.txt'].sort());
    await rclone('purge', `qs:${bucket}`);
    expect(await rclone('lsd', 'qs:')).not.toContain(bucket);
    expect(uploadEncodings(e(), bucket)).toEqual(ENCODINGS.rclone[scheme]);
  });

  it('s3cmd: mb, put, multipart put, get, ls, del, rb', async () => {
    const d = dir('s3cmd');
    const bucket = `${scheme}-s3cmd`;
    const conf = path.join(d, 's3cfg');
    const host = `127.0.0.1:${e().port}`;
    // host_bucket without %(bucket)s: path-style addressing.
    const config = (region: string): string =>
      [
        '[default]',
        `access_key = ${ROOT.accessKeyId}`,
        `secret_key = ${ROOT.secretAccessKey}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        `bucket_location = ${region}`,
        'signature_v2 = False',
        `use_https = ${scheme === 'https' ? 'True' : 'False'}`,
        'check_ssl_certificate = True',
        `ca_certs_file = ${scheme === 'https' ? certFile : ''}`,
        '',
      ].join('\n');
    fs.writeFileSync(conf, config('us-east-1'));
    const s3cmd = (...args: string[]): Promise<string> => tool('s3cmd', ['--config', conf, '--no-progress', ...args]);
    const small = write(path.join(d, 'small.txt'), 3000);
    const big = write(path.join(d, 'big.bin'), 12 * MiB + 5);
    await s3cmd('mb', `s3://${bucket}`);
    await s3cmd('put', path.join(d, 'small.txt'), `s3://${bucket}/dir/small.txt`);
    await s3cmd('put', '--multipart-chunk-size-mb=5', path.join(d, 'big.bin'), `s3://${bucket}/big.bin`);
    await s3cmd('get', `s3://${bucket}/dir/small.txt`, path.join(d, 'small.back'));
    await s3cmd('get', `s3://${bucket}/big.bin`, path.join(d, 'big.back'));
    expectSameFile(path.join(d, 'small.back'), small);
    expectSameFile(path.join(d, 'big.back'), big);
    const top = await s3cmd('ls', `s3://${bucket}/`);
    expect(top).toMatch(new RegExp(`DIR\\s+s3://${bucket}/dir/\n`));
    expect(top).toMatch(new RegExp(`\\s${12 * MiB + 5}\\s+s3://${bucket}/big\\.bin\n`));
    expect(await s3cmd('ls', '--recursive', `s3://${bucket}`)).toMatch(
      new RegExp(`\\s3000\\s+s3://${bucket}/dir/small\\.txt\n`),
    );
    // Configured for another region: s3cmd reads ours from the <Region> of the 400 and signs again.
    fs.writeFileSync(path.join(d, 's3cfg-eu'), config('eu-west-1'));
    expect(await tool('s3cmd', ['--config', path.join(d, 's3cfg-eu'), 'ls', `s3://${bucket}/`])).toMatch(
      new RegExp(`s3://${bucket}/big\\.bin\n`),
    );
    // setacl --acl-public: an anonymous GET (a browser's) reads the object, until --acl-private.
    await s3cmd('setacl', '--acl-public', `s3://${bucket}/dir/small.txt`);
    expect(await download(`${e().url}/${bucket}/dir/small.txt`)).toEqual({ status: 200, body: small });
    await s3cmd('setacl', '--acl-private', `s3://${bucket}/dir/small.txt`);
    expect((await download(`${e().url}/${bucket}/dir/small.txt`)).status).toBe(403);
    await s3cmd('del', `s3://${bucket}/dir/small.txt`, `s3://${bucket}/big.bin`);
    expect((await s3cmd('ls', '--recursive', `s3://${bucket}`)).trim()).toBe('');
    await s3cmd('rb', `s3://${bucket}`);
    expect(await s3cmd('ls')).not.toContain(bucket);
    expect(uploadEncodings(e(), bucket)).toEqual(ENCODINGS.s3cmd[scheme]);
  });
});

describe('qstor start with TLS', () => {
  it('refuses --tls-cert without --tls-key before starting anything', async () => {
    const data = path.join(work, 'start-half');
    await expect(
      execFileAsync(process.execPath, [QSTOR, 'start', '--data', data, '--tls-cert', certFile]),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('--tls-cert and --tls-key go together'),
    });
    expect(fs.existsSync(data)).toBe(false);
  });

  it('serves HTTPS and says so', async () => {
    const data = path.join(work, 'start-tls');
    const port = await portBlock();
    const child = spawn(
      process.execPath,
      [
        QSTOR,
        'start',
        '--data',
        data,
        '--backends',
        '1',
        '--data-shards',
        '1',
        '--parity-shards',
        '0',
        '--backend-port',
        String(port),
        '--port',
        String(port + 1),
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
        '--admin-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('Ctrl-C stops everything')) resolve(out);
        });
        child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
        child.once('exit', (code) => reject(new Error(`qstor start exited ${code}: ${out}`)));
      });
      const endpoint = `https://127.0.0.1:${port + 1}`;
      expect(output).toContain(`aws --endpoint-url ${endpoint} s3 ls`);
      const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(data, 'credentials.json'), 'utf8')) as {
        accessKey: string;
        secretKey: string;
      };
      const env = {
        AWS_ACCESS_KEY_ID: accessKey,
        AWS_SECRET_ACCESS_KEY: secretKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: path.join(data, 'no-config'),
        AWS_MAX_ATTEMPTS: '1',
      };
      await tool('aws', ['--endpoint-url', endpoint, '--ca-bundle', certFile, 's3', 'mb', 's3://over-tls'], env);
      expect(await tool('aws', ['--endpoint-url', endpoint, '--ca-bundle', certFile, 's3', 'ls'], env)).toContain(
        'over-tls',
      );
      // Plain HTTP on the TLS port gets nowhere.
      await expect(tool('aws', ['--endpoint-url', `http://127.0.0.1:${port + 1}`, 's3', 'ls'], env)).rejects.toThrow(
        /Connection was closed before we received a valid response/,
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        expect(await exited).toBe(0);
      }
    }
  });
});

/** boto3 as an application uses it; argv: endpoint, bucket, CA file ('' over HTTP), work dir. */
const BOTO3_SCRIPT = `
import hashlib, ssl, sys, urllib.error, urllib.request
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, ca, work = sys.argv[1:5]
# s3v4: boto3 presigns with SigV2 unless told, and the gateway speaks SigV4 only (as new AWS buckets).
s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', verify=ca or True,
                  config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
s3.create_bucket(Bucket=bucket)
small = open(f'{work}/small.bin', 'rb').read()
s3.put_object(Bucket=bucket, Key='dir/small.bin', Body=small, Metadata={'origin': 'boto3'}, ContentType='application/x-test')
with open(f'{work}/small.back', 'wb') as f:
    f.write(s3.get_object(Bucket=bucket, Key='dir/small.bin')['Body'].read())
head = s3.head_object(Bucket=bucket, Key='dir/small.bin')
assert head['Metadata'] == {'origin': 'boto3'}, head
assert head['ContentType'] == 'application/x-test', head
assert head['ContentLength'] == len(small), head
assert head['ETag'] == '"%s"' % hashlib.md5(small).hexdigest(), head

mib = 1024 * 1024
transfer = TransferConfig(multipart_threshold=5 * mib, multipart_chunksize=5 * mib)
s3.upload_file(f'{work}/big.bin', bucket, 'big.bin', Config=transfer)
s3.download_file(bucket, 'big.bin', f'{work}/big.back', Config=transfer)
assert s3.head_object(Bucket=bucket, Key='big.bin')['ETag'].endswith('-3"')

listing = s3.list_objects_v2(Bucket=bucket, Delimiter='/')
assert [p['Prefix'] for p in listing['CommonPrefixes']] == ['dir/'], listing
assert [o['Key'] for o in listing['Contents']] == ['big.bin'], listing
listing = s3.list_objects_v2(Bucket=bucket, Prefix='dir/')
assert [(o['Key'], o['Size']) for o in listing['Contents']] == [('dir/small.bin', len(small))], listing

url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'dir/small.bin'}, ExpiresIn=300)
context = ssl.create_default_context(cafile=ca) if ca else None
try:
    with urllib.request.urlopen(url, context=context) as r, open(f'{work}/presigned.back', 'wb') as f:
        f.write(r.read())
except urllib.error.HTTPError as e:
    sys.exit(f'presigned GET {url}: {e.code} {e.read().decode()}')

s3.delete_object(Bucket=bucket, Key='dir/small.bin')
s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': 'big.bin'}]})
assert s3.list_objects_v2(Bucket=bucket)['KeyCount'] == 0
s3.delete_bucket(Bucket=bucket)
assert bucket not in [b['Name'] for b in s3.list_buckets()['Buckets']]
print('ok')
`;
