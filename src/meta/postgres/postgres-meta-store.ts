import { randomUUID } from 'node:crypto';
import type { ChunkRef, ObjectLock, ObjectManifest } from '../manifest.js';
import { MetaError } from '../errors.js';
import type {
  AccessKey,
  KmsKey,
  Backend,
  BackendState,
  Bucket,
  BucketGrant,
  BucketInfo,
  BucketUsage,
  BucketSettings,
  CompletedPart,
  CompletedUpload,
  DeleteOptions,
  DeleteResult,
  FinalManifestFields,
  GatewayInfo,
  Lease,
  ListObjectsOptions,
  ListObjectsResult,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ListVersionsOptions,
  ListVersionsResult,
  LiveGateway,
  MetaStore,
  ObjectChange,
  ObjectHeaders,
  PartUpload,
  PutCondition,
  Permissions,
  QueuedShard,
  RepairTask,
  ShardLocation,
  StoredVersion,
  UploadInfo,
  VersionRecord,
  VersionSource,
} from '../meta-store.js';
import { Backends } from './backends.js';
import { Buckets } from './buckets.js';
import { ChunkRefs } from './chunk-refs.js';
import { createPool, Database, type PoolOptions, type Sql } from './connection.js';
import { AccessKeys } from './keys.js';
import { KmsKeys } from './kms-keys.js';
import { Leases } from './leases.js';
import { Counts } from './counts.js';
import { RecordsShort } from './records-short.js';
import { Multipart } from './multipart.js';
import { ObjectPut } from './object-put.js';
import { Objects } from './objects.js';
import { PendingWrites } from './pending-writes.js';
import { DeleteQueue, RepairQueue } from './queues.js';
import { migrate } from './schema.js';
import { VersionListing } from './version-listing.js';

export type PostgresMetaStoreOptions = PoolOptions;

/**
 * The metadata store of several gateways: one PostgreSQL database, reached through a pool.
 *
 * Every mutation is one SERIALIZABLE transaction, run again from the start when PostgreSQL
 * detects a conflict with a concurrent one (40001) or a deadlock (40P01): a conditional PUT, a
 * completion, a versioning change or a chunk count is as correct across gateways as inside one.
 * The queues are taken in READ COMMITTED with FOR UPDATE SKIP LOCKED instead (consumers never
 * wait for each other). Reads of one statement run alone; reads of several share a snapshot.
 * Every commit is durable when it returns (synchronous_commit), so `durable()` has nothing to
 * wait for. A database that cannot be reached fails the call with MetaUnavailableError.
 */
export class PostgresMetaStore implements MetaStore {
  private readonly buckets = new Buckets();
  private readonly deletes = new DeleteQueue();
  private readonly repairs = new RepairQueue();
  private readonly writes = new PendingWrites(this.deletes);
  private readonly refs = new ChunkRefs(this.deletes);
  private readonly objects = new Objects(this.refs);
  private readonly versions = new VersionListing(this.objects);
  private readonly multipart = new Multipart(this.refs, this.writes, this.objects);
  private readonly keys = new AccessKeys();
  private readonly kmsKeys = new KmsKeys();
  private readonly backends = new Backends();
  private readonly leases = new Leases();
  private readonly counts = new Counts();
  private readonly recordsShort = new RecordsShort();

  /** The gateway whose pending writes this store begins (see `heartbeatGateway`). */
  private owner = `store-${randomUUID()}`;
  /**
   * The writes begun through this store and not yet committed or aborted. A write is begun,
   * committed and aborted by one process (its ids are random), so a commit or abort of an id
   * not here has no row to clear: an inline PUT's commit skips that statement (a round trip,
   * and a read under SERIALIZABLE that concurrent begins conflict with), its abort the transaction.
   */
  private readonly begun = new Set<string>();

  /** PutObject in one round trip (a server-side function). */
  private readonly objectPut: ObjectPut;

  private constructor(private readonly db: Database) {
    this.objectPut = new ObjectPut(db);
  }

  /** Connects, and brings the schema up to date (under an advisory lock: gateways may start at once). */
  static async open(url: string, options: PostgresMetaStoreOptions = {}): Promise<PostgresMetaStore> {
    const db = new Database(createPool(url, options), url);
    try {
      await migrate(db.pool);
    } catch (error) {
      await db.close();
      throw db.translate(error);
    }
    return new PostgresMetaStore(db);
  }

  private write<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction('SERIALIZABLE', body);
  }

  /** One snapshot for a read made of several statements. */
  private read<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction('REPEATABLE READ READ ONLY', body);
  }

  /** One statement, or several independent ones. */
  private statement<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    return this.db.statements(body);
  }

  async durable(): Promise<void> {}

  async createBucket(name: string, settings: BucketSettings = {}): Promise<Bucket> {
    return this.statement((sql) => this.buckets.create(sql, name, settings));
  }

  async getBucket(name: string): Promise<Bucket | null> {
    return this.statement((sql) => this.buckets.get(sql, name));
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.statement((sql) => this.buckets.list(sql));
  }

  async deleteBucket(name: string): Promise<void> {
    await this.write(async (sql) => {
      const id = await this.buckets.id(sql, name);
      if (!(await this.objects.isEmpty(sql, id))) throw new MetaError('BucketNotEmpty', `bucket ${name} is not empty`);
      await this.multipart.abortAll(sql, id);
      await this.keys.revokeBucket(sql, id);
      await this.buckets.remove(sql, id);
    });
  }

  async updateBucketSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<Bucket> {
    return this.write(async (sql) => {
      const bucket = await this.buckets.require(sql, name);
      return this.buckets.setSettings(sql, bucket.id, change(bucket.settings));
    });
  }

  async putObject(
    bucket: string,
    key: string,
    manifest: ObjectManifest,
    writeId?: string,
    condition?: PutCondition,
  ): Promise<ObjectChange> {
    const change = await this.objectPut.put(bucket, Buffer.from(key), manifest, this.begunOrNot(writeId), condition);
    this.ended(writeId);
    return change;
  }

  async putObjects(bucket: string, versions: VersionRecord[]): Promise<void> {
    await this.write(async (sql) => {
      await this.objects.restoreAll(sql, await this.buckets.id(sql, bucket), versions);
    });
  }

  async getObject(bucket: string, key: string): Promise<ObjectManifest | null> {
    return this.statement((sql) => this.objects.get(sql, bucket, Buffer.from(key)));
  }

  async getVersion(bucket: string, key: string, versionId?: string): Promise<StoredVersion | null> {
    return this.statement(async (sql) =>
      this.objects.getVersion(sql, await this.buckets.id(sql, bucket), Buffer.from(key), versionId),
    );
  }

  async updateObject(bucket: string, key: string, expectedId: string, manifest: ObjectManifest): Promise<boolean> {
    return this.write(async (sql) =>
      this.objects.update(sql, await this.buckets.id(sql, bucket), Buffer.from(key), expectedId, manifest),
    );
  }

  async deleteObject(
    bucket: string,
    key: string,
    versionId?: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult> {
    return this.write(async (sql) =>
      this.objects.delete(sql, await this.buckets.require(sql, bucket), Buffer.from(key), versionId, options),
    );
  }

  async updateObjectLock(
    bucket: string,
    key: string,
    versionId: string | undefined,
    change: { retention?: Pick<ObjectLock, 'mode' | 'retainUntil'> | null; legalHold?: boolean },
    bypassGovernance = false,
  ): Promise<ObjectManifest> {
    return this.write(async (sql) =>
      this.objects.updateLock(
        sql,
        await this.buckets.id(sql, bucket),
        Buffer.from(key),
        versionId,
        change,
        bypassGovernance,
      ),
    );
  }

  async copyObject(
    source: VersionSource,
    dstBucket: string,
    dstKey: string,
    replace?: ObjectHeaders,
    lock?: ObjectLock,
    condition?: PutCondition,
  ): Promise<ObjectChange | null> {
    return this.write(async (sql) =>
      this.objects.copy(
        sql,
        { ...source, bucketId: await this.buckets.id(sql, source.bucket), key: Buffer.from(source.key) },
        await this.buckets.require(sql, dstBucket),
        Buffer.from(dstKey),
        replace,
        lock,
        condition,
      ),
    );
  }

  async listObjects({
    bucket,
    prefix = '',
    delimiter,
    startAfter,
    maxKeys = 1000,
    owners,
  }: ListObjectsOptions): Promise<ListObjectsResult> {
    // A page is one query: no snapshot to share, no transaction to open.
    return this.statement(async (sql) =>
      this.objects.list(
        sql,
        await this.buckets.id(sql, bucket),
        {
          prefix: Buffer.from(prefix),
          delimiter: delimiter ? Buffer.from(delimiter) : null,
          after: startAfter ? Buffer.from(startAfter) : null,
        },
        maxKeys,
        owners,
      ),
    );
  }

  async listVersions({
    bucket,
    prefix = '',
    delimiter,
    keyMarker,
    versionIdMarker,
    maxKeys = 1000,
  }: ListVersionsOptions): Promise<ListVersionsResult> {
    return this.read(async (sql) =>
      this.versions.list(sql, await this.buckets.id(sql, bucket), {
        prefix: Buffer.from(prefix),
        delimiter: delimiter ? Buffer.from(delimiter) : null,
        keyMarker: keyMarker ? Buffer.from(keyMarker) : null,
        versionIdMarker: keyMarker && versionIdMarker !== undefined ? versionIdMarker : null,
        max: maxKeys,
      }),
    );
  }

  async createUpload(bucket: string, key: string, uploadId: string, headers: ObjectHeaders): Promise<void> {
    await this.write(async (sql) =>
      this.multipart.create(sql, await this.buckets.id(sql, bucket), Buffer.from(key), uploadId, headers),
    );
  }

  async getUpload(uploadId: string): Promise<UploadInfo | null> {
    return this.statement((sql) => this.multipart.get(sql, uploadId));
  }

  async putPart(uploadId: string, partNumber: number, part: PartUpload, writeId?: string): Promise<void> {
    await this.write((sql) => this.multipart.putPart(sql, uploadId, partNumber, part, this.begunOrNot(writeId)));
    this.ended(writeId);
  }

  async putCopiedPart(
    uploadId: string,
    partNumber: number,
    part: PartUpload,
    source: VersionSource & { id: string },
  ): Promise<boolean> {
    return this.write(async (sql) => {
      const bucketId = await this.buckets.id(sql, source.bucket);
      const found = await this.objects.getVersion(sql, bucketId, Buffer.from(source.key), source.versionId);
      if (found?.manifest?.id !== source.id) return false;
      await this.multipart.putPart(sql, uploadId, partNumber, part);
      return true;
    });
  }

  async listParts(uploadId: string, partNumberMarker = 0, maxParts = 1000): Promise<ListPartsResult> {
    return this.read((sql) => this.multipart.listParts(sql, uploadId, partNumberMarker, maxParts));
  }

  async listUploads(bucket: string, options: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    return this.read(async (sql) => this.multipart.list(sql, await this.buckets.id(sql, bucket), options));
  }

  async completeUpload(
    uploadId: string,
    parts: CompletedPart[],
    fields: FinalManifestFields,
  ): Promise<CompletedUpload> {
    return this.write((sql) => this.multipart.complete(sql, uploadId, parts, fields));
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.write((sql) => this.multipart.abort(sql, uploadId));
  }

  async createKmsKey(id: string, sealedKey: Buffer, created = Date.now()): Promise<KmsKey> {
    return this.statement((sql) => this.kmsKeys.create(sql, id, sealedKey, created));
  }

  async getKmsKey(id: string): Promise<KmsKey | null> {
    return this.statement((sql) => this.kmsKeys.get(sql, id));
  }

  async listKmsKeys(): Promise<KmsKey[]> {
    return this.statement((sql) => this.kmsKeys.list(sql));
  }

  async deleteKmsKey(id: string): Promise<void> {
    await this.statement((sql) => this.kmsKeys.delete(sql, id));
  }

  async createAccessKey(
    accessKeyId: string,
    encryptedSecret: Buffer,
    name: string,
    createBuckets = false,
  ): Promise<AccessKey> {
    return this.statement((sql) => this.keys.create(sql, accessKeyId, encryptedSecret, name, createBuckets));
  }

  async setCreateBuckets(accessKeyId: string, allowed: boolean): Promise<void> {
    await this.statement((sql) => this.keys.setCreateBuckets(sql, accessKeyId, allowed));
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKey | null> {
    return this.statement((sql) => this.keys.get(sql, accessKeyId));
  }

  async listAccessKeys(): Promise<AccessKey[]> {
    return this.statement((sql) => this.keys.list(sql));
  }

  async deleteAccessKey(accessKeyId: string): Promise<void> {
    await this.write((sql) => this.keys.delete(sql, accessKeyId));
  }

  async allow(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions> {
    return this.write(async (sql) =>
      this.keys.change(sql, accessKeyId, await this.buckets.id(sql, bucket), permissions, true),
    );
  }

  async deny(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions> {
    return this.write(async (sql) =>
      this.keys.change(sql, accessKeyId, await this.buckets.id(sql, bucket), permissions, false),
    );
  }

  async check(accessKeyId: string, bucket: string): Promise<Permissions> {
    return this.statement((sql) => this.keys.check(sql, accessKeyId, bucket));
  }

  async listGrants(accessKeyId: string): Promise<BucketGrant[]> {
    return this.statement((sql) => this.keys.grants(sql, accessKeyId));
  }

  async upsertBackend(backend: Backend): Promise<void> {
    await this.statement((sql) => this.backends.upsert(sql, backend));
  }

  async listBackends(): Promise<Backend[]> {
    return this.statement((sql) => this.backends.list(sql));
  }

  async setBackendState(id: string, state: BackendState): Promise<boolean> {
    return this.statement((sql) => this.backends.setState(sql, id, state));
  }

  async enqueueDeletes(shards: ShardLocation[]): Promise<void> {
    await this.statement((sql) => this.deletes.enqueue(sql, shards));
  }

  async takeDeletes(limit: number, leaseMs: number): Promise<QueuedShard[]> {
    return this.db.transaction('READ COMMITTED', (sql) =>
      this.deletes.take(sql, limit, leaseMs, (chunkIds) => this.refs.held(sql, chunkIds)),
    );
  }

  async ackDeletes(ids: number[]): Promise<void> {
    await this.statement((sql) => this.deletes.ack(sql, ids));
  }

  async enqueueRepair(chunkId: string, reason: string): Promise<void> {
    await this.statement((sql) => this.repairs.enqueue(sql, chunkId, reason));
  }

  async takeRepairs(limit: number, leaseMs: number): Promise<RepairTask[]> {
    return this.statement((sql) => this.repairs.take(sql, limit, leaseMs));
  }

  async ackRepairs(chunkIds: string[]): Promise<void> {
    await this.statement((sql) => this.repairs.ack(sql, chunkIds));
  }

  async beginWrite(writeId: string, shards: ShardLocation[]): Promise<void> {
    // Before the statement: one that fails after reaching the server may have inserted rows.
    if (shards.length > 0) this.begun.add(writeId);
    await this.statement((sql) => this.writes.begin(sql, writeId, shards, this.owner));
  }

  async commitWrite(writeId: string, chunks: ChunkRef[]): Promise<void> {
    if (!this.begun.has(writeId)) return;
    await this.write((sql) => this.writes.commit(sql, writeId, chunks));
    this.ended(writeId);
  }

  async abortWrite(writeId: string): Promise<void> {
    if (!this.begun.has(writeId)) return;
    await this.write((sql) => this.writes.abort(sql, writeId));
    this.ended(writeId);
  }

  /** `writeId` when it has rows to clear (see `begun`). */
  private begunOrNot(writeId: string | undefined): string | undefined {
    return writeId !== undefined && this.begun.has(writeId) ? writeId : undefined;
  }

  /** Called once a commit with `writeId` succeeded (one that failed leaves it begun, for its abort). */
  private ended(writeId: string | undefined): void {
    if (writeId !== undefined) this.begun.delete(writeId);
  }

  async recoverPendingWrites(maxAgeMs?: number): Promise<number> {
    return this.write((sql) => this.writes.recover(sql, maxAgeMs));
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.statement((sql) => this.leases.acquire(sql, name, holder, ttlMs));
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.statement((sql) => this.leases.release(sql, name, holder));
  }

  async listLeases(): Promise<Lease[]> {
    return this.statement((sql) => this.leases.list(sql));
  }

  async heartbeatGateway(info: GatewayInfo): Promise<void> {
    await this.statement((sql) => this.leases.heartbeat(sql, info));
    this.owner = info.id;
  }

  async listGateways(maxAgeMs: number): Promise<LiveGateway[]> {
    return this.statement((sql) => this.leases.gateways(sql, maxAgeMs));
  }

  async forgetGateway(id: string): Promise<void> {
    await this.statement((sql) => this.leases.forget(sql, id));
  }

  /**
   * The key check value of the store's master key (see keyCheckValue): `value` when none was
   * recorded yet (now it is), else the one recorded by the first gateway. It lives here, not in
   * each gateway's data directory, so that a gateway given another master key is refused
   * whatever its own directory holds.
   */
  async claimKeyCheck(value: string): Promise<string> {
    return this.write(async (sql) => {
      await sql.run(
        `INSERT INTO store_settings (name, value) VALUES ('master_key_check', $1) ON CONFLICT (name) DO NOTHING`,
        [value],
      );
      const row = await sql.row<{ value: string }>(`SELECT value FROM store_settings WHERE name = 'master_key_check'`);
      return row!.value;
    });
  }

  async addRecordsShort(ids: string[]): Promise<void> {
    await this.statement((sql) => this.recordsShort.add(sql, ids));
  }

  async takeRecordsShort(limit: number): Promise<string[]> {
    return this.statement((sql) => this.recordsShort.take(sql, limit));
  }

  async countRecordsShort(): Promise<number> {
    return this.statement((sql) => this.recordsShort.count(sql));
  }

  async countRepairs(): Promise<number> {
    return this.statement((sql) => this.counts.repairQueue(sql));
  }

  async countDeletes(): Promise<number> {
    return this.statement((sql) => this.counts.deleteQueue(sql));
  }

  async bucketUsage(bucket: string): Promise<BucketUsage> {
    return this.read(async (sql) => this.counts.usage(sql, await this.buckets.id(sql, bucket)));
  }

  async ping(): Promise<void> {
    await this.statement((sql) => sql.row('SELECT 1'));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
