import type { ObjectManifest } from '../manifest.js';
import { MetaError, MetaUnavailableError } from '../errors.js';
import {
  checkPutCondition,
  versionIdOf,
  type BucketSettings,
  type ObjectChange,
  type PutCondition,
} from '../meta-store.js';
import type { Database } from './connection.js';
import { newVersionOf } from './objects.js';

const PUT =
  'SELECT outcome, detail FROM qstor_put_object($1, $2, $3, $4, $5::text[], $6::text[], $7, $8, $9, $10, $11, $12, $13, $14, $15)';

type Outcome = 'done' | 'no-bucket' | 'settings' | 'condition' | 'locked';

// Settings changed between two of our attempts this many times in a row: give up, as for contention.
const MAX_SETTINGS_CHANGES = 5;

/**
 * PutObject in one round trip: `qstor_put_object` (schema migrations 6 and 8) does in one statement
 * what `Objects.put` does in several, as one SERIALIZABLE transaction sent as one message
 * (`Database.inOneRoundTrip`). The new version's id and lock follow the bucket's settings, which
 * this side computes from the settings it last saw of the bucket: the function checks them in
 * its transaction and, when another call or gateway changed them, writes nothing and returns
 * the current ones to compute again. So the versioning and default retention a PUT follows are
 * always those of its transaction, as in `Objects.put`.
 */
export class ObjectPut {
  /** The settings text last read of each bucket (an assumption the function checks, never trusted). */
  private readonly settings = new Map<string, string>();

  constructor(private readonly db: Database) {}

  async put(
    bucket: string,
    key: Buffer,
    manifest: ObjectManifest,
    writeId?: string,
    condition?: PutCondition,
  ): Promise<ObjectChange> {
    for (let attempt = 0; attempt < MAX_SETTINGS_CHANGES; attempt++) {
      const assumed = this.settings.get(bucket) ?? null;
      const settings = assumed === null ? {} : (JSON.parse(assumed) as BucketSettings);
      const stored = newVersionOf(manifest, settings);
      const kept = stored.chunks.flatMap((chunk) => chunk.shards.map((s) => `${s.backend}\n${s.key}`));
      const [row] = await this.db.inOneRoundTrip<{ outcome: Outcome; detail: string | null }>('SERIALIZABLE', PUT, [
        bucket,
        assumed,
        key,
        settings.versioning === 'Enabled',
        condition?.ifMatch ?? null,
        condition?.ifNoneMatch ?? null,
        JSON.stringify(stored),
        versionIdOf(stored),
        stored.size,
        stored.etag,
        stored.lastModified,
        stored.chunks.map((chunk) => chunk.id),
        writeId ?? null,
        kept,
        Date.now(),
      ]);
      const { outcome, detail } = row!;
      switch (outcome) {
        case 'done':
          return { manifest: stored, previous: detail === null ? null : (JSON.parse(detail) as ObjectManifest) };
        case 'settings':
          this.settings.set(bucket, detail!);
          continue;
        case 'no-bucket':
          this.settings.delete(bucket);
          throw new MetaError('NoSuchBucket', `bucket ${bucket} does not exist`);
        case 'condition':
          checkPutCondition(condition!, detail ?? undefined);
          throw new Error(`qstor_put_object: condition refused, yet holds for ETag ${detail}`);
        case 'locked':
          throw new MetaError('AccessDenied', 'Access Denied because object protected by object lock.');
      }
    }
    throw new MetaUnavailableError(`metadata database: the settings of bucket ${bucket} keep changing, try again`);
  }
}
