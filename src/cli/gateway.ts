import { spawn } from 'node:child_process';
import { GATEWAY_MAIN, lowMemoryEnv } from '../util/programs.js';

/** `qstor gateway --config FILE`: the S3 gateway over the backends a config file names. */
export function gateway(argv: string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, GATEWAY_MAIN, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: lowMemoryEnv() });
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      const [word, a, b] = line.split(' ');
      if (word === 'credentials') process.stdout.write(`Root credentials (shown once): AWS_ACCESS_KEY_ID=${a} AWS_SECRET_ACCESS_KEY=${b}\n`);
      else if (word === 'ready') process.stdout.write(`qstor gateway: S3 on port ${a}\n`);
      else if (word === 'admin') process.stdout.write(`qstor gateway: /metrics and /health on port ${a}\n`);
      else if (word === 'registry') process.stdout.write(`qstor gateway: registry on port ${a} (agents register here; admin token in the data directory, registry-admin.token)\n`);
      else process.stdout.write(`${line}\n`);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}
