import { MetaError } from '../errors.js';
import type { Bucket, BucketInfo, BucketSettings } from '../meta-store.js';
import type { Sql } from './connection.js';

interface BucketRow {
  id: number;
  name: string;
  created: number;
  settings: string;
}

function bucketOf(row: BucketRow): Bucket {
  return { name: row.name, created: row.created, settings: JSON.parse(row.settings) as BucketSettings };
}

/** Buckets by name; other tables refer to a bucket by its integer id, which keeps their keys short. */
export class Buckets {
  async create(sql: Sql, name: string, settings: BucketSettings): Promise<Bucket> {
    const created = Date.now();
    const inserted = await sql.run(
      'INSERT INTO buckets (name, created, settings) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [name, created, JSON.stringify(settings)],
    );
    if (inserted === 0) throw new MetaError('BucketAlreadyExists', `bucket ${name} already exists`);
    return { name, created, settings };
  }

  async get(sql: Sql, name: string): Promise<Bucket | null> {
    const row = await sql.row<BucketRow>('SELECT id, name, created, settings FROM buckets WHERE name = $1', [name]);
    return row ? bucketOf(row) : null;
  }

  async list(sql: Sql): Promise<BucketInfo[]> {
    return sql.rows<BucketInfo>('SELECT name, created FROM buckets ORDER BY name');
  }

  /** The bucket's id; throws NoSuchBucket. */
  async id(sql: Sql, name: string): Promise<number> {
    return (await this.require(sql, name)).id;
  }

  /** The bucket's id and settings as the caller's transaction sees them; throws NoSuchBucket. */
  async require(sql: Sql, name: string): Promise<{ id: number; settings: BucketSettings }> {
    const row = await sql.row<BucketRow>('SELECT id, settings FROM buckets WHERE name = $1', [name]);
    if (!row) throw new MetaError('NoSuchBucket', `bucket ${name} does not exist`);
    return { id: row.id, settings: JSON.parse(row.settings) as BucketSettings };
  }

  /** The bucket's settings, read in the caller's transaction. */
  async settingsOf(sql: Sql, bucketId: number): Promise<BucketSettings> {
    const row = await sql.row<{ settings: string }>('SELECT settings FROM buckets WHERE id = $1', [bucketId]);
    return row ? (JSON.parse(row.settings) as BucketSettings) : {};
  }

  async remove(sql: Sql, bucketId: number): Promise<void> {
    await sql.run('DELETE FROM buckets WHERE id = $1', [bucketId]);
  }

  async setSettings(sql: Sql, bucketId: number, settings: BucketSettings): Promise<Bucket> {
    const row = await sql.row<BucketRow>(
      'UPDATE buckets SET settings = $1 WHERE id = $2 RETURNING id, name, created, settings',
      [JSON.stringify(settings), bucketId],
    );
    return bucketOf(row!);
  }
}
