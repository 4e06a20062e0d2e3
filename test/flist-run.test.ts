// `qstor flist run` with Debian's busybox-static as the rootfs: a shell command in its own
// mount and pid namespaces, writes going to a throwaway layer, everything unmounted after.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qstor } from './helpers/flist-tree.js';

const BUSYBOX = '/bin/busybox';
let tmp: string;
let fl: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-run-'));
  const root = path.join(tmp, 'rootfs');
  await fs.mkdir(path.join(root, 'bin'), { recursive: true });
  await fs.mkdir(path.join(root, 'etc'));
  await fs.copyFile(BUSYBOX, path.join(root, 'bin/busybox'));
  await fs.chmod(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'echo', 'ps', 'ls']) await fs.symlink('busybox', path.join(root, 'bin', applet));
  await fs.writeFile(path.join(root, 'etc/motd'), 'from the flist\n');
  fl = path.join(tmp, 'busybox.fl');
  await qstor(['flist', 'create', '--from', root, '--store', `dir://${tmp}/store`, '-o', fl]);
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Mounts `flist run` made (under its qstor-run-* directory; other suites' mounts may be up meanwhile). */
function runMounts(): string[] {
  return execFileSync('cat', ['/proc/self/mounts'])
    .toString()
    .split('\n')
    .filter((l) => l.includes('/qstor-run-'));
}

describe('qstor flist run', () => {
  it('runs a shell command in the flist, with a writable layer, its own pid namespace and exit code', async () => {
    const before = await fs.readFile(fl);
    const script =
      'cat /etc/motd; echo changed > /etc/motd; cat /etc/motd; echo new > /created; cat /created; echo pid=$$; exit 7';
    const r = await qstor(['flist', 'run', fl, '--', '/bin/sh', '-c', script], true);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('from the flist\nchanged\nnew\npid=1\n');
    // The flist and its blocks are untouched, and nothing stays mounted.
    expect((await fs.readFile(fl)).equals(before)).toBe(true);
    const again = await qstor(['flist', 'run', fl, '--', '/bin/sh', '-c', 'cat /etc/motd; ls /created 2>&1; true']);
    expect(again.stdout).toContain('from the flist\n');
    expect(again.stdout).toContain('No such file');
    expect(runMounts()).toEqual([]);
    const unpacked = path.join(tmp, 'check');
    await qstor(['flist', 'unpack', fl, unpacked]);
    expect(await fs.readFile(path.join(unpacked, 'etc/motd'), 'utf8')).toBe('from the flist\n');
  });
});
