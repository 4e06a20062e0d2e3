import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startLocalBackends, stopLocalBackends, ZDB_MAIN } from './backends.js';

const USAGE = `qstor: a decentralised, erasure-coded object store over Zero-DB backends

Usage:
  qstor start [--data DIR] [--backends 6] [--backend-port 9900]
      start the local store; today: its zdb backends (durable, on loopback)
  qstor zdb [zdb flags]
      run one zdb backend (the same as the zdb command; zdb --help lists its flags)
`;

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './qstor-data' },
      backends: { type: 'string', default: '6' },
      'backend-port': { type: 'string', default: '9900' },
    },
  });
  const count = Number(values.backends);
  const firstPort = Number(values['backend-port']);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error('--backends must be between 1 and 64');
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + count > 65535) throw new Error('--backend-port is out of range');
  const backends = await startLocalBackends(values.data, count, firstPort);
  process.stdout.write(`qstor: ${count} zdb backends ready in ${values.data}/backends\n`);
  for (const b of backends) process.stdout.write(`  zdb 127.0.0.1:${b.port}  (redis-cli -p ${b.port} PING)\n`);
  process.stdout.write('Ctrl-C stops them.\n');
  const stop = (): void => {
    void stopLocalBackends(backends).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function zdb(argv: string[]): void {
  const child = spawn(process.execPath, [ZDB_MAIN, ...argv], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'start':
      return start(rest);
    case 'zdb':
      return zdb(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`qstor: unknown command '${command}'\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`qstor: ${(e as Error).message}\n`);
  process.exit(1);
});
