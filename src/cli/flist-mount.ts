import { FlistError } from '../flist/errors.js';
import { isMounted, mountFlist, openFlist, unmountPath } from '../flist/mount.js';
import { runInFlist } from '../flist/run.js';
import { CliError } from './errors.js';
import { readingStores } from './flist-stores.js';

/** `--store` (repeatable) and `--cache`, which every reading subcommand takes. */
export interface ReadOptions {
  store?: string[];
  cache?: string;
}

/** `qstor flist mount`: serves the mount until SIGINT/SIGTERM or until it is unmounted from outside. */
export async function flistMount(file: string, mountpoint: string, o: ReadOptions): Promise<void> {
  const f = await openFlist(file, { stores: readingStores(file, o.store), cacheDir: o.cache });
  const m = await mountFlist(f, mountpoint, {
    onReadError: (path, err) => process.stderr.write(`qstor flist: read ${path}: ${(err as Error).message}\n`),
  });
  process.stdout.write(`mounted ${file} on ${m.mountpoint}\n`);
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

export async function flistUmount(mountpoint: string): Promise<void> {
  await unmountPath(mountpoint);
}

/** `qstor flist run FILE.fl [options] -- CMD...`: exits with the command's exit code. */
export async function flistRun(
  file: string,
  command: string[],
  values: ReadOptions & { user?: string },
): Promise<void> {
  if (command.length === 0)
    throw new CliError('USAGE', 'qstor flist run FILE.fl [options] -- CMD [ARGS...]: name the command after --');
  const user = values.user === undefined ? undefined : /^(\d+):(\d+)$/.exec(values.user);
  if (user === null) throw new CliError('INVALID_OPTION', `--user: UID:GID (numbers), not ${values.user}`);
  if (process.getuid?.() !== 0) throw new FlistError('MOUNT', 'flist run needs root (FUSE, overlayfs, namespaces)');
  const f = await openFlist(file, { stores: readingStores(file, values.store), cacheDir: values.cache });
  let code: number;
  try {
    code = await runInFlist(f, command, { user: user && { uid: Number(user[1]), gid: Number(user[2]) } });
  } finally {
    await f.close();
  }
  process.exitCode = code;
}
