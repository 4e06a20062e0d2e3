import { MetaError } from '../errors.js';
import type { AccessKey, BucketGrant, Permissions } from '../meta-store.js';
import type { Sql } from './connection.js';

type GrantRow = Permissions;

const NONE: Permissions = { read: false, write: false, owner: false };
const SELECT_KEY =
  'SELECT id AS "accessKeyId", secret AS "encryptedSecret", name, created, create_buckets AS "createBuckets" FROM access_keys';

/** Access keys (secrets stay as the caller encrypted them) and their per-bucket grants. */
export class AccessKeys {
  async create(
    sql: Sql,
    accessKeyId: string,
    encryptedSecret: Buffer,
    name: string,
    createBuckets: boolean,
  ): Promise<AccessKey> {
    const created = Date.now();
    const inserted = await sql.run(
      `INSERT INTO access_keys (id, secret, name, created, create_buckets) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING`,
      [accessKeyId, encryptedSecret, name, created, createBuckets],
    );
    if (inserted === 0) throw new MetaError('AccessKeyAlreadyExists', `access key ${accessKeyId} already exists`);
    return { accessKeyId, encryptedSecret, name, created, createBuckets };
  }

  async setCreateBuckets(sql: Sql, accessKeyId: string, allowed: boolean): Promise<void> {
    const updated = await sql.run('UPDATE access_keys SET create_buckets = $1 WHERE id = $2', [allowed, accessKeyId]);
    if (updated === 0) throw unknownKey(accessKeyId);
  }

  async get(sql: Sql, accessKeyId: string): Promise<AccessKey | null> {
    return (await sql.row<AccessKey>(`${SELECT_KEY} WHERE id = $1`, [accessKeyId])) ?? null;
  }

  async list(sql: Sql): Promise<AccessKey[]> {
    return sql.rows<AccessKey>(`${SELECT_KEY} ORDER BY id`);
  }

  async delete(sql: Sql, accessKeyId: string): Promise<void> {
    if ((await sql.run('DELETE FROM access_keys WHERE id = $1', [accessKeyId])) === 0) throw unknownKey(accessKeyId);
    await sql.run('DELETE FROM grants WHERE access_key_id = $1', [accessKeyId]);
  }

  /** Sets the flags given as true (allow) or clears them (deny); returns what the key now has. */
  async change(
    sql: Sql,
    accessKeyId: string,
    bucketId: number,
    flags: Partial<Permissions>,
    set: boolean,
  ): Promise<Permissions> {
    if (!(await sql.row('SELECT 1 FROM access_keys WHERE id = $1', [accessKeyId]))) throw unknownKey(accessKeyId);
    const current = await sql.row<GrantRow>(
      'SELECT read, write, owner FROM grants WHERE access_key_id = $1 AND bucket_id = $2',
      [accessKeyId, bucketId],
    );
    const next = { ...(current ?? NONE) };
    for (const flag of ['read', 'write', 'owner'] as const) if (flags[flag]) next[flag] = set;
    if (next.read || next.write || next.owner) {
      await sql.run(
        `INSERT INTO grants (access_key_id, bucket_id, read, write, owner) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (access_key_id, bucket_id) DO UPDATE SET read = excluded.read, write = excluded.write,
           owner = excluded.owner`,
        [accessKeyId, bucketId, next.read, next.write, next.owner],
      );
    } else {
      await sql.run('DELETE FROM grants WHERE access_key_id = $1 AND bucket_id = $2', [accessKeyId, bucketId]);
    }
    return next;
  }

  async check(sql: Sql, accessKeyId: string, bucket: string): Promise<Permissions> {
    const row = await sql.row<GrantRow>(
      `SELECT g.read, g.write, g.owner FROM grants g JOIN buckets b ON b.id = g.bucket_id
       WHERE g.access_key_id = $1 AND b.name = $2`,
      [accessKeyId, bucket],
    );
    return row ? { read: row.read, write: row.write, owner: row.owner } : { ...NONE };
  }

  async grants(sql: Sql, accessKeyId: string): Promise<BucketGrant[]> {
    const rows = await sql.rows<GrantRow & { bucket: string }>(
      `SELECT b.name AS bucket, g.read, g.write, g.owner FROM grants g JOIN buckets b ON b.id = g.bucket_id
       WHERE g.access_key_id = $1 ORDER BY b.name`,
      [accessKeyId],
    );
    return rows.map(({ bucket, read, write, owner }) => ({ bucket, permissions: { read, write, owner } }));
  }

  /** Drops every grant on a bucket that is going. */
  async revokeBucket(sql: Sql, bucketId: number): Promise<void> {
    await sql.run('DELETE FROM grants WHERE bucket_id = $1', [bucketId]);
  }
}

function unknownKey(accessKeyId: string): MetaError {
  return new MetaError('InvalidAccessKeyId', `access key ${accessKeyId} does not exist`);
}
