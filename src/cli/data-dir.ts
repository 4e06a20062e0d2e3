import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { lockDir, type DirLock } from '../util/dir-lock.js';
import { CliError } from './errors.js';

/** Why a directory cannot be made, in words that point at the fix. */
const REASONS: Record<string, string> = {
  EEXIST: 'a file (not a directory) has that name',
  ENOTDIR: 'a part of the path is a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOENT: 'no directory can be made there',
};

/**
 * Makes (0700) and locks the data directory of `option` (`--data DIR`, or a config file's
 * `data`). A directory that cannot be made is one line naming the option and the fix, not a
 * stack trace.
 */
export function lockDataDir(dir: string, option: string): DirLock {
  try {
    makeDirectory(dir, 0o700);
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new CliError(
      'INVALID_OPTION',
      `${option} ${dir}: ${REASONS[code] ?? (e as Error).message}; name a directory this user may create and write`,
      { cause: e },
    );
  }
  return lockDir(dir, 'data directory');
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir never returns where a parent answers
 * ENOENT to a new entry (`--data /proc/nope` hung the start); here that is an error.
 */
function makeDirectory(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !fs.existsSync(at); at = path.dirname(at)) {
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const level of missing) fs.mkdirSync(level, { mode });
}

/** Refuses a port another process listens on (before anything starts), naming the option that moves it. */
export async function requireFreePort(port: number, host: string, option: string): Promise<void> {
  if (port === 0) return;
  const taken = await new Promise<string | null>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
  if (taken === 'EADDRINUSE')
    throw new CliError(
      'INVALID_OPTION',
      `port ${port} on ${host} is in use by another program: choose another with ${option} N`,
    );
  if (taken === 'EACCES')
    throw new CliError(
      'INVALID_OPTION',
      `port ${port} on ${host} needs privileges: choose one above 1023 with ${option} N`,
    );
  if (taken !== null)
    throw new CliError(
      'INVALID_OPTION',
      `cannot listen on ${host}:${port} (${taken}): check --host, or choose another port with ${option} N`,
    );
}
