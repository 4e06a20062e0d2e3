import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
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
  BucketSettings,
  BucketUsage,
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
import { Counts } from './counts.js';
import { AccessKeys } from './keys.js';
import { KmsKeys } from './kms-keys.js';
import { Multipart } from './multipart.js';
import { Objects } from './objects.js';
import { Gateways, Leases } from './leases.js';
import { PendingWrites } from './pending-writes.js';
import { DeleteQueue, RepairQueue } from './queues.js';
import { RecordsShort } from './records-short.js';
import { VersionListing } from './version-listing.js';
import { migrate } from './schema.js';
import { WalSync } from './wal-sync.js';

export interface SqliteMetaStoreOptions {
  /**
   * sqlite's page cache (default 64). sqlite's own default, 2 MiB, holds a small part of a big
   * bucket's index, and every page read past it is a system call; bulk imports want hundreds.
   */
  cacheMiB?: number;
}

/**
 * The embedded metadata store: one sqlite file in WAL mode. sqlite itself never syncs a commit
 * (synchronous=NORMAL); `WalSync` does: at once for most writes, so the method whose promise
 * resolved has its change on disk, and as a group commit off the event loop for the writes of
 * the request path (see `MetaStore`), whose callers await `durable()`. This class is where
 * transactions begin and bucket names become ids; the families it delegates to only run
 * statements.
 */
export class SqliteMetaStore implements MetaStore {
  private readonly db: Database.Database;
  private readonly transaction: Database.Transaction<(body: () => unknown) => unknown>;
  private readonly buckets: Buckets;
  private readonly objects: Objects;
  private readonly versions: VersionListing;
  private readonly multipart: Multipart;
  private readonly keys: AccessKeys;
  private readonly kmsKeys: KmsKeys;
  private readonly backends: Backends;
  private readonly deletes: DeleteQueue;
  private readonly repairs: RepairQueue;
  private readonly recordsShort: RecordsShort;
  private readonly writes: PendingWrites;
  private readonly refs: ChunkRefs;
  private readonly counts: Counts;
  private readonly wal: WalSync;
  private readonly leases: Leases;
  private readonly gateways: Gateways;
  /** The gateway whose pending writes this store begins (see `heartbeatGateway`). */
  private owner = `store-${randomUUID()}`;

  constructor(path: string, { cacheMiB = 64 }: SqliteMetaStoreOptions = {}) {
    // Created 0600 before sqlite opens it: it holds wrapped keys and encrypted secrets, and
    // sqlite gives new -wal and -shm files the database file's mode. Older files are tightened.
    closeSync(openSync(path, 'a', 0o600));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.wal = new WalSync(`${path}-wal`);
    this.db.pragma(`cache_size = ${-Math.round(cacheMiB * 1024)}`);
    migrate(this.db);
    this.transaction = this.db.transaction((body: () => unknown) => body());
    this.buckets = new Buckets(this.db);
    this.deletes = new DeleteQueue(this.db);
    this.repairs = new RepairQueue(this.db);
    this.recordsShort = new RecordsShort(this.db);
    this.writes = new PendingWrites(this.db, this.deletes);
    this.refs = new ChunkRefs(this.db, this.deletes);
    this.objects = new Objects(this.db, this.buckets, this.refs, this.writes);
    this.versions = new VersionListing(this.db, this.objects);
    this.multipart = new Multipart(this.db, this.refs, this.writes, this.objects);
    this.keys = new AccessKeys(this.db);
    this.kmsKeys = new KmsKeys(this.db);
    this.backends = new Backends(this.db);
    this.leases = new Leases(this.db);
    this.gateways = new Gateways(this.db);
    this.counts = new Counts(this.db);
  }

  /**
   * One write transaction, on disk when this returns. IMMEDIATE takes the write lock up front,
   * so it never fails half-way for a lock.
   */
  private write<T>(body: () => T): T {
    const result = this.transaction.immediate(body) as T;
    this.wal.now();
    return result;
  }

  /** One write transaction of the request path: on disk once `durable()` resolves. */
  private writeDeferred<T>(body: () => T): T {
    const result = this.transaction.immediate(body) as T;
    this.wal.deferred();
    return result;
  }

  durable(): Promise<void> {
    return this.wal.durable();
  }

  /** One read snapshot, for reads made of several statements. */
  private read<T>(body: () => T): T {
    return this.transaction.deferred(body) as T;
  }

  async createBucket(name: string, settings: BucketSettings = {}): Promise<Bucket> {
    return this.write(() => this.buckets.create(name, settings));
  }

  async getBucket(name: string): Promise<Bucket | null> {
    return this.buckets.get(name);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.buckets.list();
  }

  async deleteBucket(name: string): Promise<void> {
    this.write(() => {
      const id = this.buckets.id(name);
      if (!this.objects.isEmpty(id)) throw new MetaError('BucketNotEmpty', `bucket ${name} is not empty`);
      this.multipart.abortAll(id);
      this.keys.revokeBucket(id);
      this.buckets.remove(id);
    });
  }

  async updateBucketSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<Bucket> {
    return this.write(() => {
      const id = this.buckets.id(name);
      this.buckets.setSettings(id, change(this.buckets.get(name)!.settings));
      return this.buckets.get(name)!;
    });
  }

  async putObject(
    bucket: string,
    key: string,
    manifest: ObjectManifest,
    writeId?: string,
    condition?: PutCondition,
  ): Promise<ObjectChange> {
    return this.writeDeferred(() => {
      const id = this.buckets.id(bucket);
      const k = Buffer.from(key);
      if (condition) this.objects.check(id, k, condition);
      return this.objects.put(id, k, manifest, writeId);
    });
  }

  async putObjects(bucket: string, versions: VersionRecord[]): Promise<void> {
    this.write(() => {
      const id = this.buckets.id(bucket);
      for (const version of versions) this.objects.restore(id, Buffer.from(version.key), version);
    });
  }

  async getObject(bucket: string, key: string): Promise<ObjectManifest | null> {
    return this.read(() => this.objects.get(this.buckets.id(bucket), Buffer.from(key)));
  }

  async getVersion(bucket: string, key: string, versionId?: string): Promise<StoredVersion | null> {
    return this.read(() => this.objects.getVersion(this.buckets.id(bucket), Buffer.from(key), versionId));
  }

  async updateObject(bucket: string, key: string, expectedId: string, manifest: ObjectManifest): Promise<boolean> {
    return this.write(() => this.objects.update(this.buckets.id(bucket), Buffer.from(key), expectedId, manifest));
  }

  async deleteObject(
    bucket: string,
    key: string,
    versionId?: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult> {
    return this.writeDeferred(() => this.objects.delete(this.buckets.id(bucket), Buffer.from(key), versionId, options));
  }

  async updateObjectLock(
    bucket: string,
    key: string,
    versionId: string | undefined,
    change: { retention?: Pick<ObjectLock, 'mode' | 'retainUntil'> | null; legalHold?: boolean },
    bypassGovernance = false,
  ): Promise<ObjectManifest> {
    return this.write(() =>
      this.objects.updateLock(this.buckets.id(bucket), Buffer.from(key), versionId, change, bypassGovernance),
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
    return this.writeDeferred(() =>
      this.objects.copy(
        { ...source, bucketId: this.buckets.id(source.bucket), key: Buffer.from(source.key) },
        this.buckets.id(dstBucket),
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
    return this.read(() =>
      this.objects.list(
        this.buckets.id(bucket),
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
    return this.read(() =>
      this.versions.list(this.buckets.id(bucket), {
        prefix: Buffer.from(prefix),
        delimiter: delimiter ? Buffer.from(delimiter) : null,
        keyMarker: keyMarker ? Buffer.from(keyMarker) : null,
        versionIdMarker: keyMarker && versionIdMarker !== undefined ? versionIdMarker : null,
        max: maxKeys,
      }),
    );
  }

  async createUpload(bucket: string, key: string, uploadId: string, headers: ObjectHeaders): Promise<void> {
    this.write(() => this.multipart.create(this.buckets.id(bucket), Buffer.from(key), uploadId, headers));
  }

  async getUpload(uploadId: string): Promise<UploadInfo | null> {
    return this.multipart.get(uploadId);
  }

  async putPart(uploadId: string, partNumber: number, part: PartUpload, writeId?: string): Promise<void> {
    this.writeDeferred(() => this.multipart.putPart(uploadId, partNumber, part, writeId));
  }

  async putCopiedPart(
    uploadId: string,
    partNumber: number,
    part: PartUpload,
    source: VersionSource & { id: string },
  ): Promise<boolean> {
    return this.writeDeferred(() => {
      if (
        this.objects.getVersion(this.buckets.id(source.bucket), Buffer.from(source.key), source.versionId)?.manifest
          ?.id !== source.id
      )
        return false;
      this.multipart.putPart(uploadId, partNumber, part);
      return true;
    });
  }

  async listParts(uploadId: string, partNumberMarker = 0, maxParts = 1000): Promise<ListPartsResult> {
    return this.read(() => this.multipart.listParts(uploadId, partNumberMarker, maxParts));
  }

  async listUploads(bucket: string, options: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    return this.read(() => this.multipart.list(this.buckets.id(bucket), options));
  }

  async completeUpload(
    uploadId: string,
    parts: CompletedPart[],
    fields: FinalManifestFields,
  ): Promise<CompletedUpload> {
    return this.writeDeferred(() => this.multipart.complete(uploadId, parts, fields));
  }

  async abortUpload(uploadId: string): Promise<void> {
    this.write(() => this.multipart.abort(uploadId));
  }

  async createKmsKey(id: string, sealedKey: Buffer, created = Date.now()): Promise<KmsKey> {
    return this.write(() => this.kmsKeys.create(id, sealedKey, created));
  }

  async getKmsKey(id: string): Promise<KmsKey | null> {
    return this.kmsKeys.get(id);
  }

  async listKmsKeys(): Promise<KmsKey[]> {
    return this.kmsKeys.list();
  }

  async deleteKmsKey(id: string): Promise<void> {
    this.write(() => this.kmsKeys.delete(id));
  }

  async createAccessKey(
    accessKeyId: string,
    encryptedSecret: Buffer,
    name: string,
    createBuckets = false,
  ): Promise<AccessKey> {
    return this.write(() => this.keys.create(accessKeyId, encryptedSecret, name, createBuckets));
  }

  async setCreateBuckets(accessKeyId: string, allowed: boolean): Promise<void> {
    this.write(() => this.keys.setCreateBuckets(accessKeyId, allowed));
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKey | null> {
    return this.keys.get(accessKeyId);
  }

  async listAccessKeys(): Promise<AccessKey[]> {
    return this.keys.list();
  }

  async deleteAccessKey(accessKeyId: string): Promise<void> {
    this.write(() => this.keys.delete(accessKeyId));
  }

  async allow(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions> {
    return this.write(() => this.keys.change(accessKeyId, this.buckets.id(bucket), permissions, true));
  }

  async deny(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions> {
    return this.write(() => this.keys.change(accessKeyId, this.buckets.id(bucket), permissions, false));
  }

  async check(accessKeyId: string, bucket: string): Promise<Permissions> {
    return this.keys.check(accessKeyId, bucket);
  }

  async listGrants(accessKeyId: string): Promise<BucketGrant[]> {
    return this.keys.grants(accessKeyId);
  }

  async upsertBackend(backend: Backend): Promise<void> {
    this.write(() => this.backends.upsert(backend));
  }

  async listBackends(): Promise<Backend[]> {
    return this.backends.list();
  }

  async setBackendState(id: string, state: BackendState): Promise<boolean> {
    return this.write(() => this.backends.setState(id, state));
  }

  async enqueueDeletes(shards: ShardLocation[]): Promise<void> {
    this.write(() => this.deletes.enqueue(shards));
  }

  async takeDeletes(limit: number, leaseMs: number): Promise<QueuedShard[]> {
    return this.write(() => this.deletes.take(limit, leaseMs, (chunkId) => this.refs.held(chunkId)));
  }

  async ackDeletes(ids: number[]): Promise<void> {
    this.write(() => this.deletes.ack(ids));
  }

  async enqueueRepair(chunkId: string, reason: string): Promise<void> {
    this.write(() => this.repairs.enqueue(chunkId, reason));
  }

  async takeRepairs(limit: number, leaseMs: number): Promise<RepairTask[]> {
    return this.write(() => this.repairs.take(limit, leaseMs));
  }

  async ackRepairs(chunkIds: string[]): Promise<void> {
    this.write(() => this.repairs.ack(chunkIds));
  }

  async addRecordsShort(ids: string[]): Promise<void> {
    this.writeDeferred(() => this.recordsShort.add(ids));
  }

  async takeRecordsShort(limit: number): Promise<string[]> {
    return this.write(() => this.recordsShort.take(limit));
  }

  async countRecordsShort(): Promise<number> {
    return this.read(() => this.recordsShort.count());
  }

  async countRepairs(): Promise<number> {
    return this.counts.repairQueue();
  }

  async countDeletes(): Promise<number> {
    return this.counts.deleteQueue();
  }

  async bucketUsage(bucket: string): Promise<BucketUsage> {
    return this.read(() => this.counts.usage(this.buckets.id(bucket)));
  }

  async beginWrite(writeId: string, shards: ShardLocation[]): Promise<void> {
    this.writeDeferred(() => this.writes.begin(writeId, shards, this.owner));
  }

  async commitWrite(writeId: string, chunks: ChunkRef[]): Promise<void> {
    this.write(() => this.writes.commit(writeId, chunks));
  }

  async abortWrite(writeId: string): Promise<void> {
    this.writeDeferred(() => this.writes.abort(writeId));
  }

  async recoverPendingWrites(maxAgeMs?: number): Promise<number> {
    return this.write(() => this.writes.recover(maxAgeMs));
  }

  // Leases and heartbeats matter only while gateways run: not synced on their own, since a crash
  // of the machine loses nothing they need, and they come every few seconds.
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.writeDeferred(() => this.leases.acquire(name, holder, ttlMs));
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.writeDeferred(() => this.leases.give(name, holder));
  }

  async listLeases(): Promise<Lease[]> {
    return this.leases.current();
  }

  async heartbeatGateway(info: GatewayInfo): Promise<void> {
    this.writeDeferred(() => this.gateways.heartbeat(info));
    this.owner = info.id;
  }

  async listGateways(maxAgeMs: number): Promise<LiveGateway[]> {
    return this.gateways.list(maxAgeMs);
  }

  async forgetGateway(id: string): Promise<void> {
    this.writeDeferred(() => this.gateways.forget(id));
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
    this.wal.close();
  }
}
