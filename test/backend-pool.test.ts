import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendPool } from '../src/store/backend-pool.js';
import { ZdbClient } from '../src/zdb-client/index.js';
import { ZDB } from './helpers/store-harness.js';
import { startZdb, type ZdbProcess } from './helpers/zdb-process.js';

// A backend whose namespace was never created answers every request, so it used to look
// healthy while each write to it failed: it must be down, its last error naming the fix.
describe('BackendPool: a reachable backend the store cannot use', () => {
  let zdb: ZdbProcess;
  beforeAll(async () => {
    zdb = await startZdb({ bin: ZDB });
  }, 60_000);
  afterAll(async () => {
    await zdb?.stop();
  });

  it('is down while its namespace is missing, with the command that creates it; up once it exists', async () => {
    const backend = {
      id: 'b1',
      farm: 'f',
      node: 'n',
      host: zdb.host,
      port: zdb.port,
      namespace: 'never-made',
      freeBytes: 0,
      state: 'up' as const,
    };
    const pool = new BackendPool([backend]);
    try {
      await pool.refresh();
      expect(pool.get('b1')?.state).toBe('down');
      expect(pool.lastError('b1')).toContain(`NSNEW never-made`);
      expect(pool.lastError('b1')).toContain(`${zdb.host} -p ${zdb.port}`);

      const admin = new ZdbClient({ host: zdb.host, port: zdb.port });
      try {
        await admin.nsnew('never-made');
      } finally {
        await admin.close();
      }
      await pool.refresh();
      expect(pool.get('b1')?.state).toBe('up');
      expect(pool.get('b1')?.freeBytes).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
