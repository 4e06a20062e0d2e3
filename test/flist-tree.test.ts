// A directory with every file type through `qstor flist create`, back out through unpack and
// through the FUSE mount; dedup across flists; a deleted block gives EIO for that file only.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK, bytes, describeTree, makeTree, qstor, startMount, type Entry } from './helpers/flist-tree.js';

let tmp: string;
let src: string;
let source: Entry[];

async function countBlocks(dir: string): Promise<number> {
  let n = 0;
  for (const sub of await fs.readdir(dir).catch(() => [])) n += (await fs.readdir(path.join(dir, sub))).length;
  return n;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-tree-'));
  src = path.join(tmp, 'src');
  await makeTree(src);
  source = await describeTree(src);
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('flist of a directory', () => {
  it('unpacks to the same tree: names, modes, owners, sizes, times, link targets, devices, sha256', async () => {
    const store = path.join(tmp, 'store-a');
    const fl = path.join(tmp, 'a.fl');
    const { stdout } = await qstor(['flist', 'create', '--from', src, '--store', `dir://${store}`, '-o', fl]);
    const stats = JSON.parse(stdout) as { blocks: number; uploaded: number };
    // The hard link shares blocks; the 1 MiB of zeros is two identical blocks.
    expect(stats.uploaded).toBeLessThan(stats.blocks);
    expect(await countBlocks(store)).toBe(stats.uploaded);
    const out = path.join(tmp, 'unpacked');
    await qstor(['flist', 'unpack', fl, out]);
    expect(await describeTree(out)).toEqual(source);
  });

  it('mounts with FUSE and reads the same tree, at any offset across block boundaries', async () => {
    const fl = path.join(tmp, 'a.fl');
    const mp = path.join(tmp, 'mnt');
    const m = await startMount(fl, mp, ['--cache', path.join(tmp, 'cache')]);
    try {
      expect(await describeTree(mp)).toEqual(source);
      const fh = await fs.open(path.join(mp, 'three-blocks'));
      try {
        const want = bytes(3 * BLOCK + 1234, 3);
        for (const [pos, len] of [
          [0, 10],
          [BLOCK - 5, 10],
          [2 * BLOCK - 1, BLOCK + 2],
          [3 * BLOCK + 1000, 5000],
        ] as const) {
          const buf = Buffer.alloc(len);
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          expect(buf.subarray(0, bytesRead)).toEqual(want.subarray(pos, pos + len));
        }
      } finally {
        await fh.close();
      }
      await expect(fs.writeFile(path.join(mp, 'empty'), 'x')).rejects.toThrow();
      // Blocks land in rfs's cache layout, ab/cd/<hex id>.
      const top = await fs.readdir(path.join(tmp, 'cache'));
      const second = await fs.readdir(path.join(tmp, 'cache', top[0]!));
      const [file] = await fs.readdir(path.join(tmp, 'cache', top[0]!, second[0]!));
      expect(file).toMatch(new RegExp(`^${top[0]}${second[0]}[0-9a-f]{60}$`));
    } finally {
      await m.stop();
    }
  });

  it('uploads the blocks two flists share once', async () => {
    const store = path.join(tmp, 'store-dedup');
    const one = path.join(tmp, 'one');
    const two = path.join(tmp, 'two');
    await fs.mkdir(one);
    await fs.mkdir(two);
    const shared = bytes(3 * BLOCK, 7);
    await fs.writeFile(path.join(one, 'shared'), shared);
    await fs.writeFile(path.join(one, 'only-one'), bytes(BLOCK, 8));
    await fs.writeFile(path.join(two, 'shared-copy'), shared);
    await fs.writeFile(path.join(two, 'only-two'), bytes(BLOCK + 10, 9));
    const a = JSON.parse(
      (await qstor(['flist', 'create', '--from', one, '--store', `dir://${store}`, '-o', path.join(tmp, 'one.fl')]))
        .stdout,
    );
    const b = JSON.parse(
      (await qstor(['flist', 'create', '--from', two, '--store', `dir://${store}`, '-o', path.join(tmp, 'two.fl')]))
        .stdout,
    );
    expect([a.uploaded, a.present]).toEqual([4, 0]);
    expect([b.uploaded, b.present]).toEqual([2, 3]);
    expect(await countBlocks(store)).toBe(6);
  });

  it('takes names that are not UTF-8 (stored as text, lossy, as rfs does)', async () => {
    const dir = path.join(tmp, 'latin1');
    await fs.mkdir(dir);
    await fs.writeFile(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]), 'latin-1 name');
    const fl = path.join(tmp, 'latin1.fl');
    await qstor(['flist', 'create', '--from', dir, '--store', `dir://${tmp}/store-latin1`, '-o', fl]);
    expect((await qstor(['flist', 'cat', fl, '/caf\ufffd'])).stdout).toBe('latin-1 name');
  });

  it('gives EIO for a file whose block is gone, and keeps serving the rest', async () => {
    const dir = path.join(tmp, 'eio-src');
    const store = path.join(tmp, 'store-eio');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'victim'), bytes(2 * BLOCK, 11));
    await fs.writeFile(path.join(dir, 'healthy'), bytes(BLOCK + 7, 12));
    const fl = path.join(tmp, 'eio.fl');
    await qstor(['flist', 'create', '--from', dir, '--store', `dir://${store}`, '-o', fl]);
    // The victim's blocks, from the flist itself.
    const db = new Database(fl, { readonly: true });
    const ids = db
      .prepare("SELECT hex(id) FROM block WHERE ino = (SELECT ino FROM inode WHERE name = 'victim') ORDER BY rowid")
      .pluck()
      .all() as string[];
    db.close();
    const victimBlocks = ids.map((h) => path.join(store, h.slice(0, 2).toLowerCase(), h.toLowerCase()));
    expect(victimBlocks).toHaveLength(2);
    await fs.rm(victimBlocks[1]!);
    const mp = path.join(tmp, 'mnt-eio');
    const m = await startMount(fl, mp);
    try {
      await expect(fs.readFile(path.join(mp, 'victim'))).rejects.toMatchObject({ code: 'EIO' });
      expect(await fs.readFile(path.join(mp, 'healthy'))).toEqual(bytes(BLOCK + 7, 12));
      // The part of the victim before the missing block still reads.
      const fh = await fs.open(path.join(mp, 'victim'));
      const buf = Buffer.alloc(1000);
      await fh.read(buf, 0, 1000, 0);
      await fh.close();
      expect(buf).toEqual(bytes(2 * BLOCK, 11).subarray(0, 1000));
      // Corrupt the first block too (a fresh mount, no cache): EIO, not wrong bytes.
      const data = await fs.readFile(victimBlocks[0]!);
      data[10]! ^= 0xff;
      await fs.writeFile(victimBlocks[0]!, data);
    } finally {
      await m.stop();
    }
    const m2 = await startMount(fl, mp);
    try {
      const fh = await fs.open(path.join(mp, 'victim'));
      await expect(fh.read(Buffer.alloc(100), 0, 100, 0)).rejects.toMatchObject({ code: 'EIO' });
      await fh.close();
      expect(m2.stderr()).toContain('does not match its id');
      expect(await fs.readFile(path.join(mp, 'healthy'))).toEqual(bytes(BLOCK + 7, 12));
    } finally {
      await m2.stop();
    }
  });
});
