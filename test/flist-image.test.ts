// Container images (docker save and OCI layout, gzip layers) to flists: layers applied in
// order with a whiteout and an opaque directory, hard links kept, .startup.toml as rfs writes it.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerSaveTar, layerTar, ociLayoutTar } from './helpers/flist-image.js';
import { describeTree, qstor, startMount } from './helpers/flist-tree.js';

let tmp: string;
let layers: Buffer[];
const config = {
  Entrypoint: ['/bin/app', '--serve'],
  Cmd: ['--port', '80'],
  Env: ['PATH=/usr/bin:/bin', 'GREETING=a "quoted" value'],
  WorkingDir: '/srv',
};

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-image-'));
  layers = [
    await layerTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/conf', content: 'v1' },
      { name: 'etc/removed', content: 'gone in layer 2' },
      { name: 'opt/app/', type: 'directory' },
      { name: 'opt/app/old-a', content: 'a' },
      { name: 'opt/app/sub/old-b', content: 'b' },
      { name: 'bin/app', content: '#!/bin/sh\necho app\n', mode: 0o755 },
      { name: 'bin/app-link', type: 'link', linkname: 'bin/app' },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'home/user/file', content: 'owned', uid: 1000, gid: 1000, mode: 0o600 },
    ]),
    await layerTar([
      { name: 'etc/.wh.removed' },
      { name: 'etc/conf', content: 'v2 from the upper layer' },
      { name: 'opt/app/.wh..wh..opq' },
      { name: 'opt/app/new', content: 'only this survives in opt/app' },
      { name: 'srv/', type: 'directory', mode: 0o700 },
    ]),
  ];
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function expected(root: string) {
  return [
    ['/', 'dir'],
    ['.startup.toml', 'file'],
    ['bin', 'dir'],
    ['bin/app', 'file', '#!/bin/sh\necho app\n'],
    ['bin/app-link', 'file', '#!/bin/sh\necho app\n'],
    ['bin/sh', 'symlink'],
    ['etc', 'dir'],
    ['etc/conf', 'file', 'v2 from the upper layer'],
    ['home', 'dir'],
    ['home/user', 'dir'],
    ['home/user/file', 'file', 'owned'],
    ['opt', 'dir'],
    ['opt/app', 'dir'],
    ['opt/app/new', 'file', 'only this survives in opt/app'],
    ['srv', 'dir'],
  ].map(([p, type, content]) => ({ p, type, content, root }));
}

async function check(root: string): Promise<void> {
  const tree = await describeTree(root);
  expect(tree.map((e) => [e.path, e.type])).toEqual(expected(root).map((e) => [e.p, e.type]));
  for (const e of expected(root))
    if (e.content !== undefined) expect(await fs.readFile(path.join(root, e.p!), 'utf8')).toBe(e.content);
  const byPath = Object.fromEntries(tree.map((e) => [e.path, e]));
  expect(byPath['home/user/file']).toMatchObject({ uid: 1000, gid: 1000, mode: 0o100600 });
  expect(byPath['bin/app']!.mode).toBe(0o100755);
  expect(byPath['srv']!.mode).toBe(0o40700);
  expect(byPath['bin/sh']!.target).toBe('busybox');
  const toml = await fs.readFile(path.join(root, '.startup.toml'), 'utf8');
  expect(toml).toContain('[startup.entry]\nname = "core.system"');
  expect(toml).toContain('args = ["--serve", "--port", "80"]');
  expect(toml).toContain('dir = "/srv"');
  expect(toml).toContain('name = "/bin/app"');
  expect(toml).toContain('"GREETING" = "a \\"quoted\\" value"');
}

describe('flist of a container image', () => {
  for (const form of ['docker-save', 'oci'] as const) {
    it(`${form}: the unpacked and the mounted trees are the merged layers`, async () => {
      const image = path.join(tmp, `${form}.tar`);
      await (form === 'oci' ? ociLayoutTar : dockerSaveTar)(image, layers, config);
      const fl = path.join(tmp, `${form}.fl`);
      await qstor(['flist', 'create', '--from', image, '--store', `dir://${tmp}/store`, '-o', fl]);
      const out = path.join(tmp, `${form}-out`);
      await qstor(['flist', 'unpack', fl, out]);
      await check(out);
      const mp = path.join(tmp, `${form}-mnt`);
      const m = await startMount(fl, mp);
      try {
        await check(mp);
      } finally {
        await m.stop();
      }
    });
  }

  it('refuses a tarball that is no image', async () => {
    const bad = path.join(tmp, 'bad.tar');
    await fs.writeFile(bad, await layerTar([{ name: 'hello', content: 'x' }]));
    const r = await qstor(
      ['flist', 'create', '--from', bad, '--store', `dir://${tmp}/store`, '-o', path.join(tmp, 'bad.fl')],
      true,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('neither a docker save tarball');
    await expect(fs.access(path.join(tmp, 'bad.fl'))).rejects.toThrow();
  });
});
