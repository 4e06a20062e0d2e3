import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { metaStoreContract } from './helpers/meta-contract.js';

metaStoreContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qstor-meta-'));
  return {
    open: async () => new SqliteMetaStore(path.join(dir, 'meta.db')),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite files', () => {
  let dir: string;
  let meta: SqliteMetaStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'qstor-meta-'));
    meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  });

  afterEach(async () => {
    try {
      await meta.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the database, its WAL and shared memory 0600', async () => {
    await meta.createBucket('b');
    for (const suffix of ['', '-wal', '-shm']) {
      expect(statSync(path.join(dir, `meta.db${suffix}`)).mode & 0o777, suffix).toBe(0o600);
    }
  });
});
