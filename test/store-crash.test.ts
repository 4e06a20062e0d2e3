import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { Deleter } from '../src/store/deleter.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');
const DIST = path.resolve('dist/src');

/** A store process that PUTs an endless object, printing a line per chunk stored. */
function writerScript(dir: string, ports: number[]): string {
  return `
import { SqliteMetaStore } from '${DIST}/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '${DIST}/pipeline/pool.js';
import { BackendPool } from '${DIST}/store/backend-pool.js';
import { ObjectStore } from '${DIST}/store/object-store.js';
const ports = ${JSON.stringify(ports)};
const backends = new BackendPool(ports.map((port, i) => ({ id: 'b' + i, farm: 'f' + (i % 3), node: 'n' + i, host: '127.0.0.1', port, namespace: 'default', freeBytes: 0, state: 'up' })));
const meta = new SqliteMetaStore(${JSON.stringify(path.join(dir, 'meta.db'))});
const store = new ObjectStore({ meta, backends, pipeline: new PipelinePool({ threads: 1 }), masterKey: Buffer.alloc(32, 7), chunkSize: 65536 });
await store.createBucket('b');
await store.put('b', 'committed', (async function* () { yield Buffer.alloc(100000, 1); })());
process.stdout.write('committed\\n');
let n = 0;
await store.put('b', 'partial', (async function* () {
  for (;;) { process.stdout.write('chunk ' + n++ + '\\n'); yield Buffer.alloc(65536, n & 255); await new Promise((r) => setTimeout(r, 5)); }
})());
`;
}

let zdbs: ZdbProcess[] = [];
afterEach(async () => {
  await Promise.all(zdbs.map((z) => z.stop()));
  zdbs = [];
});

describe('store process killed mid-PUT', () => {
  it('shows no partial object after restart, and collects the orphan shards', async () => {
    zdbs = await Promise.all(Array.from({ length: 6 }, () => startZdb({ bin: ZDB, args: ['--sync'] })));
    const dir = fs.mkdtempSync(path.join(zdbs[0]!.dataDir, '..', 'store-'));
    const script = path.join(dir, 'writer.mjs');
    fs.writeFileSync(
      script,
      writerScript(
        dir,
        zdbs.map((z) => z.port),
      ),
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/chunk 20\n/.test(out)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${err}`)));
    });
    await new Promise((r) => child.once('exit', r));

    const backends = new BackendPool(
      zdbs.map((z, i) => ({
        id: `b${i}`,
        farm: `f${i % 3}`,
        node: `n${i}`,
        host: z.host,
        port: z.port,
        namespace: 'default',
        freeBytes: 0,
        state: 'up' as const,
      })),
    );
    const shardKeys = async (): Promise<number> => {
      let n = 0;
      for (let i = 0; i < zdbs.length; i++)
        for await (const e of backends.client(`b${i}`).scanAll()) if (!e.key.toString().startsWith('meta:')) n++;
      return n;
    };
    const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
    try {
      expect(await meta.getObject('b', 'partial')).toBeNull();
      const committed = (await meta.getObject('b', 'committed'))!;
      const committedShards = committed.chunks.reduce((n, c) => n + c.shards.length, 0);
      expect(await shardKeys()).toBeGreaterThan(committedShards); // orphans of the partial PUT
      expect(await meta.recoverPendingWrites()).toBeGreaterThan(0);
      await new Deleter(meta, backends).drain();
      expect(await shardKeys()).toBe(committedShards);
      for (const c of committed.chunks)
        for (const s of c.shards) expect(await backends.client(s.backend).check(s.key)).toBe(true);
    } finally {
      await meta.close();
      await backends.close();
    }
  });
});
