import type Database from 'better-sqlite3';
import { MetaError } from '../errors.js';
import type { AccessKey, BucketGrant, Permissions } from '../meta-store.js';
import { prepare, type Statement } from './statements.js';

interface KeyRow extends Omit<AccessKey, 'createBuckets'> {
  createBuckets: number;
}

interface GrantRow {
  read: number;
  write: number;
  owner: number;
}

const NONE: Permissions = { read: false, write: false, owner: false };

/** Access keys (secrets stay as the caller encrypted them) and their per-bucket grants. */
export class AccessKeys {
  private readonly insert: Statement<[string, Buffer, string, number, number]>;
  private readonly byId: Statement<[string], KeyRow>;
  private readonly all: Statement<[], KeyRow>;
  private readonly setCreate: Statement<[number, string]>;
  private readonly deleteKey: Statement<[string]>;
  private readonly deleteGrants: Statement<[string]>;
  private readonly deleteBucketGrants: Statement<[number]>;
  private readonly grant: Statement<[string, number], GrantRow>;
  private readonly grantByName: Statement<[string, string], GrantRow>;
  private readonly grantsOfKey: Statement<[string], GrantRow & { bucket: string }>;
  private readonly upsertGrant: Statement<[string, number, number, number, number]>;
  private readonly deleteGrant: Statement<[string, number]>;

  constructor(db: Database.Database) {
    this.insert = prepare(
      db,
      'INSERT INTO access_keys (id, secret, name, created, create_buckets) VALUES (?, ?, ?, ?, ?)',
    );
    const select =
      'SELECT id AS accessKeyId, secret AS encryptedSecret, name, created, create_buckets AS createBuckets FROM access_keys';
    this.byId = prepare(db, `${select} WHERE id = ?`);
    this.all = prepare(db, `${select} ORDER BY id`);
    this.deleteKey = prepare(db, 'DELETE FROM access_keys WHERE id = ?');
    this.setCreate = prepare(db, 'UPDATE access_keys SET create_buckets = ? WHERE id = ?');
    this.deleteGrants = prepare(db, 'DELETE FROM grants WHERE access_key_id = ?');
    this.deleteBucketGrants = prepare(db, 'DELETE FROM grants WHERE bucket_id = ?');
    this.grant = prepare(db, 'SELECT read, write, owner FROM grants WHERE access_key_id = ? AND bucket_id = ?');
    this.grantByName = prepare(
      db,
      `SELECT g.read, g.write, g.owner FROM grants g JOIN buckets b ON b.id = g.bucket_id
       WHERE g.access_key_id = ? AND b.name = ?`,
    );
    this.grantsOfKey = prepare(
      db,
      `SELECT b.name AS bucket, g.read, g.write, g.owner FROM grants g JOIN buckets b ON b.id = g.bucket_id
       WHERE g.access_key_id = ? ORDER BY b.name`,
    );
    this.upsertGrant = prepare(
      db,
      `INSERT INTO grants (access_key_id, bucket_id, read, write, owner) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (access_key_id, bucket_id) DO UPDATE SET read = excluded.read, write = excluded.write, owner = excluded.owner`,
    );
    this.deleteGrant = prepare(db, 'DELETE FROM grants WHERE access_key_id = ? AND bucket_id = ?');
  }

  create(accessKeyId: string, encryptedSecret: Buffer, name: string, createBuckets: boolean): AccessKey {
    if (this.byId.get(accessKeyId))
      throw new MetaError('AccessKeyAlreadyExists', `access key ${accessKeyId} already exists`);
    const created = Date.now();
    this.insert.run(accessKeyId, encryptedSecret, name, created, Number(createBuckets));
    return { accessKeyId, encryptedSecret, name, created, createBuckets };
  }

  get(accessKeyId: string): AccessKey | null {
    const row = this.byId.get(accessKeyId);
    return row ? accessKey(row) : null;
  }

  list(): AccessKey[] {
    return this.all.all().map(accessKey);
  }

  setCreateBuckets(accessKeyId: string, allowed: boolean): void {
    if (this.setCreate.run(Number(allowed), accessKeyId).changes === 0) throw unknownKey(accessKeyId);
  }

  delete(accessKeyId: string): void {
    if (this.deleteKey.run(accessKeyId).changes === 0) throw unknownKey(accessKeyId);
    this.deleteGrants.run(accessKeyId);
  }

  /** Sets the flags given as true (allow) or clears them (deny); returns what the key now has. */
  change(accessKeyId: string, bucketId: number, flags: Partial<Permissions>, set: boolean): Permissions {
    if (!this.byId.get(accessKeyId)) throw unknownKey(accessKeyId);
    const current = permissions(this.grant.get(accessKeyId, bucketId));
    const next = { ...current };
    for (const flag of ['read', 'write', 'owner'] as const) if (flags[flag]) next[flag] = set;
    if (next.read || next.write || next.owner) {
      this.upsertGrant.run(accessKeyId, bucketId, Number(next.read), Number(next.write), Number(next.owner));
    } else {
      this.deleteGrant.run(accessKeyId, bucketId);
    }
    return next;
  }

  check(accessKeyId: string, bucket: string): Permissions {
    return permissions(this.grantByName.get(accessKeyId, bucket));
  }

  grants(accessKeyId: string): BucketGrant[] {
    return this.grantsOfKey.all(accessKeyId).map((row) => ({ bucket: row.bucket, permissions: permissions(row) }));
  }

  /** Drops every grant on a bucket that is going. */
  revokeBucket(bucketId: number): void {
    this.deleteBucketGrants.run(bucketId);
  }
}

function accessKey(row: KeyRow): AccessKey {
  return { ...row, createBuckets: row.createBuckets === 1 };
}

function permissions(row: GrantRow | undefined): Permissions {
  return row ? { read: row.read === 1, write: row.write === 1, owner: row.owner === 1 } : { ...NONE };
}

function unknownKey(accessKeyId: string): MetaError {
  return new MetaError('InvalidAccessKeyId', `access key ${accessKeyId} does not exist`);
}
