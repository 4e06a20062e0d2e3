/**
 * The metadata store: the one interface the gateway, the store and the repair workers use, so
 * that an engine other than sqlite (PostgreSQL, for several gateways) can implement it.
 *
 * Every method is synchronous and every mutating method is one transaction, visible to every
 * later call once it returns. Most are also durable (on disk) when they return. The writes of
 * the request path, marked "group-committed" below, are durable once a later `durable()`
 * resolves: many requests then share one disk flush, and the caller acknowledges its client
 * only after awaiting it. Keys are strings compared, stored and listed as their raw UTF-8
 * bytes, which is S3's order.
 */
import type { ChunkRef, ObjectManifest, ShardRef } from '../store/manifest.js';
import { MetaError } from './errors.js';

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders?: string[];
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
}

/** Per-bucket settings, kept as one JSON document. */
export interface BucketSettings {
  versioning?: 'Enabled' | 'Suspended';
  cors?: CorsRule[];
  /** Overrides the cluster's k + m for new objects in this bucket. */
  erasure?: { dataShards: number; parityShards: number; writeQuorum?: number };
  /** Access key id that created the bucket. */
  owner?: string;
}

export interface BucketInfo {
  name: string;
  /** Unix milliseconds. */
  created: number;
}

export interface Bucket extends BucketInfo {
  settings: BucketSettings;
}

/** The stored headers of an object that a multipart upload fixes at creation. */
export interface ObjectHeaders {
  contentType?: string;
  metadata: Record<string, string>;
}

/**
 * A put that commits only if the key is still absent (`If-None-Match: *`) or still holds the
 * object with this ETag (`If-Match`); checked inside the commit, so a concurrent PUT that
 * committed first makes it fail with PreconditionFailed (NoSuchKey for If-Match on no object).
 */
export type PutCondition = { absent: true } | { etag: string };

/** Throws unless `condition` holds for a key whose object now has ETag `current` (none: undefined). */
export function checkPutCondition(condition: PutCondition, current: string | undefined): void {
  const failed = (): MetaError => new MetaError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  if ('absent' in condition) {
    if (current !== undefined) throw failed();
  } else if (current === undefined) {
    throw new MetaError('NoSuchKey', 'The specified key does not exist.');
  } else if (current !== condition.etag) {
    throw failed();
  }
}

export interface ListObjectsOptions {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  /** Exclusive: only keys and common prefixes greater than this (V1 marker, V2 start-after/token). */
  startAfter?: string;
  /** Default 1000. Common prefixes count toward it. */
  maxKeys?: number;
}

export interface ObjectEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

export interface ListObjectsResult {
  entries: ObjectEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned when truncated: pass it as the next startAfter. */
  nextMarker: string | null;
}

/** A replaced or removed object's manifest beside the one now stored. */
export interface ObjectChange {
  manifest: ObjectManifest;
  previous: ObjectManifest | null;
}

export interface PartUpload {
  etag: string;
  size: number;
  chunks: ChunkRef[];
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
}

export interface ListPartsResult {
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker: number | null;
}

export interface UploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  headers: ObjectHeaders;
}

export interface ListUploadsOptions {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  /** Only with keyMarker: uploads of keyMarker itself with a greater upload id come first. */
  uploadIdMarker?: string;
  /** Default 1000. Common prefixes count toward it. */
  maxUploads?: number;
}

export interface ListUploadsResult {
  /** Ordered by key bytes, then upload id. */
  uploads: Array<{ key: string; uploadId: string; initiated: number }>;
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string | null;
  nextUploadIdMarker: string | null;
}

export interface CompletedPart {
  partNumber: number;
  /** Quotes around it are ignored. */
  etag: string;
}

/** What the caller decides about the completed object; the rest comes from the upload. */
export interface FinalManifestFields {
  id: string;
  etag: string;
  lastModified: number;
  checksums?: Record<string, string>;
  /** Every part but the last must be at least this big (S3: 5 MiB, the default). */
  minPartSize?: number;
}

export interface CompletedUpload extends ObjectChange {
  bucket: string;
  key: string;
}

export interface AccessKey {
  accessKeyId: string;
  /** The secret encrypted under the master key; the store never looks inside. */
  encryptedSecret: Buffer;
  name: string;
  created: number;
}

export interface Permissions {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export interface BucketGrant {
  bucket: string;
  permissions: Permissions;
}

export type BackendState = 'up' | 'down';

export interface Backend {
  id: string;
  farm: string;
  node: string;
  /** host:port of the zdb. */
  address: string;
  namespace: string;
  /** The namespace password as the caller chose to store it (encrypted), or none. */
  password: Buffer | null;
  state: BackendState;
  freeBytes: number;
  lastSeen: number;
}

export type ShardLocation = Pick<ShardRef, 'backend' | 'key'>;

/** A delete-queue entry; `id` acknowledges it. */
export interface QueuedShard extends ShardLocation {
  id: number;
}

export interface RepairTask {
  chunkId: string;
  reason: string;
}

export interface MetaStore {
  // Buckets
  /** Throws BucketAlreadyExists. */
  createBucket(name: string, settings?: BucketSettings): Bucket;
  getBucket(name: string): Bucket | null;
  /** Sorted by name. */
  listBuckets(): BucketInfo[];
  /** Throws NoSuchBucket, BucketNotEmpty; in-progress uploads and grants go with the bucket. */
  deleteBucket(name: string): void;
  /** Throws NoSuchBucket. Replaces the whole document. */
  setBucketSettings(name: string, settings: BucketSettings): void;

  // Objects. A writeId given to a commit clears that pending write in the same transaction;
  // its shards the commit does not reference (a failed backend replaced by a spare) are deleted.
  /** Stores the object, replacing any previous one, whose manifest it returns. Throws NoSuchBucket. Group-committed. */
  putObject(bucket: string, key: string, manifest: ObjectManifest, writeId?: string, condition?: PutCondition): ObjectManifest | null;
  /** Many puts in one transaction (imports, rebuilds): one commit instead of one per object. */
  putObjects(bucket: string, objects: Array<{ key: string; manifest: ObjectManifest }>): void;
  /** Throws NoSuchBucket; null when the key does not exist. */
  getObject(bucket: string, key: string): ObjectManifest | null;
  /**
   * Replaces the object's manifest only if its current version is still `expectedId` (repair
   * moving shards must not undo a concurrent PUT). False when the object changed or is gone.
   */
  updateObject(bucket: string, key: string, expectedId: string, manifest: ObjectManifest): boolean;
  /** Returns the removed manifest, or null when there was none. Throws NoSuchBucket. Group-committed. */
  deleteObject(bucket: string, key: string): ObjectManifest | null;
  /**
   * Server-side copy sharing the source's chunks. The copy gets a new id and modification time,
   * and `replace`'s headers when given (metadata directive REPLACE). Throws NoSuchBucket, NoSuchKey.
   * Group-committed.
   */
  copyObject(srcBucket: string, srcKey: string, dstBucket: string, dstKey: string, replace?: ObjectHeaders): ObjectChange;
  /** Throws NoSuchBucket. */
  listObjects(options: ListObjectsOptions): ListObjectsResult;

  // Multipart uploads. Upload ids are unique across buckets.
  /** Throws NoSuchBucket. */
  createUpload(bucket: string, key: string, uploadId: string, headers: ObjectHeaders): void;
  getUpload(uploadId: string): UploadInfo | null;
  /** Replaces a part of the same number (its chunks are released). Throws NoSuchUpload. Group-committed. */
  putPart(uploadId: string, partNumber: number, part: PartUpload, writeId?: string): void;
  /** Parts numbered above `partNumberMarker`. Throws NoSuchUpload. */
  listParts(uploadId: string, partNumberMarker?: number, maxParts?: number): ListPartsResult;
  /** Throws NoSuchBucket. */
  listUploads(bucket: string, options?: ListUploadsOptions): ListUploadsResult;
  /**
   * Stores the object made of the listed parts' chunks, in order (no data moves); parts left out
   * are released. Throws NoSuchUpload, MalformedXML (no parts), InvalidPartOrder, InvalidPart,
   * EntityTooSmall. Group-committed.
   */
  completeUpload(uploadId: string, parts: CompletedPart[], fields: FinalManifestFields): CompletedUpload;
  /** Releases every part. Throws NoSuchUpload. */
  abortUpload(uploadId: string): void;

  // Access keys and their grants
  /** Throws AccessKeyAlreadyExists. */
  createAccessKey(accessKeyId: string, encryptedSecret: Buffer, name: string): AccessKey;
  getAccessKey(accessKeyId: string): AccessKey | null;
  /** Sorted by id. */
  listAccessKeys(): AccessKey[];
  /** Removes the key and its grants. Throws InvalidAccessKeyId. */
  deleteAccessKey(accessKeyId: string): void;
  /** Adds the flags set in `permissions`. Throws InvalidAccessKeyId, NoSuchBucket. */
  allow(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Permissions;
  /** Removes the flags set in `permissions`. Throws InvalidAccessKeyId, NoSuchBucket. */
  deny(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Permissions;
  /** All false for an unknown key or bucket. */
  check(accessKeyId: string, bucket: string): Permissions;
  /** The buckets a key may see, sorted by name. */
  listGrants(accessKeyId: string): BucketGrant[];

  // Backends
  upsertBackend(backend: Backend): void;
  /** Sorted by id. */
  listBackends(): Backend[];
  /** False when there is no such backend. */
  setBackendState(id: string, state: BackendState): boolean;

  // Delete queue: shards no manifest references any more.
  enqueueDeletes(shards: ShardLocation[]): void;
  /** Up to `limit` entries nobody holds, leased for `leaseMs` (then offered again unless acked). */
  takeDeletes(limit: number, leaseMs: number): QueuedShard[];
  ackDeletes(ids: number[]): void;

  // Repair queue: chunks with missing or corrupt shards, each at most once.
  enqueueRepair(chunkId: string, reason: string): void;
  takeRepairs(limit: number, leaseMs: number): RepairTask[];
  ackRepairs(chunkIds: string[]): void;

  // Pending writes: the intent log that leaves no orphan shard behind a failed or crashed PUT.
  /**
   * Records shards about to be written (call again to add more to the same write).
   * Group-committed: await `durable()` before writing the shards.
   */
  beginWrite(writeId: string, shards: ShardLocation[]): void;
  /** The write's shards are now referenced by `chunks` (repair): clear it, deleting the rest. */
  commitWrite(writeId: string, chunks: ChunkRef[]): void;
  /** The write failed: its shards go to the delete queue. Group-committed (a crash leaves it to `recoverPendingWrites`). */
  abortWrite(writeId: string): void;
  /** At startup, before serving: every leftover write's shards go to the delete queue. Returns their count. */
  recoverPendingWrites(): number;

  /** Resolves once every change made before the call is on disk. */
  durable(): Promise<void>;

  close(): void;
}
