/** Test trees for flists: one with every file type and odd names, and a lstat-level description to compare trees. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const QSTOR = path.resolve('bin/qstor.js');
export const BLOCK = 512 * 1024;

/** Seeded bytes that snappy cannot shrink much. */
export function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const T = 1_700_000_000;

/** Every file type rfs keeps (no sockets: nothing can unpack them), odd names, block-edge sizes, owners, modes and times. */
export async function makeTree(root: string): Promise<void> {
  await fsp.mkdir(path.join(root, 'dir/sub/deeper'), { recursive: true });
  const files: Array<[string, Buffer, number]> = [
    ['empty', Buffer.alloc(0), 0o644],
    ['exact-block', bytes(BLOCK, 1), 0o644],
    ['block-plus-one', bytes(BLOCK + 1, 2), 0o600],
    ['three-blocks', bytes(3 * BLOCK + 1234, 3), 0o755],
    ['dir/sub/deeper/small.txt', Buffer.from('hello flist\n'), 0o444],
    ['with space & "quotes"', Buffer.from('odd name'), 0o640],
    ['ünïcødé-名前', Buffer.from('unicode'), 0o644],
    ['new\nline', Buffer.from('newline in name'), 0o644],
    ['setuid', Buffer.from('#!/bin/sh\n'), 0o4755],
    ['dir/zeros', Buffer.alloc(2 * BLOCK), 0o644],
  ];
  for (const [name, data, mode] of files) {
    await fsp.writeFile(path.join(root, name), data);
    await fsp.chmod(path.join(root, name), mode);
  }
  await fsp.chown(path.join(root, 'block-plus-one'), 1234, 5678);
  await fsp.chmod(path.join(root, 'block-plus-one'), 0o600);
  await fsp.symlink('dir/sub/deeper/small.txt', path.join(root, 'link-rel'));
  await fsp.symlink('/nonexistent/target', path.join(root, 'dir/dangling'));
  await fsp.link(path.join(root, 'three-blocks'), path.join(root, 'dir/hard-link'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  execFileSync('mknod', [path.join(root, 'dir/null-dev'), 'c', '1', '3']);
  execFileSync('mknod', [path.join(root, 'dir/blk-dev'), 'b', '7', '200']);
  await fsp.chmod(path.join(root, 'dir/sub'), 0o750);
  // Times last, deepest first, so setting them does not disturb the parents'.
  const all = execFileSync('find', [root, '-depth', '-print0']).toString().split('\0').filter(Boolean);
  all.forEach((p, i) => execFileSync('touch', ['-h', '-d', `@${T + i * 3600}`, p]));
}

export interface Entry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  mtime: number;
  target?: string;
  rdev?: number;
  sha256?: string;
}

/** Everything the tests compare, per path (directory sizes left out: they are the filesystem's own). */
export async function describeTree(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const full = rel ? path.join(root, rel) : root;
    const st = await fsp.lstat(full);
    const type = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFIFO()
            ? 'fifo'
            : st.isCharacterDevice()
              ? 'chr'
              : st.isBlockDevice()
                ? 'blk'
                : 'other';
    const e: Entry = {
      path: rel || '/',
      type,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (type !== 'dir') e.size = st.size;
    if (type === 'symlink') e.target = await fsp.readlink(full);
    if (type === 'chr' || type === 'blk') e.rdev = st.rdev;
    if (type === 'file') {
      const h = createHash('sha256');
      for await (const c of fs.createReadStream(full)) h.update(c as Buffer);
      e.sha256 = h.digest('hex');
    }
    out.push(e);
    if (type === 'dir') for (const name of (await fsp.readdir(full)).sort()) await walk(rel ? `${rel}/${name}` : name);
  };
  await walk('');
  return out;
}

/** `qstor flist ...` run to completion; its stdout. */
export async function qstor(
  args: string[],
  allowFail = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [QSTOR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0 && !allowFail) throw new Error(`qstor ${args.join(' ')} exited ${code}: ${stderr}`);
  return { code, stdout, stderr };
}

export interface MountProcess {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** `qstor flist mount` as its own process (a FUSE server must not be read from its own thread). */
export async function startMount(fl: string, mountpoint: string, extra: string[] = []): Promise<MountProcess> {
  const child = spawn(process.execPath, [QSTOR, 'flist', 'mount', fl, mountpoint, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('mounted') && resolve());
    child.on('exit', (code) => reject(new Error(`mount exited ${code}: ${stderr}`)));
  });
  return {
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      }
      // Never leave a mount behind, whatever happened to the process.
      try {
        execFileSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
      } catch {
        /* not mounted */
      }
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
