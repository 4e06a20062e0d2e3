import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';

// The harness every PostgreSQL test stands on: a real server, a database per test, stop/start.
describe('PostgreSQL test server', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('serves a fresh database, and comes back after a stop with its rows', async () => {
    const url = await server.createDatabase('harness_check');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE t (k bytea PRIMARY KEY)');
    await client.query('INSERT INTO t VALUES ($1)', [Buffer.from([0xff, 0x00])]);
    await client.end();
    await server.stop();
    await expect(new pg.Client({ connectionString: url }).connect()).rejects.toThrow();
    await server.start();
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    const { rows } = await again.query<{ k: Buffer }>('SELECT k FROM t');
    expect(rows.map((r) => r.k.toString('hex'))).toEqual(['ff00']);
    await again.end();
  });
});
