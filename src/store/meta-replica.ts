import crypto from 'node:crypto';
import {
  NULL_VERSION,
  type BucketSettings,
  type DeleteMarker,
  type MetaStore,
  type Permissions,
  type StoredVersion,
  type VersionRecord,
} from '../meta/meta-store.js';
import { open, seal, NONCE_BYTES, TAG_BYTES } from '../pipeline/encrypt.js';
import { PipelineError } from '../pipeline/errors.js';
import type { BackendPool } from './backend-pool.js';
import { StoreError } from './errors.js';
import { Stragglers } from './stragglers.js';
import type { ObjectManifest } from '../meta/manifest.js';

/** Keys of metadata records in a backend's namespace; shard keys never start like this. */
const PREFIX = 'meta:';
const AAD = Buffer.from('qstor metadata record v1');
/** Records short of copies written again per `catchUp`. */
const CATCH_UP_BATCH = 1000;

/**
 * One version of a key: its manifest, or a delete marker (`marker`). The null version's record
 * is the one every object had before versioning (its manifest carries no versionId).
 */
type RecordBody =
  | { t: 'object'; bucket: string; key: string; manifest: ObjectManifest | null; marker?: DeleteMarker }
  | { t: 'bucket'; bucket: string; created: number; settings: BucketSettings | null }
  | { t: 'key'; accessKeyId: string; key: AccessKeyRecord | null }
  | { t: 'kms'; id: string; key: KmsKeyRecord | null };

/** A KMS key (src/kms) as the database holds it: sealed under the master key (base64). */
interface KmsKeyRecord {
  sealedKey: string;
  created: number;
}

/**
 * An access key as the database holds it: its secret still sealed under the master key (as
 * `createAccessKey` stored it, base64), and its grants. A grant names its bucket's creation
 * time: a bucket deleted (which drops its grants) and made again is another bucket, which the
 * grant must not reach after a rebuild.
 */
interface AccessKeyRecord {
  name: string;
  created: number;
  sealedSecret: string;
  /** Absent in records written before keys could create buckets: false. */
  createBuckets?: boolean;
  grants: Array<{ bucket: string; bucketCreated: number; permissions: Permissions }>;
}

interface Record_ {
  /** Newest wins on rebuild; a null manifest/settings is a tombstone. */
  version: number;
  body: RecordBody;
}

export interface RebuildReport {
  backends: number;
  records: number;
  buckets: number;
  objects: number;
  accessKeys: number;
  kmsKeys: number;
  unreadable: number;
}

/**
 * Copies of every bucket, manifest and access key record (its secret as sealed in the
 * database, its grants), encrypted with a key derived from the master
 * key, on `copies` up backends chosen by rendezvous hashing (so an update lands where the
 * record already is); a copy a backend fails or does not take in time goes to the next one in
 * the ranking, so a backend down costs no copy while spares are up. Once all copies but one are
 * stored, the last is waited for `stragglerMs` (see Stragglers), then given up. `qstor meta rebuild` reads them back into an empty database: the
 * farmers' disks plus the master key are enough to recover the whole store.
 */
export class MetaReplica {
  private readonly key: Buffer;
  private lastVersion = 0;
  /** Records short of copies (see `MetaStore.addRecordsShort`), as last counted or added here. */
  private short = 0;
  /** The last write under way per record: writes of one record go out one after the other, so an older version never lands after a newer one. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    /** Where the records short of copies are kept, and what `catchUp` writes them from. */
    private readonly meta: MetaStore,
    private readonly backends: BackendPool,
    masterKey: Buffer,
    private readonly copies = 3,
    /** How long a copy is waited for (a frozen backend must not hold the PUT): see Stragglers. */
    private readonly waits: { timeoutMs: number; stragglerMs: number } = { timeoutMs: 10_000, stragglerMs: 1000 },
  ) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'qstor metadata replica', 32));
  }

  /**
   * Records version `versionId` of a key (null: a tombstone, the version is gone), when it is
   * created and when its lock changes. A rebuild orders a key's versions by their modification
   * time, then by record version.
   */
  putVersion(bucket: string, key: string, versionId: string, version: StoredVersion | null): Promise<void> {
    const id = versionId === NULL_VERSION ? `o\0${bucket}\0${key}` : `v\0${bucket}\0${key}\0${versionId}`;
    return this.write(id, {
      t: 'object',
      bucket,
      key,
      manifest: version?.manifest ?? null,
      ...(version?.marker ? { marker: version.marker } : {}),
    });
  }

  putBucket(bucket: string, created: number, settings: BucketSettings | null): Promise<void> {
    return this.write(`b\0${bucket}`, { t: 'bucket', bucket, created, settings });
  }

  /**
   * Records access key `accessKeyId` as the database holds it now (secret, name, grants), or its
   * tombstone once it is gone: call after every change of the key or of its grants.
   */
  async putAccessKey(meta: MetaStore, accessKeyId: string): Promise<void> {
    return this.write(`k\0${accessKeyId}`, await accessKeyBody(meta, accessKeyId));
  }

  /** Records KMS key `id` as the database holds it now, or its tombstone once deleted. */
  async putKmsKey(meta: MetaStore, id: string): Promise<void> {
    return this.write(`m\0${id}`, await kmsKeyBody(meta, id));
  }

  private async write(id: string, body: RecordBody): Promise<void> {
    const recordKey = recordKeyOf(id);
    const sealed = this.seal(body);
    const stored = await this.serial(recordKey, () => this.replicate(id, recordKey, sealed));
    if (stored === 0)
      throw new StoreError('ServiceUnavailable', `metadata record could not be replicated to any backend up`);
  }

  /** A new version of the record, newer than any this process sealed before. */
  private seal(body: RecordBody): Buffer {
    const version = Math.max(Date.now() * 1000, this.lastVersion + 1);
    this.lastVersion = version;
    return this.encrypt({ version, body });
  }

  /**
   * Writes the copies missed while backends were down or frozen, by this gateway or another,
   * before a restart or since: each record as the database holds it now. Resolves to the records
   * now complete. A record taken is added back when still short; one taken by a gateway that
   * dies before writing it keeps the copies it had (at least one).
   */
  async catchUp(): Promise<number> {
    let done = 0;
    // Counted first: taking is a write transaction, not to be made on every refresh for nothing.
    this.short = await this.meta.countRecordsShort();
    if (this.short === 0 || this.backends.list().filter((b) => b.state === 'up').length < this.copies) return done;
    for (const id of await this.meta.takeRecordsShort(CATCH_UP_BATCH)) {
      const recordKey = recordKeyOf(id);
      try {
        const stored = await this.serial(recordKey, async () => {
          const body = await currentBody(this.meta, id);
          return body ? this.replicate(id, recordKey, this.seal(body)) : this.copies;
        });
        if (stored === this.copies) done++;
      } catch {
        await this.meta.addRecordsShort([id]); // the database out of reach: next time
      }
    }
    this.short = await this.meta.countRecordsShort();
    return done;
  }

  /** Stores `copies` copies where it can; records the record as short when short. Resolves to the copies stored. */
  private async replicate(id: string, recordKey: string, sealed: Buffer): Promise<number> {
    const ranked = this.ranked(recordKey);
    // A copy that fails (or does not answer in time) goes to the next backend in the ranking.
    const spares = ranked.slice(this.copies);
    const targets = ranked.slice(0, this.copies);
    // All copies but one stored: the last is a straggler.
    const waits = new Stragglers(Math.max(1, targets.length - 1), targets.length, this.waits.stragglerMs);
    await Promise.all(
      targets.map(async (first) => {
        for (let b: string | undefined = first; b !== undefined && !waits.givenUp; b = spares.shift()) {
          try {
            await this.backends.run(b, (c) => c.set(recordKey, sealed), waits.signal(this.waits.timeoutMs));
            waits.storedOne();
            return;
          } catch {
            // next spare
          }
        }
      }),
    ).finally(() => waits.close());
    if (waits.stored < this.copies) {
      await this.meta.addRecordsShort([id]);
      this.short++;
    }
    return waits.stored;
  }

  private serial<T>(recordKey: string, task: () => Promise<T>): Promise<T> {
    const run = (this.writing.get(recordKey) ?? Promise.resolve()).then(task, task);
    const settled = run.catch(() => {});
    this.writing.set(recordKey, settled);
    void settled.then(() => {
      if (this.writing.get(recordKey) === settled) this.writing.delete(recordKey);
    });
    return run;
  }

  /** Records short of copies waiting for `catchUp`. */
  get recordsShort(): number {
    return this.short;
  }

  /** The up backends by rendezvous score for this record, highest first: the first `copies` hold it. */
  private ranked(recordKey: string): string[] {
    const up = this.backends.list().filter((b) => b.state === 'up');
    const scored = up.map((b) => ({
      id: b.id,
      score: crypto.createHash('sha256').update(`${b.id}\0${recordKey}`).digest().readUInt32BE(0),
    }));
    scored.sort((a, b) => b.score - a.score);
    return scored.map((s) => s.id);
  }

  private encrypt(record: Record_): Buffer {
    const plain = Buffer.from(JSON.stringify(record));
    const out = Buffer.allocUnsafe(NONCE_BYTES + plain.length + TAG_BYTES);
    const nonce = crypto.randomBytes(NONCE_BYTES);
    nonce.copy(out);
    seal(this.key, nonce, AAD, plain, out.subarray(NONCE_BYTES));
    return out;
  }

  private decrypt(sealed: Buffer): Record_ | null {
    const plain = open(this.key, sealed.subarray(0, NONCE_BYTES), AAD, sealed.subarray(NONCE_BYTES));
    return plain ? (JSON.parse(plain.toString()) as Record_) : null;
  }

  /**
   * Reads every record from every reachable backend into `meta` (an empty database): the
   * newest version of each record wins, tombstones drop it.
   */
  async rebuild(meta: MetaStore, progress: (message: string) => void = () => {}): Promise<RebuildReport> {
    const newest = new Map<string, Record_>();
    const report: RebuildReport = {
      backends: 0,
      records: 0,
      buckets: 0,
      objects: 0,
      accessKeys: 0,
      kmsKeys: 0,
      unreadable: 0,
    };
    for (const b of this.backends.list()) {
      let keys: Buffer[] = [];
      try {
        const client = this.backends.client(b.id);
        for await (const entry of client.scanAll()) {
          if (entry.key.toString('latin1').startsWith(PREFIX)) keys.push(entry.key);
        }
        for (let i = 0; i < keys.length; i += 256) {
          const batch = keys.slice(i, i + 256);
          const values = await client.mget(batch);
          values.forEach((v, j) => {
            if (!v) return;
            const record = this.decrypt(v);
            if (!record) {
              report.unreadable++;
              return;
            }
            report.records++;
            const id = batch[j]!.toString('latin1');
            const have = newest.get(id);
            if (!have || have.version < record.version) newest.set(id, record);
          });
        }
        report.backends++;
        progress(`backend ${b.id}: ${keys.length} records`);
      } catch (e) {
        progress(`backend ${b.id} skipped: ${(e as Error).message}`);
      }
      keys = [];
    }
    if (report.records === 0 && report.unreadable > 0) {
      throw new PipelineError(
        'WRONG_MASTER_KEY',
        `none of the ${report.unreadable} metadata records decrypt with this master key`,
      );
    }
    const records = [...newest.values()];
    for (const r of records) {
      if (r.body.t !== 'bucket' || r.body.settings === null) continue;
      await meta.createBucket(r.body.bucket, r.body.settings);
      report.buckets++;
    }
    const perBucket = new Map<string, VersionRecord[]>();
    const buckets = new Set((await meta.listBuckets()).map((b) => b.name));
    // Oldest version first: each restored version becomes its key's newest.
    const timeOf = (r: Record_): number =>
      r.body.t === 'object' ? (r.body.manifest?.lastModified ?? r.body.marker?.lastModified ?? 0) : 0;
    records.sort((a, b) => timeOf(a) - timeOf(b) || a.version - b.version);
    for (const r of records) {
      if (r.body.t !== 'object' || !buckets.has(r.body.bucket)) continue;
      const { key, manifest, marker } = r.body;
      const version: VersionRecord | null = manifest ? { key, manifest } : marker ? { key, marker } : null;
      if (!version) continue;
      const list = perBucket.get(r.body.bucket) ?? [];
      list.push(version);
      perBucket.set(r.body.bucket, list);
    }
    for (const [bucket, objects] of perBucket) {
      for (let i = 0; i < objects.length; i += 1000) await meta.putObjects(bucket, objects.slice(i, i + 1000));
      report.objects += objects.length;
      progress(`bucket ${bucket}: ${objects.length} objects`);
    }
    report.accessKeys = await this.restoreAccessKeys(meta, records);
    for (const r of records) {
      if (r.body.t !== 'kms' || !r.body.key) continue;
      await meta.createKmsKey(r.body.id, Buffer.from(r.body.key.sealedKey, 'base64'), r.body.key.created);
      report.kmsKeys++;
    }
    return report;
  }

  /**
   * The access keys of `records` (the newest of each) into `meta`, with the grants whose bucket
   * is the one restored (same creation time); then every bucket and key record is written again
   * from the rebuilt database, whose buckets carry new creation times, so that a later rebuild
   * still matches them.
   */
  private async restoreAccessKeys(meta: MetaStore, records: Record_[]): Promise<number> {
    const created = new Map<string, number>();
    for (const r of records) if (r.body.t === 'bucket' && r.body.settings) created.set(r.body.bucket, r.body.created);
    const restored: string[] = [];
    for (const r of records) {
      if (r.body.t !== 'key' || !r.body.key) continue;
      const { accessKeyId, key } = r.body;
      await meta.createAccessKey(
        accessKeyId,
        Buffer.from(key.sealedSecret, 'base64'),
        key.name,
        key.createBuckets === true,
      );
      for (const g of key.grants)
        if (created.get(g.bucket) === g.bucketCreated) await meta.allow(accessKeyId, g.bucket, g.permissions);
      restored.push(accessKeyId);
    }
    for (const b of await meta.listBuckets()) {
      const bucket = (await meta.getBucket(b.name))!;
      await this.putBucket(b.name, bucket.created, bucket.settings);
    }
    for (const id of restored) await this.putAccessKey(meta, id);
    return restored.length;
  }
}

/** The backend key of record `id` (`o\0bucket\0key`, `v\0bucket\0key\0version`, `b\0bucket`, `k\0access key`, `m\0KMS key`). */
function recordKeyOf(id: string): string {
  return PREFIX + crypto.createHash('sha256').update(id).digest('hex');
}

/** An access key's record as the database holds it now (a tombstone once it is gone). */
async function accessKeyBody(meta: MetaStore, accessKeyId: string): Promise<RecordBody> {
  const key = await meta.getAccessKey(accessKeyId);
  if (!key) return { t: 'key', accessKeyId, key: null };
  const grants: AccessKeyRecord['grants'] = [];
  for (const g of await meta.listGrants(accessKeyId)) {
    const bucket = await meta.getBucket(g.bucket);
    if (bucket) grants.push({ bucket: g.bucket, bucketCreated: bucket.created, permissions: g.permissions });
  }
  return {
    t: 'key',
    accessKeyId,
    key: {
      name: key.name,
      created: key.created,
      sealedSecret: key.encryptedSecret.toString('base64'),
      createBuckets: key.createBuckets,
      grants,
    },
  };
}

/** A KMS key's record as the database holds it now (a tombstone once it is gone). */
async function kmsKeyBody(meta: MetaStore, id: string): Promise<RecordBody> {
  const key = await meta.getKmsKey(id);
  return { t: 'kms', id, key: key ? { sealedKey: key.sealedKey.toString('base64'), created: key.created } : null };
}

/** Record `id` as the database holds it now (tombstones for what is gone); null for an id of no known form. */
async function currentBody(meta: MetaStore, id: string): Promise<RecordBody | null> {
  const kind = id.slice(0, 2);
  const rest = id.slice(2);
  if (kind === 'k\0') return accessKeyBody(meta, rest);
  if (kind === 'm\0') return kmsKeyBody(meta, rest);
  if (kind === 'b\0') {
    const bucket = await meta.getBucket(rest);
    return { t: 'bucket', bucket: rest, created: bucket?.created ?? 0, settings: bucket?.settings ?? null };
  }
  if (kind !== 'o\0' && kind !== 'v\0') return null;
  const sep = rest.indexOf('\0');
  const bucket = rest.slice(0, sep);
  // A version id never holds a NUL; a key might.
  const end = kind === 'v\0' ? rest.lastIndexOf('\0') : rest.length;
  const key = rest.slice(sep + 1, end);
  const versionId = kind === 'v\0' ? rest.slice(end + 1) : NULL_VERSION;
  const version = (await meta.getBucket(bucket)) ? await meta.getVersion(bucket, key, versionId) : null;
  return {
    t: 'object',
    bucket,
    key,
    manifest: version?.manifest ?? null,
    ...(version?.marker ? { marker: version.marker } : {}),
  };
}
