import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The aws cli (`aws s3 cp`) as a second S3 client beside the SDK: a separate Python process, as
 * users run it. Credentials go in its environment and the transfer settings in a config file
 * (0600) of `dir`, never on a command line. Two modes:
 * - 'one request': multipart_threshold 5GB, so a PUT is one PutObject and a GET one GetObject;
 * - 'multipart': the cli's defaults, 8 MiB parts and ranged GETs of 8 MiB, 10 in flight.
 * Aws cli 1.x signs the payload over HTTP (x-amz-content-sha256 is the body's digest): the
 * server hashes every byte with SHA-256, which the SDK's UNSIGNED-PAYLOAD spares it.
 */
export type AwsMode = 'one request' | 'multipart';

export interface AwsCli {
  /** Uploads `file` to s3://bucket/key. */
  put(file: string, bucket: string, key: string, mode: AwsMode): Promise<void>;
  /** Downloads s3://bucket/key to stdout; resolves with the byte count. */
  get(bucket: string, key: string, mode: AwsMode): Promise<number>;
}

const CONFIG: Record<AwsMode, string> = {
  'one request': '[default]\ns3 =\n  multipart_threshold = 5GB\n',
  multipart:
    '[default]\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n  max_concurrent_requests = 10\n',
};

/** Whether an `aws` program is on PATH. */
export function awsCliAvailable(): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((d) => d !== '' && fs.existsSync(path.join(d, 'aws')));
}

export function awsCli(
  endpoint: string,
  credentials: { id: string; secret: string },
  dir: string,
  track: (p: ChildProcess) => void,
): AwsCli {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configs = new Map<AwsMode, string>();
  for (const mode of Object.keys(CONFIG) as AwsMode[]) {
    const file = path.join(dir, `aws-${mode.replace(' ', '-')}.cfg`);
    fs.writeFileSync(file, CONFIG[mode], { mode: 0o600 });
    configs.set(mode, file);
  }
  const env = (mode: AwsMode): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    AWS_ACCESS_KEY_ID: credentials.id,
    AWS_SECRET_ACCESS_KEY: credentials.secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: configs.get(mode),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
  });
  const run = (args: string[], mode: AwsMode, onOut?: (d: Buffer) => void): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn('aws', ['--endpoint-url', endpoint, 's3', 'cp', '--no-progress', ...args], {
        env: env(mode),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      track(p);
      let err = '';
      p.stdout.on('data', (d: Buffer) => onOut?.(d));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.once('error', reject);
      p.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`aws s3 cp ${args.join(' ')} exited ${code}: ${err.trim()}`)),
      );
    });
  return {
    put: (file, bucket, key, mode) => run([file, `s3://${bucket}/${key}`], mode),
    async get(bucket, key, mode) {
      let n = 0;
      await run([`s3://${bucket}/${key}`, '-'], mode, (d) => (n += d.length));
      return n;
    },
  };
}
