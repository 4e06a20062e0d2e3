import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FlistError } from './errors.js';
import { mountFlist, type Mounted, type OpenedFlist } from './mount.js';

const exec = promisify(execFile);

async function sh(cmd: string, args: string[]): Promise<void> {
  try {
    await exec(cmd, args);
  } catch (err) {
    throw new FlistError('MOUNT', `${cmd} ${args.join(' ')}: ${(err as Error).message}`, { cause: err });
  }
}

export interface RunOptions {
  /** Where the child's output goes (inherit by default). */
  stdio?: 'inherit' | 'pipe';
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /**
   * Run the command as this uid:gid, with no capabilities (none effective, permitted,
   * inheritable or ambient; the bounding set cut to what chroot needs to switch user) and
   * no-new-privs, so no setuid file gives any back. As root, with every capability, when left out.
   */
  user?: { uid: number; gid: number };
}

/** chroot into `root`, as `user` with no privileges when given (util-linux setpriv, coreutils chroot). */
function chrootCommand(root: string, user: RunOptions['user']): string[] {
  if (!user) return ['chroot', root];
  return [
    'setpriv',
    '--no-new-privs',
    '--inh-caps=-all',
    '--ambient-caps=-all',
    '--bounding-set=-all,+sys_chroot,+setuid,+setgid',
    'chroot',
    `--userspec=${user.uid}:${user.gid}`,
    '--groups=',
    root,
  ];
}

/**
 * Runs `command` inside the flist: FUSE mount (read-only lower), a tmpfs for the writable
 * upper layer, overlayfs over both, then the command chrooted there in new mount and pid
 * namespaces (util-linux `unshare`, /proc of its own). Everything is unmounted afterwards,
 * whatever the command did; the writable layer is thrown away. Resolves with the exit code.
 * Needs root. Only asynchronous calls here: this process serves the FUSE mount.
 */
export async function runInFlist(flist: OpenedFlist, command: string[], o: RunOptions = {}): Promise<number> {
  if (command.length === 0) throw new FlistError('MOUNT', 'no command to run');
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'qstor-run-'));
  const lower = path.join(base, 'lower');
  const rw = path.join(base, 'rw');
  const merged = path.join(base, 'merged');
  const undo: Array<() => Promise<unknown>> = [];
  let mounted: Mounted | undefined;
  try {
    await Promise.all([fs.mkdir(lower), fs.mkdir(rw), fs.mkdir(merged)]);
    mounted = await mountFlist(flist, lower);
    undo.push(() => mounted!.unmount());
    await sh('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'qstor-rw', rw]);
    undo.push(() => sh('umount', ['-l', rw]));
    await Promise.all([fs.mkdir(path.join(rw, 'upper')), fs.mkdir(path.join(rw, 'work'))]);
    await sh('mount', [
      '-t',
      'overlay',
      'qstor-overlay',
      '-o',
      `lowerdir=${lower},upperdir=${rw}/upper,workdir=${rw}/work`,
      merged,
    ]);
    undo.push(() => sh('umount', ['-l', merged]));
    await fs.mkdir(path.join(merged, 'proc'), { recursive: true });
    const child = spawn(
      'unshare',
      ['--mount', '--pid', '--fork', `--mount-proc=${merged}/proc`, ...chrootCommand(merged, o.user), ...command],
      { stdio: o.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit' },
    );
    child.stdout?.on('data', (c: Buffer) => o.onOutput?.('stdout', c));
    child.stderr?.on('data', (c: Buffer) => o.onOutput?.('stderr', c));
    return await new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(new FlistError('MOUNT', `unshare: ${err.message}`, { cause: err })));
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
  } finally {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    await fs.rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
}
