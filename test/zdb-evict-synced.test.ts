import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ZdbClient } from '../src/zdb-client/index.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');
const exec = promisify(execFile);
const MiB = 1024 * 1024;

let server: ZdbProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Bytes of a file held in the page cache (util-linux fincore). */
async function cachedBytes(file: string): Promise<number> {
  const { stdout } = await exec('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]);
  return Number(stdout.trim());
}

/** Writes 8 values of 1 MiB (acknowledged: on disk) and returns them by key. */
async function writeValues(srv: ZdbProcess): Promise<Map<string, Buffer>> {
  const c = new ZdbClient({ port: srv.port, connections: 1 });
  const values = new Map<string, Buffer>();
  try {
    for (let i = 0; i < 8; i++) {
      const v = crypto.randomBytes(MiB);
      await c.set(`v${i}`, v);
      values.set(`v${i}`, v);
    }
  } finally {
    await c.close();
  }
  return values;
}

async function expectValues(srv: ZdbProcess, values: Map<string, Buffer>): Promise<void> {
  const c = new ZdbClient({ port: srv.port, connections: 1 });
  try {
    for (const [k, v] of values) expect((await c.get(k))?.equals(v), k).toBe(true);
  } finally {
    await c.close();
  }
}

describe('zdb --evict-synced', () => {
  it('drops synced data from the page cache, keeps the tail page, and still serves every value', async () => {
    server = await startZdb({ bin: ZDB, args: ['--sync', '--evict-synced'] });
    const values = await writeValues(server);
    const file = path.join(server.dataDir, 'default', 'd0');
    // 8 MiB written and synced: at most the page being appended to stays cached.
    expect(await cachedBytes(file)).toBeLessThanOrEqual(4096);
    await expectValues(server, values);
    // Evicted pages are read back from the disk, byte for byte, after a restart too.
    server = await server.restart();
    await expectValues(server, values);
  });

  it('leaves the page cache alone without the flag', async () => {
    server = await startZdb({ bin: ZDB, args: ['--sync'] });
    await writeValues(server);
    expect(await cachedBytes(path.join(server.dataDir, 'default', 'd0'))).toBeGreaterThanOrEqual(8 * MiB);
  });

  it('refuses --evict-synced without --sync', async () => {
    const run = exec(process.execPath, [ZDB, '--evict-synced', '--port', '0']);
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--evict-synced needs --sync'),
    });
  });
});
