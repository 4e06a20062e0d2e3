import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../erasure/codec.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from '../config/log-level.js';
import { ZDB_MAIN } from '../util/programs.js';
import { metaRebuild, repair, status } from './admin.js';
import { bucket, keyCreate, keyDelete, keyList, keyRight } from './admin-keys.js';
import { kmsCreate, kmsDelete, kmsList } from './admin-kms.js';
import { DEFAULT_REGISTRY, farmAdmit, farmCreate, farmRevoke, farmStores, nodes } from './admin-registry.js';
import { agent } from './agent.js';
import { gateway } from './gateway.js';
import { collect, DEFAULT_DATA_DIR, integer, positive } from './options.js';
import { registry } from './registry.js';
import { DEFAULT_BACKEND_PORT, start } from './start.js';

/**
 * The `qstor` command: every subcommand's options and arguments, from which commander parses
 * the command line and writes `--help`. README.md's command section is this help
 * (test/unit/cli-help.test.ts compares them).
 */
export function buildProgram(): Command {
  const program = new Command('qstor')
    .description('a decentralised, erasure-coded object store over Zero-DB backends')
    .showHelpAfterError('(qstor help [command] lists the options)')
    .helpCommand(true)
    // A fixed width: the help is the same on every terminal, and README.md holds it verbatim.
    .configureHelp({ helpWidth: 100 });
  const dataOption = (): Option =>
    new Option('--data <dir>', 'the data directory of qstor start').default(DEFAULT_DATA_DIR);

  program
    .command('start')
    .description(
      'the local store: durable zdb backends on loopback, metadata, repair and deletes in the background, the S3 gateway',
    )
    .addOption(dataOption())
    .option('--port <n>', 'S3 port', integer(0, 65535), 9000)
    .option('--host <address>', 'S3 listen address', '127.0.0.1')
    .option('--backends <n>', 'zdb backends of a new store', integer(1, 64), 6)
    .option('--data-shards <k>', 'data shards per chunk of a new store', integer(1, MAX_DATA_SHARDS), 4)
    .option('--parity-shards <m>', 'parity shards per chunk of a new store', integer(0, MAX_PARITY_SHARDS), 2)
    .option(
      '--backend-port <n>',
      `first backend port (default: ${DEFAULT_BACKEND_PORT} for a new store, else the recorded ones; moves them)`,
      integer(1, 65535),
    )
    .option(
      '--write-quorum <n>',
      'shards of a chunk a write needs stored when backends are down (k..k+m; default k+1)',
      integer(1, 64),
    )
    .option('--admin-port <n>', '/metrics, /health and the console on 127.0.0.1 (0: off)', integer(0, 65535), 9001)
    .option('--website-port <n>', 'static websites of buckets, anonymous GET/HEAD (0: off)', integer(0, 65535), 0)
    .option('--website-domain <domain>', 'a website request for <bucket>.<domain> is for <bucket>')
    .option('--tls-cert <file>', 'HTTPS: PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'HTTPS: PEM private key (with --tls-cert)')
    .addOption(logLevelOption().default(DEFAULT_LOG_LEVEL))
    .action(start);

  program
    .command('gateway')
    .description('the S3 gateway over backends named in a config file (see gateway/README.md)')
    .requiredOption('--config <file>', 'the gateway config file (JSON: data, backends or a registry section, ...)')
    // No default here: the config file's logLevel applies unless the option is given.
    .addOption(logLevelOption("(default: the config file's logLevel, else info)"))
    .action(gateway);

  const admin = program.command('admin').description("operate a store (local or a gateway's) or the registry");
  const storeChoice = (c: Command): Command =>
    c.addOption(dataOption()).option('--config <file>', "a gateway's config file instead of --data");
  storeChoice(
    admin
      .command('status')
      .description('backends, their health and space, failed reservations, chunks below full redundancy')
      .option('--json', 'the same as one JSON document'),
  ).action(status);
  storeChoice(admin.command('repair').description('one repair pass now, with progress')).action(repair);

  const key = admin.command('key').description('access keys other than root (secrets sealed under the master key)');
  key
    .command('create')
    .description('a new key; its secret is printed once')
    .addOption(dataOption())
    .option('--name <name>', 'a label', '')
    .option('--create-buckets', 'may create buckets of its own (off by default)', false)
    .action(keyCreate);
  key.command('list').description('every key with its buckets').addOption(dataOption()).action(keyList);
  key.command('delete').description('delete a key').argument('<key-id>').addOption(dataOption()).action(keyDelete);
  for (const action of ['allow', 'deny'] as const) {
    key
      .command(action)
      .description(action === 'allow' ? 'give a key an account-level right' : 'take it back')
      .argument('<key-id>')
      .option('--create-buckets', 'create buckets, which it then owns', false)
      .addOption(dataOption())
      .action((id: string, o) => keyRight(action, id, o));
  }

  const kms = admin.command('kms').description('KMS keys of SSE-KMS (each sealed under the master key, never printed)');
  kms
    .command('create')
    .description('a new 256-bit KMS key; prints its id and ARN')
    .argument('<key-id>')
    .addOption(dataOption())
    .action(kmsCreate);
  kms.command('list').description('every KMS key').addOption(dataOption()).action(kmsList);
  kms
    .command('delete')
    .description('delete a KMS key: the objects encrypted with it become unreadable')
    .argument('<key-id>')
    .addOption(dataOption())
    .option('--force', 'delete although its objects become unreadable')
    .action(kmsDelete);

  const grants = admin.command('bucket').description("a key's rights on a bucket");
  for (const action of ['allow', 'deny'] as const) {
    grants
      .command(action)
      .description(action === 'allow' ? 'give a key rights on a bucket' : 'take rights back')
      .argument('<bucket>')
      .requiredOption('--key <key-id>', 'the access key')
      .option('--read', 'read objects', false)
      .option('--write', 'write and delete objects', false)
      .option('--owner', 'bucket settings and grants', false)
      .addOption(dataOption())
      .action((name: string, o) => bucket(action, name, o));
  }

  const operator = (c: Command): Command =>
    c
      .option('--registry <url>', `the registry (default: QSTOR_REGISTRY, else ${DEFAULT_REGISTRY})`)
      .option('--admin-token <token>', 'the registry admin token (or QSTOR_REGISTRY_ADMIN_TOKEN)')
      .option('--admin-token-file <file>', 'the file holding it');
  const farmer = (c: Command): Command =>
    c
      .option('--registry <url>', `the registry (default: QSTOR_REGISTRY, else ${DEFAULT_REGISTRY})`)
      .option('--farm <id>', "the farm (checked against the token's)")
      .option('--farm-token <token>', 'the farmer token (or QSTOR_FARM_TOKEN)')
      .option('--farm-token-file <file>', 'the file holding it');
  const farm = admin
    .command('farm')
    .description("farms (the operator) and the stores each farm's nodes serve (its farmer)");
  operator(
    farm
      .command('create')
      .description('a farm; prints its farmer token once')
      .requiredOption('--name <name>', 'the farm name'),
  ).action(farmCreate);
  farmer(
    farm
      .command('admit')
      .description("let a store use the farm's nodes")
      .requiredOption('--store <key>', "the store's public key (64 hex digits)")
      .requiredOption('--rights <list>', 'storage, compute or storage,compute')
      .option('--node <id>', 'only this node')
      .option('--days <d>', 'for this long (default: until revoked)', positive),
  ).action(farmAdmit);
  farmer(
    farm
      .command('revoke')
      .description('admit a store no more')
      .requiredOption('--store <key>', "the store's public key"),
  ).action(farmRevoke);
  farmer(farm.command('stores').description('the stores the farm admitted')).action(farmStores);
  operator(admin.command('nodes').description('nodes, disks, space, last heartbeat, state')).action(nodes);

  program
    .command('meta')
    .description('the metadata database')
    .command('rebuild')
    .description('the metadata database from the backends and the master key')
    .addOption(dataOption())
    .action(metaRebuild);

  program
    .command('registry')
    .description('the registry of farms and nodes on its own (tables in DIR/meta.db)')
    .addOption(dataOption())
    .option('--port <n>', 'listen port', integer(0, 65535), 9800)
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--admin-token-file <file>', 'the admin token (default: DIR/registry-admin.token, made on first start)')
    .option('--down-after <seconds>', 'a node silent this long is down', positive, 30)
    .action(registry);

  program
    .command('agent')
    .description('the node agent: a zdb per disk, registration, heartbeats, reservations')
    .requiredOption('--config <file>', 'the agent config file (see src/agent/README.md)')
    .action(agent);

  flistCommands(program.command('flist').description('container images as flists: made, read, mounted, run'));

  program
    .command('zdb')
    .description("one zdb backend, with 0-db's flags (zdb --help lists them)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action((flags: string[]) => zdb(flags));
  program.addHelpText(
    'after',
    () => `\nEvery command (qstor help COMMAND... for its options):\n${synopsis(program).join('\n')}\n`,
  );
  return program;
}

/** `--log-level`: the gateway log's level (DIR/gateway.log); info writes one line per S3 request. */
function logLevelOption(note = ''): Option {
  return new Option('--log-level <level>', `the gateway log's level ${note}`.trim()).choices(LOG_LEVELS);
}

/** One line per command that runs something: its path, arguments and options (required ones unbracketed). */
export function synopsis(c: Command, path: string[] = []): string[] {
  const here = [...path, c.name()];
  const subs = c.commands.filter((s) => s.name() !== 'help');
  if (subs.length > 0) return subs.flatMap((s) => synopsis(s, here));
  if (c.name() === 'zdb') return [`${here.join(' ')} [zdb flags...]`];
  const args = c.registeredArguments.map((a) =>
    a.required ? `<${a.name()}>` : `[${a.name()}${a.variadic ? '...' : ''}]`,
  );
  const options = c.options.map((o) => {
    const flag = `${o.long ?? o.short}${o.flags.includes('<') ? ` ${o.flags.slice(o.flags.indexOf('<'))}` : ''}`;
    return o.mandatory ? flag : `[${flag}]`;
  });
  // `flist run`: the command comes last, after --.
  const command = c.name() === 'run' ? args.splice(1, 1).map(() => '-- <cmd> [args...]') : [];
  return [[...here, ...args, ...options, ...command].join(' ')];
}

/** Loaded on demand: FUSE, snappy and the codec pool are no business of the daemons. */
function flistCommands(flist: Command): void {
  const load = (): Promise<typeof import('./flist.js')> => import('./flist.js');
  const mount = (): Promise<typeof import('./flist-mount.js')> => import('./flist-mount.js');
  const reading = (c: Command): Command =>
    c
      .option(
        '--store <url>',
        'a store to read blocks from instead of the recorded one (repeatable; the password stripped at create goes here)',
        collect,
      )
      .option('--cache <dir>', 'the verified block cache');
  flist
    .command('create')
    .description('an flist of a directory or a docker save / OCI image tarball')
    .requiredOption('--from <path>', 'a directory or an image tarball')
    .requiredOption(
      '--store <url>',
      'where blocks go (repeatable): zdb://host:port/ns, s3://KEY:SECRET@host:port/bucket, dir:///path; each may start with a range, 00-7f=URL',
      collect,
    )
    .requiredOption('-o, --out <file>', 'the .fl file to write')
    .option('--tag <key=value>', 'a tag (repeatable)', collect)
    .option('--no-strip-password', 'keep store passwords in the flist')
    .action(async (o) => (await load()).create(o));
  flist
    .command('ls')
    .description('the tree, in long format')
    .argument('<flist>')
    .argument('[path]')
    .action(async (file: string, at?: string) => (await load()).ls(file, at));
  flist
    .command('inspect')
    .description('tags, routes and counts')
    .argument('<flist>')
    .action(async (file: string) => (await load()).inspect(file));
  reading(flist.command('cat').description("one file's bytes on stdout").argument('<flist>').argument('<path>')).action(
    async (file: string, at: string, o) => (await load()).cat(file, at, o),
  );
  reading(
    flist.command('unpack').description('every file into a directory').argument('<flist>').argument('<dest>'),
  ).action(async (file: string, dest: string, o) => (await load()).unpack(file, dest, o));
  reading(
    flist.command('mount').description('FUSE, read-only, until Ctrl-C').argument('<flist>').argument('<mountpoint>'),
  ).action(async (file: string, mp: string, o) => (await mount()).flistMount(file, mp, o));
  flist
    .command('umount')
    .description('end a mount')
    .argument('<mountpoint>')
    .action(async (mp: string) => (await mount()).flistUmount(mp));
  reading(
    flist
      .command('run')
      .description('CMD in the flist (overlay, own namespaces; needs root)')
      .usage('[options] <flist> -- <cmd> [args...]')
      .argument('<flist>')
      .argument('[cmd...]', 'the command, after --')
      .option('--user <uid:gid>', 'run as UID:GID, no capabilities, no-new-privs'),
  ).action(async (file: string, cmd: string[], o) => (await mount()).flistRun(file, cmd, o));
}

/** `qstor zdb ...`: the zdb program with its own (0-db's) flags, passed through untouched. */
function zdb(argv: string[]): void {
  const child = spawn(process.execPath, [ZDB_MAIN, ...argv], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
}
