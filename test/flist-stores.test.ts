// Blocks in real stores: a zdb process (EXISTS before SET: a second flist of the same files
// writes nothing), a plain HTTP server (read-only), and qstor's own S3 gateway over 6 zdb backends, two of them killed before
// the mount reads.
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZdbClient } from '../src/zdb-client/index.js';
import { startGateway, ROOT } from './helpers/gateway-harness.js';
import { BLOCK, bytes, qstor, startMount } from './helpers/flist-tree.js';
import { ZDB } from './helpers/store-harness.js';
import { startZdb } from './helpers/zdb-process.js';

let tmp: string;
let src: string;
const files: Record<string, Buffer> = {
  'a.bin': bytes(2 * BLOCK + 99, 21),
  'b.bin': bytes(BLOCK, 22),
  'small.txt': Buffer.from('small\n'),
};

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-stores-'));
  src = path.join(tmp, 'src');
  await fs.mkdir(src);
  for (const [name, data] of Object.entries(files)) await fs.writeFile(path.join(src, name), data);
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function readAll(mp: string): Promise<void> {
  for (const [name, data] of Object.entries(files))
    expect((await fs.readFile(path.join(mp, name))).equals(data)).toBe(true);
}

describe('flist stores', () => {
  it('zdb://: blocks under their ids in a user namespace, none written twice, mount reads them', async () => {
    const zdb = await startZdb({ bin: ZDB });
    const client = new ZdbClient({ host: zdb.host, port: zdb.port });
    try {
      await client.nsnew('flist');
      const url = `zdb://${zdb.host}:${zdb.port}/flist`;
      const first = JSON.parse(
        (await qstor(['flist', 'create', '--from', src, '--store', url, '-o', path.join(tmp, 'z1.fl')])).stdout,
      );
      expect(first).toMatchObject({ blocks: 5, uploaded: 5, present: 0 });
      const ns = new ZdbClient({ host: zdb.host, port: zdb.port, namespace: 'flist' });
      const entries = async () => (await ns.nsinfo('flist')).entries;
      expect(await entries()).toBe(5);
      const second = JSON.parse(
        (await qstor(['flist', 'create', '--from', src, '--store', url, '-o', path.join(tmp, 'z2.fl')])).stdout,
      );
      expect(second).toMatchObject({ uploaded: 0, present: 5 });
      expect(await entries()).toBe(5);
      await ns.close();
      const mp = path.join(tmp, 'zmnt');
      const m = await startMount(path.join(tmp, 'z2.fl'), mp);
      try {
        await readAll(mp);
      } finally {
        await m.stop();
      }
    } finally {
      await client.close();
      await zdb.stop();
    }
  });

  it('http://: reads blocks served as files (ab/<hex>, or <hex> at the top as rfs falls back to), and refuses writes', async () => {
    const store = path.join(tmp, 'http-store');
    const fl = path.join(tmp, 'h.fl');
    await qstor(['flist', 'create', '--from', src, '--store', `dir://${store}`, '-o', fl]);
    // One block moved to the legacy flat layout.
    const [sub] = await fs.readdir(store);
    const [moved] = await fs.readdir(path.join(store, sub!));
    await fs.rename(path.join(store, sub!, moved!), path.join(store, moved!));
    const server = http.createServer((req, res) => {
      fs.readFile(
        path.join(store, path.normalize(decodeURIComponent(req.url ?? '/')).replace(/^(\.\.[/\\])+/, '')),
      ).then(
        (data) => res.end(data),
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      const out = path.join(tmp, 'h-out');
      await qstor(['flist', 'unpack', fl, out, '--store', url]);
      for (const [name, data] of Object.entries(files))
        expect((await fs.readFile(path.join(out, name))).equals(data)).toBe(true);
      // Blocks it already has need no write; a new one does, and cannot be written.
      const fresh = path.join(tmp, 'h-fresh');
      await fs.mkdir(fresh);
      await fs.writeFile(path.join(fresh, 'new'), 'not in the http store');
      const r = await qstor(['flist', 'create', '--from', fresh, '--store', url, '-o', path.join(tmp, 'h2.fl')], true);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('read-only store');
    } finally {
      server.close();
    }
  });

  it('s3:// to qstor: blocks erasure-coded in the store; with 2 of 6 zdb backends killed the mount still reads correct bytes', async () => {
    const g = await startGateway();
    try {
      await g.client().send(new CreateBucketCommand({ Bucket: 'flists' }));
      const url = `s3://${ROOT.accessKeyId}:${ROOT.secretAccessKey}@127.0.0.1:${g.port}/flists`;
      const fl = path.join(tmp, 's3.fl');
      const made = JSON.parse((await qstor(['flist', 'create', '--from', src, '--store', url, '-o', fl])).stdout);
      expect(made).toMatchObject({ uploaded: 5 });
      const inspect = JSON.parse((await qstor(['flist', 'inspect', fl])).stdout);
      // The secret is not written into the flist; the reader names the store again.
      expect(inspect.routes[0].url).toBe(`s3://${ROOT.accessKeyId}@127.0.0.1:${g.port}/flists`);
      g.h.zdbs[0]!.kill('SIGKILL');
      g.h.zdbs[3]!.kill('SIGKILL');
      const mp = path.join(tmp, 's3mnt');
      const m = await startMount(fl, mp, ['--store', url]);
      try {
        await readAll(mp);
      } finally {
        await m.stop();
      }
    } finally {
      await g.close();
    }
  });
});
