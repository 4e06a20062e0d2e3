import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { GATEWAY_MAIN, lowMemoryEnv } from '../util/programs.js';
import { loadGatewayConfig } from '../config/gateway-config.js';
import { lockDir } from '../util/dir-lock.js';

/** `qstor gateway --config FILE`: the S3 gateway over the backends a config file names. */
export function gateway(argv: string[]): void {
  // Locked before the daemon reads anything in it, and held by the daemon too (it inherits the
  // descriptor): a second gateway on one data directory would requeue the first one's writes in
  // flight for deletion.
  const dir = dataDir(argv);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = lockDir(dir, 'data directory');
  const child = spawn(process.execPath, [...process.execArgv, GATEWAY_MAIN, ...argv], { stdio: ['ignore', 'pipe', 'inherit', lock.fd], env: lowMemoryEnv() });
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      const [word, a, b] = line.split(' ');
      if (word === 'credentials') process.stdout.write(`Root credentials (shown once): AWS_ACCESS_KEY_ID=${a} AWS_SECRET_ACCESS_KEY=${b}\n`);
      else if (word === 'ready') process.stdout.write(`qstor gateway: S3 on port ${a}\n`);
      else if (word === 'admin') process.stdout.write(`qstor gateway: console, /metrics and /health at http://127.0.0.1:${a}/\n`);
      else if (word === 'registry') process.stdout.write(`qstor gateway: registry on port ${a} (agents register here; admin token in the data directory, registry-admin.token)\n`);
      else process.stdout.write(`${line}\n`);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}

/** The data directory the daemon will use: the config file's `data`, else --data (its default). */
function dataDir(argv: string[]): string {
  const { values } = parseArgs({ args: argv, strict: false, options: { config: { type: 'string' }, data: { type: 'string', default: './qstor-data' } } });
  return typeof values.config === 'string' ? loadGatewayConfig(values.config).data : String(values.data);
}
