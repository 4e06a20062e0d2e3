import { spawnGateway } from './spawn-gateway.js';
import { loadGatewayConfig } from '../config/gateway-config.js';
import type { LogLevel } from '../config/log-level.js';
import { lockDataDir } from './data-dir.js';
import { exportLine } from './start.js';

/**
 * `qstor gateway --config FILE`: the S3 gateway over the backends a config file names. The file
 * is required: without it the gateway would run over a default directory the user never chose.
 */
export function gateway(o: { config: string; logLevel?: LogLevel }): void {
  // Locked before the daemon reads anything in it, and held by the daemon too (it inherits the
  // descriptor): a second gateway on one data directory would requeue the first one's writes in
  // flight for deletion.
  const dir = loadGatewayConfig(o.config).data;
  const lock = lockDataDir(dir, `${o.config}: data`);
  const logLevel = o.logLevel ? ['--log-level', o.logLevel] : [];
  const child = spawnGateway(['--config', o.config, ...logLevel], lock.fd);
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      const [word, a, b] = line.split(' ');
      if (word === 'credentials') process.stdout.write(`Root credentials (shown once): ${exportLine(a!, b!)}\n`);
      else if (word === 'ready') process.stdout.write(`qstor gateway: S3 on port ${a}\n`);
      else if (word === 'admin')
        process.stdout.write(`qstor gateway: console, /metrics and /health at http://127.0.0.1:${a}/\n`);
      else if (word === 'website') process.stdout.write(`qstor gateway: static websites on port ${a}\n`);
      else if (word === 'registry')
        process.stdout.write(
          `qstor gateway: registry on port ${a} (agents register here; admin token in the data directory, registry-admin.token)\n`,
        );
      else process.stdout.write(`${line}\n`);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}
