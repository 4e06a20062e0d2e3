import { parseArgs } from 'node:util';
import { FlistError } from '../flist/errors.js';
import { isMounted, mountFlist, openFlist, unmountPath } from '../flist/mount.js';
import { runInFlist } from '../flist/run.js';
import { CliError } from './errors.js';
import { FLIST_USAGE, READ_OPTIONS } from './flist-usage.js';

/** `qstor flist mount`: serves the mount until SIGINT/SIGTERM or until it is unmounted from outside. */
export async function flistMount(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: READ_OPTIONS });
  if (positionals.length !== 2) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const f = await openFlist(positionals[0]!, { stores: values.store, cacheDir: values.cache });
  const m = await mountFlist(f, positionals[1]!, {
    onReadError: (path, err) => process.stderr.write(`qstor flist: read ${path}: ${(err as Error).message}\n`),
  });
  process.stdout.write(`mounted ${positionals[0]} on ${m.mountpoint}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // `qstor flist umount` (fusermount -u) ends the mount from outside: notice and exit.
    const poll = setInterval(() => {
      isMounted(m.mountpoint).then((yes) => yes || stop(), stop);
    }, 1000);
    poll.unref();
  });
  await m.unmount();
  await f.close();
  // fuse-native's thread keeps the event loop alive after unmounting.
  process.exit(0);
}

export async function flistUmount(argv: string[]): Promise<void> {
  if (argv.length !== 1) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  await unmountPath(argv[0]!);
}

/** `qstor flist run FILE.fl [options] -- CMD...`: exits with the command's exit code. */
export async function flistRun(argv: string[]): Promise<void> {
  const dash = argv.indexOf('--');
  if (dash < 0) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const { values, positionals } = parseArgs({ args: argv.slice(0, dash), allowPositionals: true, options: { ...READ_OPTIONS, user: { type: 'string' } } });
  if (positionals.length !== 1) throw new CliError('USAGE', `usage:\n${FLIST_USAGE}`);
  const user = values.user === undefined ? undefined : /^(\d+):(\d+)$/.exec(values.user);
  if (user === null) throw new CliError('INVALID_OPTION', `--user: UID:GID (numbers), not ${values.user}`);
  if (process.getuid?.() !== 0) throw new FlistError('MOUNT', 'flist run needs root (FUSE, overlayfs, namespaces)');
  const f = await openFlist(positionals[0]!, { stores: values.store, cacheDir: values.cache });
  let code: number;
  try {
    code = await runInFlist(f, argv.slice(dash + 1), { user: user && { uid: Number(user[1]), gid: Number(user[2]) } });
  } finally {
    await f.close();
  }
  process.exitCode = code;
}
