/**
 * An exclusive lock on a directory: flock(2) on the directory itself, so no file is added to
 * a layout other tools read (0-db's data and index directories), and the kernel drops the lock
 * when its holder dies, however it dies. Taken before anything in the directory is read: two
 * processes on one directory destroy each other's data.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { CodedError } from './coded-error.js';

interface FsExt {
  flockSync(fd: number, flags: 'exnb' | 'un'): void;
}
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

export class DirLockError extends CodedError<'DIR_LOCKED' | 'DIR_LOCK_FAILED'> {}

export interface DirLock {
  readonly dir: string;
  /** The locked descriptor: a child given it (spawn's stdio) holds the lock as long as it lives. */
  readonly fd: number;
  release(): void;
}

/** Locks `dir` (which must exist) or throws DIR_LOCKED naming the holder's pid when known. */
export function lockDir(dir: string, what: string): DirLock {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (e) {
    fs.closeSync(fd);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      const pid = lockHolder(dir);
      throw new DirLockError('DIR_LOCKED', `${what} ${dir} is in use by another process${pid ? ` (pid ${pid})` : ''}`);
    }
    throw new DirLockError('DIR_LOCK_FAILED', `cannot lock ${what} ${dir}: ${code ?? (e as Error).message}`, {
      cause: e,
    });
  }
  let held = true;
  return {
    dir,
    fd,
    release(): void {
      if (!held) return;
      held = false;
      fs.closeSync(fd); // closing the descriptor drops the flock
    },
  };
}

/** The pid holding a flock on `dir`, from /proc/locks (Linux); undefined elsewhere or unknown. */
export function lockHolder(dir: string): number | undefined {
  try {
    const st = fs.statSync(dir);
    const inode = String(st.ino);
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      // "1: FLOCK  ADVISORY  WRITE 12345 08:01:393219 0 EOF"
      const f = line.trim().split(/\s+/);
      if (f[1] !== 'FLOCK' || f[3] !== 'WRITE') continue;
      const dev = f[5]?.split(':');
      if (dev?.[2] === inode) return Number(f[4]);
    }
  } catch {
    // no /proc/locks: the message goes without a pid
  }
  return undefined;
}
