import { spawn } from 'node:child_process';
import { metaRebuild, repair, status } from './admin.js';
import { bucket, key } from './admin-keys.js';
import { farm, nodes } from './admin-registry.js';
import { agent } from './agent.js';
import { FLIST_USAGE } from './flist-usage.js';
import { ZDB_MAIN } from '../util/programs.js';
import { gateway } from './gateway.js';
import { registry } from './registry.js';
import { start } from './start.js';

const USAGE = `qstor: a decentralised, erasure-coded object store over Zero-DB backends

Usage:
  qstor start [--data DIR] [--backends 6] [--data-shards 4] [--parity-shards 2] [--backend-port 9900]
              [--port 9000] [--host 127.0.0.1] [--tls-cert FILE --tls-key FILE]
      the local store: durable zdb backends on loopback, metadata, repair and deletes in the background
  qstor admin status [--data DIR | --config FILE]   backends, their health and space, chunks below full redundancy
  qstor admin repair [--data DIR | --config FILE]   one repair pass now, with progress
  qstor admin key create [--name N] | list | delete KEY_ID   access keys other than root
  qstor admin bucket allow|deny BUCKET --key KEY_ID [--read] [--write] [--owner]
  qstor admin farm create --name N [--registry URL] [--admin-token T | --admin-token-file F]
  qstor admin farm admit|revoke|stores --store KEY [--rights storage,compute] [--farm-token-file F]   a farmer's stores
  qstor admin nodes [--registry URL] [--admin-token T | --admin-token-file F]   nodes, disks, space, state
  qstor registry [--data DIR] [--port 9800] [--host 127.0.0.1] [--admin-token-file F] [--down-after 30]
      the registry of farms and nodes on its own (tables in DIR/meta.db)
  qstor agent --config FILE        the node agent: a zdb per disk, registration, heartbeats, reservations
  qstor meta rebuild [--data DIR]   the metadata database from the backends and the master key
  qstor gateway --config FILE      the S3 gateway over backends named in a config file (see gateway/README.md)
  qstor zdb [zdb flags]
      run one zdb backend (the same as the zdb command; zdb --help lists its flags)
${FLIST_USAGE}`;

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
    case 'gateway':
      return gateway(rest);
    case 'registry':
      return registry(rest);
    case 'agent':
      return agent(rest);
    case 'admin':
      if (rest[0] === 'status') return status(rest.slice(1));
      if (rest[0] === 'repair') return repair(rest.slice(1));
      if (rest[0] === 'key') return key(rest.slice(1));
      if (rest[0] === 'bucket') return bucket(rest.slice(1));
      if (rest[0] === 'farm') return farm(rest.slice(1));
      if (rest[0] === 'nodes') return nodes(rest.slice(1));
      break;
    case 'flist':
      // Loaded on demand: FUSE, snappy and the codec pool are no business of the daemons.
      return (await import('./flist.js')).flist(rest);
    case 'meta':
      if (rest[0] === 'rebuild') return metaRebuild(rest.slice(1));
      break;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return;
  }
  process.stderr.write(`qstor: unknown command '${[command, rest[0]].filter(Boolean).join(' ')}'\n\n${USAGE}`);
  process.exit(2);
}

main().catch((e: unknown) => {
  process.stderr.write(`qstor: ${(e as Error).message}\n`);
  process.exit(1);
});
