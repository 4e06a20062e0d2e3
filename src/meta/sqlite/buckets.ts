import type Database from 'better-sqlite3';
import { MetaError } from '../errors.js';
import type { Bucket, BucketInfo, BucketSettings } from '../meta-store.js';
import { prepare, type Statement } from './statements.js';

interface BucketRow {
  id: number;
  name: string;
  created: number;
  settings: string;
}

/** Buckets by name; other tables refer to a bucket by its integer id, which keeps their keys short. */
export class Buckets {
  private readonly insert: Statement<[string, number, string]>;
  private readonly byName: Statement<[string], BucketRow>;
  private readonly all: Statement<[], BucketInfo>;
  private readonly deleteById: Statement<[number]>;
  private readonly updateSettings: Statement<[string, number]>;
  private readonly settingsById: Statement<[number], { settings: string }>;

  constructor(db: Database.Database) {
    this.insert = prepare(db, 'INSERT INTO buckets (name, created, settings) VALUES (?, ?, ?)');
    this.byName = prepare(db, 'SELECT id, name, created, settings FROM buckets WHERE name = ?');
    this.all = prepare(db, 'SELECT name, created FROM buckets ORDER BY name');
    this.deleteById = prepare(db, 'DELETE FROM buckets WHERE id = ?');
    this.updateSettings = prepare(db, 'UPDATE buckets SET settings = ? WHERE id = ?');
    this.settingsById = prepare(db, 'SELECT settings FROM buckets WHERE id = ?');
  }

  /** The bucket's settings, read in the caller's transaction. */
  settingsOf(bucketId: number): BucketSettings {
    const row = this.settingsById.get(bucketId);
    return row ? (JSON.parse(row.settings) as BucketSettings) : {};
  }

  /** The bucket's versioning state (undefined: never enabled). */
  versioning(bucketId: number): BucketSettings['versioning'] {
    return this.settingsOf(bucketId).versioning;
  }

  create(name: string, settings: BucketSettings): Bucket {
    if (this.byName.get(name)) throw new MetaError('BucketAlreadyExists', `bucket ${name} already exists`);
    const created = Date.now();
    this.insert.run(name, created, JSON.stringify(settings));
    return { name, created, settings };
  }

  get(name: string): Bucket | null {
    const row = this.byName.get(name);
    return row ? { name: row.name, created: row.created, settings: JSON.parse(row.settings) as BucketSettings } : null;
  }

  list(): BucketInfo[] {
    return this.all.all();
  }

  /** The bucket's id; throws NoSuchBucket. */
  id(name: string): number {
    const row = this.byName.get(name);
    if (!row) throw new MetaError('NoSuchBucket', `bucket ${name} does not exist`);
    return row.id;
  }

  remove(bucketId: number): void {
    this.deleteById.run(bucketId);
  }

  setSettings(bucketId: number, settings: BucketSettings): void {
    this.updateSettings.run(JSON.stringify(settings), bucketId);
  }
}
