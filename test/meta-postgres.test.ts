import { afterAll, beforeAll } from 'vitest';
import { PostgresMetaStore } from '../src/meta/postgres/postgres-meta-store.js';
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
