import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
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

  it('upgrades a database from before versioning: every object becomes its null version', async () => {
    await meta.createBucket('b');
    const chunks: never[] = [];
    for (const key of ['a', 'b/c']) {
      await meta.putObject('b', key, {
        id: `m-${key}`,
        size: 1,
        etag: `e-${key}`,
        lastModified: 5,
        metadata: {},
        checksums: {},
        chunks,
      });
    }
    await meta.close();
    // The schema as it was before the versions table.
    const db = new Database(path.join(dir, 'meta.db'));
    db.exec(
      'DROP TABLE versions; DROP TABLE leases; DROP TABLE gateways; ALTER TABLE pending_writes DROP COLUMN owner; ALTER TABLE parts DROP COLUMN checksum; DROP TABLE kms_keys; ALTER TABLE access_keys DROP COLUMN create_buckets',
    );
    db.pragma('user_version = 2');
    db.close();
    meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
    const page = await meta.listVersions({ bucket: 'b' });
    expect(page.versions.map((v) => [v.key, v.versionId, v.isLatest, v.object?.etag])).toEqual([
      ['a', 'null', true, 'e-a'],
      ['b/c', 'null', true, 'e-b/c'],
    ]);
    expect((await meta.getVersion('b', 'a', 'null'))?.manifest?.id).toBe('m-a');
    expect(await meta.deleteObject('b', 'a')).toMatchObject({ removed: { id: 'm-a' } });
    expect((await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key)).toEqual(['b/c']);
  });
});
