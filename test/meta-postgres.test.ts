import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetaUnavailableError } from '../src/meta/errors.js';
import { PostgresMetaStore } from '../src/meta/postgres/postgres-meta-store.js';
import { SCHEMA_VERSION } from '../src/meta/postgres/schema.js';
import { SchemaVersionError } from '../src/util/schema-version-error.js';
import { metaStoreContract } from './helpers/meta-contract.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';

// One server for the file, a fresh database per test.
let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

metaStoreContract('postgres', async () => {
  const url = await server.createDatabase(`contract_${++databases}`);
  return {
    open: async () => PostgresMetaStore.open(url, { max: 4 }),
    destroy: async () => undefined,
  };
});

describe('PostgreSQL engine', () => {
  let url: string;
  const stores: PostgresMetaStore[] = [];
  const open = async (options = {}): Promise<PostgresMetaStore> => {
    const store = await PostgresMetaStore.open(url, options);
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    url = await server.createDatabase(`engine_${++databases}`);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function psql(sql: string): Promise<Array<Record<string, unknown>>> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  }

  it('migrates once when several gateways start at once, and refuses a newer schema', async () => {
    await Promise.all(Array.from({ length: 4 }, () => open({ max: 2 })));
    expect(await psql('SELECT version FROM schema_version')).toEqual([{ version: SCHEMA_VERSION }]);
    await psql(`UPDATE schema_version SET version = ${SCHEMA_VERSION + 1}`);
    await expect(PostgresMetaStore.open(url)).rejects.toBeInstanceOf(SchemaVersionError);
  });

  it("keeps the first qstor_put_object for a previous version's gateway during an upgrade", async () => {
    const meta = await open();
    await meta.createBucket('b');
    const [{ settings }] = (await psql("SELECT settings FROM buckets WHERE name = 'b'")) as [{ settings: string }];
    // As that version sends it: its condition as two untyped text literals.
    const oldPut = (id: string, condition: string) =>
      psql(
        `SELECT outcome FROM qstor_put_object('b', ${pg.escapeLiteral(settings)}, decode('6b', 'hex'), false,
          ${condition}, NULL, ${pg.escapeLiteral(JSON.stringify({ id, size: 0, etag: `etag-${id}`, lastModified: 0, metadata: {}, checksums: {}, chunks: [] }))},
          'null', 0::bigint, 'etag-${id}', 0::bigint, ARRAY[]::text[], NULL, ARRAY[]::text[], 0::bigint)`,
      );
    expect(await oldPut('first', "'absent'")).toEqual([{ outcome: 'done' }]);
    expect(await oldPut('second', "'absent'")).toEqual([{ outcome: 'condition' }]);
    expect((await meta.getObject('b', 'k'))?.id).toBe('first');
    await meta.putObject('b', 'k', { ...(await meta.getObject('b', 'k'))!, id: 'third' }, undefined, {
      ifMatch: ['*'],
    });
    expect((await meta.getObject('b', 'k'))?.id).toBe('third');
  });

  it('lists keys in UTF-8 byte order whatever the database collation', async () => {
    const meta = await open();
    await meta.createBucket('b');
    const keys = ['a', 'B', 'é', 'z', '\u{1F600}', '\uFFFD', 'a/b', 'Z'];
    for (const key of keys) {
      await meta.putObject('b', key, {
        id: key,
        size: 0,
        etag: 'e',
        lastModified: 0,
        metadata: {},
        checksums: {},
        chunks: [],
      });
    }
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key)).toEqual(byBytes);
  });

  it('leases: one holder until it expires or releases, renewed by its holder, on the server clock', async () => {
    const a = await open();
    const b = await open();
    expect(await a.acquireLease('scrub', 'gw-a', 60_000)).toBe(true);
    expect(await b.acquireLease('scrub', 'gw-b', 60_000)).toBe(false);
    expect(await a.acquireLease('scrub', 'gw-a', 60_000)).toBe(true); // renewal
    await b.releaseLease('scrub', 'gw-b'); // not its lease: no-op
    expect((await b.listLeases()).map((l) => [l.name, l.holder])).toEqual([['scrub', 'gw-a']]);
    const [lease] = await b.listLeases();
    const [{ now }] = (await psql('SELECT (extract(epoch from now()) * 1000)::float8 AS now')) as Array<{
      now: number;
    }>;
    expect(lease!.expiresAt).toBeGreaterThan(now + 50_000);
    await a.releaseLease('scrub', 'gw-a');
    expect(await a.listLeases()).toEqual([]);
    expect(await b.acquireLease('scrub', 'gw-b', 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Expired: listed no more, and anyone takes it.
    expect(await a.listLeases()).toEqual([]);
    expect(await a.acquireLease('scrub', 'gw-a', 60_000)).toBe(true);
    // Concurrent takers of a free lease: exactly one gets it.
    const won = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).acquireLease('repair', `gw-${i}`, 60_000)),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('gateways: heartbeats insert or update, the silent ones age out, a clean shutdown forgets', async () => {
    const meta = await open();
    await meta.heartbeatGateway({ id: 'gw-b', address: '10.0.0.2:9000', version: '1', startedAt: 5 });
    await meta.heartbeatGateway({ id: 'gw-a', address: '10.0.0.1:9000', version: '1', startedAt: 7 });
    await meta.heartbeatGateway({ id: 'gw-a', address: '10.0.0.1:9001', version: '2', startedAt: 8 });
    const live = await meta.listGateways(60_000);
    expect(live.map(({ lastSeen: _, ...g }) => g)).toEqual([
      { id: 'gw-a', address: '10.0.0.1:9001', version: '2', startedAt: 8 },
      { id: 'gw-b', address: '10.0.0.2:9000', version: '1', startedAt: 5 },
    ]);
    expect(live[0]!.lastSeen).toBeGreaterThan(Date.now() - 60_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await meta.listGateways(10)).toEqual([]);
    await meta.forgetGateway('gw-a');
    expect((await meta.listGateways(60_000)).map((g) => g.id)).toEqual(['gw-b']);
  });

  it('a statement over the timeout fails as unavailable, not as an answer', async () => {
    const meta = await open({ statementTimeoutMs: 200 });
    await meta.createBucket('b');
    // Holds the bucket row, so that the delete below waits on it past its timeout.
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN; SELECT * FROM buckets WHERE name = 'b' FOR UPDATE");
      const error = await meta.deleteBucket('b').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MetaUnavailableError);
      expect((error as MetaUnavailableError).code).toBe('ServiceUnavailable');
    } finally {
      await blocker.end();
    }
    expect(await meta.getBucket('b')).not.toBeNull();
  });
});

// Stops the file's server: runs last, and on a server of its own.
describe('PostgreSQL restarting', () => {
  let own: PostgresServer;

  beforeAll(async () => {
    own = await startPostgres();
  }, 120_000);

  afterAll(async () => {
    await own?.destroy();
  });

  it('fails calls with MetaUnavailableError while it is down (no password in the message), then reconnects with every acknowledged write', async () => {
    const url = (await own.createDatabase('restart')).replace('postgres@', 'postgres:s3cret-pw@');
    const meta = await PostgresMetaStore.open(url, { max: 3, connectionTimeoutMs: 2_000 });
    try {
      await meta.createBucket('b');
      const put = (key: string) =>
        meta.putObject('b', key, {
          id: key,
          size: 1,
          etag: key,
          lastModified: 1,
          metadata: {},
          checksums: {},
          chunks: [],
        });
      for (let i = 0; i < 20; i++) await put(`before-${i}`);
      await own.stop();
      for (const call of [put('during'), meta.listObjects({ bucket: 'b' }), meta.getObject('b', 'before-1')]) {
        const error = await call.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MetaUnavailableError);
        expect((error as Error).message).not.toContain('s3cret-pw');
      }
      await own.start();
      // The pool drops the dead connections and opens new ones by itself.
      await vi.waitFor(async () => expect(await meta.getBucket('b')).not.toBeNull(), { timeout: 30_000 });
      const keys = (await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key);
      expect(keys).toHaveLength(20);
      expect(keys).not.toContain('during');
      await put('after');
      expect((await meta.getObject('b', 'after'))?.id).toBe('after');
    } finally {
      await meta.close();
    }
  }, 180_000);
});
