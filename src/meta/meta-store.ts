/**
 * The metadata store: the one interface the gateway, the store and the repair workers use, so
 * that an engine other than sqlite (PostgreSQL, for several gateways) can implement it.
 *
 * Every method is asynchronous, as every PostgreSQL client is, and every mutating method is one
 * transaction, visible to every later call once its promise resolves. Most are also durable (on
 * disk) then. The writes of the request path, marked "group-committed" below, are durable once a
 * later `durable()` resolves: many requests then share one disk flush, and the caller
 * acknowledges its client only after awaiting it. A read followed by a write that depends on it
 * is not atomic across two calls (other requests run in between): such a pair is one method. Keys are strings compared, stored and listed as their raw UTF-8
 * bytes, which is S3's order.
 */
import type { Acl, ChunkRef, ObjectLock, ObjectManifest, ShardRef, SseCustomer, SseKms } from './manifest.js';
export type { Acl, AclGrant, AclGrantee, AclPermission } from './manifest.js';
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
  /** The bucket policy as put (JSON text, returned verbatim); parsed by the gateway. */
  policy?: string;
  /** The bucket's ACL; none: private to its owner. */
  acl?: Acl;
  /** Bucket tags, by key. */
  tags?: Record<string, string>;
  /** S3 Object Ownership; BucketOwnerEnforced disables ACLs. None: ObjectWriter (ACLs apply). */
  ownership?: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
  /** S3 Block Public Access, as put. */
  publicAccessBlock?: PublicAccessBlock;
  /**
   * Object lock, set at creation only (versioning Enabled for good then). A default retention
   * locks every new version that names none.
   */
  objectLock?: { defaultRetention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days?: number; years?: number } };
  /** The lifecycle rules as put (validated by src/lifecycle/), in their order. */
  lifecycle?: LifecycleRule[];
  /**
   * Default encryption as put (PutBucketEncryption): SSE-S3 (AES256; the store encrypts every
   * object), or SSE-KMS with a KMS key (`kmsKeyId`, as named: an id or an ARN) for writes that
   * name no encryption; none means AWS's default rule, SSE-S3 with BucketKeyEnabled false.
   */
  encryption?: { bucketKeyEnabled: boolean; kmsKeyId?: string };
  /** The lifecycle worker's progress on this bucket (resumed after a restart). */
  lifecycleProgress?: LifecycleProgress;
  /** Static website hosting as put (PutBucketWebsite; validated by the gateway). */
  website?: WebsiteConfiguration;
}

/** Where a website redirect sends the browser; absent fields keep the request's. */
export interface WebsiteRedirect {
  protocol?: 'http' | 'https';
  hostName?: string;
  replaceKeyPrefixWith?: string;
  replaceKeyWith?: string;
  /** 301 when absent. */
  httpRedirectCode?: number;
}

/** A bucket's website: an index (and error) document, or every request redirected elsewhere. */
export interface WebsiteConfiguration {
  indexSuffix?: string;
  errorKey?: string;
  redirectAll?: { hostName: string; protocol?: 'http' | 'https' };
  /** In their order: the first whose condition holds applies. */
  routingRules?: Array<{
    condition?: { keyPrefixEquals?: string; httpErrorCodeReturnedEquals?: number };
    redirect: WebsiteRedirect;
  }>;
}

/** Which objects a lifecycle rule applies to: every condition given must hold. */
export interface LifecycleFilter {
  prefix?: string;
  /** Tags the object must carry, each with this value, in the order put. */
  tags?: Array<{ key: string; value: string }>;
  objectSizeGreaterThan?: number;
  objectSizeLessThan?: number;
}

/** One rule of a bucket's lifecycle configuration. Days count lifecycle days; dates are Unix ms. */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  /** How the filter was put, to give it back the same way: a top-level Prefix, a Filter, or `And`. */
  filterForm: 'prefix' | 'filter' | 'and' | 'none';
  expiration?: { days?: number; date?: number; expiredObjectDeleteMarker?: boolean };
  noncurrentExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  abortIncompleteUploadDays?: number;
}

/** What one lifecycle run did to a bucket. */
export interface LifecycleCounts {
  /** Current versions expired (deleted, or hidden behind a delete marker). */
  expired: number;
  noncurrentRemoved: number;
  markersRemoved: number;
  uploadsAborted: number;
  /** Versions a rule selected that object lock kept. */
  locked: number;
}

export interface LifecycleProgress {
  /** The lifecycle day (days since the epoch) of the last run that finished, and when it did. */
  lastDay?: number;
  lastFinished?: number;
  lastCounts?: LifecycleCounts;
  /** A run under way: keys up to `afterKey` are done (resumed from there after a restart). */
  running?: { day: number; started: number; afterKey: string; counts: LifecycleCounts };
}

const DAY_MS = 24 * 3600 * 1000;

/** The lock a new version gets: the one it names, else the bucket's default retention. */
export function lockOfNewVersion(
  lock: ObjectLock | undefined,
  settings: BucketSettings,
  now: number,
): ObjectLock | undefined {
  const rule = settings.objectLock?.defaultRetention;
  if (!settings.objectLock || lock?.mode || !rule) return lock;
  const days = rule.days ?? (rule.years ?? 0) * 365;
  return { ...lock, mode: rule.mode, retainUntil: now + days * DAY_MS };
}

/** Whether a version's lock keeps it from being deleted (or overwritten) now. */
export function isLocked(lock: ObjectLock | undefined, bypassGovernance: boolean, now: number): boolean {
  if (!lock) return false;
  if (lock.legalHold) return true;
  if (lock.retainUntil === undefined || lock.retainUntil <= now) return false;
  return lock.mode === 'COMPLIANCE' || !bypassGovernance;
}

/**
 * Throws AccessDenied unless the retention may go from `current` to `next`: a COMPLIANCE
 * retention in force only lengthens (same mode); a GOVERNANCE one is shortened, removed or
 * changed only with `bypassGovernance`.
 */
export function checkRetentionChange(
  current: ObjectLock | undefined,
  next: ObjectLock,
  bypassGovernance: boolean,
  now: number,
): void {
  const until = current?.retainUntil;
  if (!current?.mode || until === undefined || until <= now) return;
  const weaker = next.mode !== current.mode || next.retainUntil === undefined || next.retainUntil < until;
  if (!weaker) return;
  if (current.mode === 'GOVERNANCE' && bypassGovernance) return;
  throw new MetaError('AccessDenied', 'Access Denied because object protected by object lock.');
}

export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
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
  /** The object lock the upload named (`x-amz-object-lock-*`), given to the completed object. */
  lock?: ObjectLock;
  /** The new object's ACL (canned or x-amz-grant-*) and tags (x-amz-tagging). */
  acl?: Acl;
  tags?: Record<string, string>;
  /** An upload created with a customer-provided key: every part must use it (given to the object). */
  sseCustomer?: SseCustomer;
  /** An upload created with SSE-KMS: every part is wrapped with its KMS key (given to the object). */
  sseKms?: SseKms;
  /** An upload created with `x-amz-checksum-algorithm`: every part carries that checksum. */
  checksum?: UploadChecksum;
}

export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** A multipart upload's additional checksum: its algorithm (lower case, as `x-amz-checksum-<algorithm>`) and type. */
export interface UploadChecksum {
  algorithm: string;
  type: ChecksumType;
}

/**
 * A write's preconditions on the key's current object (its newest version, when that is an
 * object), RFC 9110's If-Match and If-None-Match as AWS's conditional writes use them. Each is a
 * list of bare ETags (no quotes, no `W/`) in which `*` stands for any object: `ifMatch` commits
 * only over an object listed (none: NoSuchKey, another: PreconditionFailed), `ifNoneMatch` only
 * when no object listed is there (PreconditionFailed). Checked inside the commit, so a write that
 * committed first decides: `{ ifNoneMatch: ['*'] }` creates only, `{ ifMatch: ['*'] }` replaces
 * only, whatever replaced the object in between.
 */
export interface PutCondition {
  ifMatch?: string[];
  ifNoneMatch?: string[];
}

/** Throws unless `condition` holds for a key whose object now has ETag `current` (none: undefined). */
export function checkPutCondition(condition: PutCondition, current: string | undefined): void {
  const failed = (): MetaError =>
    new MetaError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  const names = (list: string[]): boolean => current !== undefined && (list.includes('*') || list.includes(current));
  if (condition.ifMatch) {
    if (current === undefined) throw new MetaError('NoSuchKey', 'The specified key does not exist.');
    if (!names(condition.ifMatch)) throw failed();
  }
  if (condition.ifNoneMatch && names(condition.ifNoneMatch)) throw failed();
}

export interface ListObjectsOptions {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  /** Exclusive: only keys and common prefixes greater than this (V1 marker, V2 start-after/token). */
  startAfter?: string;
  /** Default 1000. Common prefixes count toward it. */
  maxKeys?: number;
  /** Give each entry its owner (from its ACL): reads each listed manifest, so only when asked. */
  owners?: boolean;
}

export interface ObjectEntry {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  /** With `owners`: the ACL's owner; none for an object without an ACL (its bucket's owner's). */
  owner?: { id: string; displayName: string };
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
  /** As stored: `versionId` set when the bucket's versioning gave it one. */
  manifest: ObjectManifest;
  /** The version this write replaced for good (the `null` version), whose chunks it released. */
  previous: ObjectManifest | null;
}

/** The S3 name of the version a bucket without versioning (or with it suspended) writes. */
export const NULL_VERSION = 'null';

/** The S3 version id of a stored manifest. */
export function versionIdOf(manifest: ObjectManifest): string {
  return manifest.versionId ?? NULL_VERSION;
}

/** A delete marker: the version a DELETE without version id adds in a versioned bucket. */
export interface DeleteMarker {
  versionId: string;
  lastModified: number;
}

/** One version of a key as a lookup finds it: an object, or a delete marker. */
export type StoredVersion =
  { manifest: ObjectManifest; marker?: undefined } | { manifest?: undefined; marker: DeleteMarker };

/**
 * A delete that goes ahead only while the key's current version is an object matching every
 * field given (none given: any object). It serves If-Match on DeleteObject(s) and the lifecycle
 * worker's "still the version I listed", checked inside the delete's transaction so that a
 * write committed since the caller's read wins.
 */
export interface DeleteCondition {
  etag?: string;
  versionId?: string;
  /** Unix milliseconds. */
  lastModified?: number;
}

export interface DeleteOptions {
  bypassGovernance?: boolean;
  condition?: DeleteCondition;
}

/** Throws NoSuchKey when the current version is missing or a delete marker, PreconditionFailed when a field differs. */
export function checkDeleteCondition(condition: DeleteCondition, current: StoredVersion | null): void {
  const manifest = current?.manifest;
  if (!manifest) throw new MetaError('NoSuchKey', 'The specified key does not exist.');
  const holds =
    (condition.etag === undefined || condition.etag === manifest.etag) &&
    (condition.versionId === undefined || condition.versionId === versionIdOf(manifest)) &&
    (condition.lastModified === undefined || condition.lastModified === manifest.lastModified);
  if (!holds)
    throw new MetaError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
}

export interface DeleteResult {
  /** The object version removed for good (its chunks released unless shared), or null. */
  removed: ObjectManifest | null;
  /** The version id of the marker added, or of the version removed; null when nothing changed. */
  versionId: string | null;
  /** A delete marker was added, or the version removed was one. */
  deleteMarker: boolean;
  /** The delete marker this delete added, if it added one. */
  added?: DeleteMarker;
}

/** What `putObjects` restores (a rebuild): an object version, or a delete marker. */
export type VersionRecord = { key: string; manifest: ObjectManifest } | { key: string; marker: DeleteMarker };

export interface ListVersionsOptions {
  bucket: string;
  prefix?: string;
  delimiter?: string;
  /**
   * Exclusive: only versions of keys after this one, or with versionIdMarker, after that version
   * of it; when that version is gone (removed since the page that named it), every version of
   * the key left comes first.
   */
  keyMarker?: string;
  versionIdMarker?: string;
  /** Default 1000. Versions, markers and common prefixes count toward it. */
  maxKeys?: number;
}

export interface VersionEntry {
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: number;
  /** Null for a delete marker. */
  object: { size: number; etag: string } | null;
}

export interface ListVersionsResult {
  /** By key bytes, then newest first: objects and delete markers interleaved. */
  versions: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string | null;
  /** Set when the page ended on a version (not a common prefix). */
  nextVersionIdMarker: string | null;
}

/** The version a copy reads. */
export interface VersionSource {
  bucket: string;
  key: string;
  /** Undefined: the key's newest version. */
  versionId?: string;
  /** Only while the version's manifest is this one. */
  id?: string;
}

export interface PartUpload {
  etag: string;
  size: number;
  chunks: ChunkRef[];
  /** The part's checksum (base64) in its upload's algorithm (`ObjectHeaders.checksum`). */
  checksum?: string;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
  checksum?: string;
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
  /** Ordered by key bytes, then upload id. `owner`: its ACL's owner (none: created without one). */
  uploads: Array<{ key: string; uploadId: string; initiated: number; owner?: { id: string; displayName: string } }>;
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
  /** The type of the upload's checksum in `checksums` (the parts' checksums go into the manifest). */
  checksumType?: ChecksumType;
  /** Every part but the last must be at least this big (S3: 5 MiB, the default). */
  minPartSize?: number;
  /** Complete only if this holds for the key's object (conditional CompleteMultipartUpload). */
  condition?: PutCondition;
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
  /**
   * May create buckets of its own (an account-level right, not a bucket's): off unless granted,
   * as an IAM user has no right it was not given.
   */
  createBuckets: boolean;
}

/** A KMS key held by the store (src/kms): its 256-bit key sealed under the master key. */
export interface KmsKey {
  id: string;
  /** The key sealed under the master key; the store never looks inside. */
  sealedKey: Buffer;
  /** Unix milliseconds. */
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

export interface Lease {
  name: string;
  holder: string;
  expiresAt: number; /* ms since epoch */
}
export interface GatewayInfo {
  id: string;
  address: string;
  version: string;
  startedAt: number;
}
export interface LiveGateway extends GatewayInfo {
  lastSeen: number; /* ms since epoch */
}

/** What a bucket holds, for the console and metrics. */
export interface BucketUsage {
  /** Keys whose newest version is an object (what ListObjects lists), and their bytes. */
  objects: number;
  bytes: number;
  /** Every stored object version, the newest included (delete markers are not counted), and their bytes. */
  versions: number;
  versionBytes: number;
}

export interface MetaStore {
  // Buckets
  /** Throws BucketAlreadyExists. */
  createBucket(name: string, settings?: BucketSettings): Promise<Bucket>;
  getBucket(name: string): Promise<Bucket | null>;
  /** Sorted by name. */
  listBuckets(): Promise<BucketInfo[]>;
  /** Throws NoSuchBucket, BucketNotEmpty (any version or marker left); in-progress uploads and grants go with the bucket. */
  deleteBucket(name: string): Promise<void>;
  /**
   * Reads the settings, applies `change` (synchronous, no I/O) and stores its result in one
   * transaction, so that concurrent changes to different settings all stay. Returns the bucket
   * as it now is. Throws NoSuchBucket, and whatever `change` throws (nothing is changed then).
   */
  updateBucketSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<Bucket>;

  // Objects. Every write follows the bucket's versioning as it is in the write's transaction:
  // Enabled, it adds a version with a new opaque version id as the key's newest; otherwise
  // (never enabled, or Suspended) it replaces the `null` version only, wherever it is in the
  // key's history, and the new one becomes the newest. A version's chunks are released when it
  // is removed for good. A writeId given to a commit clears that pending write in the same
  // transaction; its shards the commit does not reference (a failed backend replaced by a
  // spare) are deleted.
  /** Stores the object as the key's newest version. Throws NoSuchBucket. Group-committed. */
  putObject(
    bucket: string,
    key: string,
    manifest: ObjectManifest,
    writeId?: string,
    condition?: PutCondition,
  ): Promise<ObjectChange>;
  /**
   * Restores versions in one transaction (imports, rebuilds), each as its key's newest, with
   * the version id it carries (`manifest.versionId`, absent: null), whatever the versioning.
   */
  putObjects(bucket: string, versions: VersionRecord[]): Promise<void>;
  /** The key's newest version when it is an object. Throws NoSuchBucket; null when none or a delete marker. */
  getObject(bucket: string, key: string): Promise<ObjectManifest | null>;
  /** The named version of the key (its newest: undefined), object or delete marker. Throws NoSuchBucket; null when none. */
  getVersion(bucket: string, key: string, versionId?: string): Promise<StoredVersion | null>;
  /**
   * Replaces the manifest of version `manifest.versionId` of the key only if that version's
   * manifest is still `expectedId` (repair moving shards must not undo a concurrent PUT). False
   * when it changed or is gone.
   */
  updateObject(bucket: string, key: string, expectedId: string, manifest: ObjectManifest): Promise<boolean>;
  /**
   * With `versionId`, removes that version (object or marker) for good: the key's newest is then
   * the one before. Without: removes the object (never versioned), adds a delete marker
   * (Enabled), or replaces the null version with a null delete marker (Suspended). Throws
   * NoSuchBucket; AccessDenied when the version named is locked (see `isLocked`; a new delete
   * marker never is); with `options.condition`, what `checkDeleteCondition` throws (nothing is
   * changed then). Group-committed.
   */
  deleteObject(bucket: string, key: string, versionId?: string, options?: DeleteOptions): Promise<DeleteResult>;
  /**
   * Changes the lock of a version (newest: undefined): `retention` replaces the mode and date
   * (null: removes them), `legalHold` sets the hold. Checked in the transaction
   * (`checkRetentionChange`). Returns the version's manifest as it now is. Throws NoSuchBucket,
   * NoSuchKey, AccessDenied.
   */
  updateObjectLock(
    bucket: string,
    key: string,
    versionId: string | undefined,
    change: { retention?: Pick<ObjectLock, 'mode' | 'retainUntil'> | null; legalHold?: boolean },
    bypassGovernance?: boolean,
  ): Promise<ObjectManifest>;
  /**
   * Server-side copy sharing the source's chunks. The copy gets a new id and modification time,
   * and `replace`'s headers when given (metadata directive REPLACE); its lock is `lock` (else
   * the bucket's default retention), never the source's. The source is the version
   * `source.versionId` (newest: undefined); with `source.id`, only while that version's manifest
   * is that one (whose conditions the caller checked): null when it is another one now. Throws
   * NoSuchBucket, NoSuchKey (no such version, or the newest is a delete marker), InvalidRequest
   * (the version named is a delete marker), and with `condition` (the destination's If-Match /
   * If-None-Match) what `checkPutCondition` throws for the destination key, checked in the
   * commit after the source. Group-committed.
   */
  copyObject(
    source: VersionSource,
    dstBucket: string,
    dstKey: string,
    replace?: ObjectHeaders,
    lock?: ObjectLock,
    condition?: PutCondition,
  ): Promise<ObjectChange | null>;
  /** The newest versions that are objects, as S3's ListObjects sees them. Throws NoSuchBucket. */
  listObjects(options: ListObjectsOptions): Promise<ListObjectsResult>;
  /** Every version and delete marker. Throws NoSuchBucket. */
  listVersions(options: ListVersionsOptions): Promise<ListVersionsResult>;

  // Multipart uploads. Upload ids are unique across buckets.
  /** Throws NoSuchBucket. */
  createUpload(bucket: string, key: string, uploadId: string, headers: ObjectHeaders): Promise<void>;
  getUpload(uploadId: string): Promise<UploadInfo | null>;
  /** Replaces a part of the same number (its chunks are released). Throws NoSuchUpload. Group-committed. */
  putPart(uploadId: string, partNumber: number, part: PartUpload, writeId?: string): Promise<void>;
  /**
   * UploadPartCopy sharing chunks of object `source`: puts the part only if that version
   * (`source.versionId`, newest: undefined) still has manifest `source.id`, checked in the
   * transaction that retains the chunks (a source replaced or deleted since it was read may have
   * released them). False when it changed or is gone. Throws NoSuchBucket, NoSuchUpload.
   * Group-committed.
   */
  putCopiedPart(
    uploadId: string,
    partNumber: number,
    part: PartUpload,
    source: VersionSource & { id: string },
  ): Promise<boolean>;
  /** Parts numbered above `partNumberMarker`. Throws NoSuchUpload. */
  listParts(uploadId: string, partNumberMarker?: number, maxParts?: number): Promise<ListPartsResult>;
  /** Throws NoSuchBucket. */
  listUploads(bucket: string, options?: ListUploadsOptions): Promise<ListUploadsResult>;
  /**
   * Stores the object made of the listed parts' chunks, in order (no data moves); parts left out
   * are released. A part number listed more than once is its last entry (see `chosenParts`).
   * Throws NoSuchUpload, MalformedXML (no parts), InvalidPartOrder, InvalidPart, EntityTooSmall,
   * then what `checkPutCondition` throws for `fields.condition` (the upload is left as it was).
   * Group-committed.
   */
  completeUpload(uploadId: string, parts: CompletedPart[], fields: FinalManifestFields): Promise<CompletedUpload>;
  /** Releases every part. Throws NoSuchUpload. */
  abortUpload(uploadId: string): Promise<void>;

  // Access keys and their grants
  /** Throws AccessKeyAlreadyExists. */
  createAccessKey(
    accessKeyId: string,
    encryptedSecret: Buffer,
    name: string,
    createBuckets?: boolean,
  ): Promise<AccessKey>;
  /** Gives (true) or takes back (false) the key's right to create buckets. Throws InvalidAccessKeyId. */
  setCreateBuckets(accessKeyId: string, allowed: boolean): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKey | null>;
  /** Sorted by id. */
  listAccessKeys(): Promise<AccessKey[]>;
  /** Removes the key and its grants. Throws InvalidAccessKeyId. */
  deleteAccessKey(accessKeyId: string): Promise<void>;
  /** Adds the flags set in `permissions`. Throws InvalidAccessKeyId, NoSuchBucket. */
  allow(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions>;
  /** Removes the flags set in `permissions`. Throws InvalidAccessKeyId, NoSuchBucket. */
  deny(accessKeyId: string, bucket: string, permissions: Partial<Permissions>): Promise<Permissions>;
  /** All false for an unknown key or bucket. */
  check(accessKeyId: string, bucket: string): Promise<Permissions>;
  /** The buckets a key may see, sorted by name. */
  listGrants(accessKeyId: string): Promise<BucketGrant[]>;

  // KMS keys (src/kms)
  /** Throws KmsKeyAlreadyExists. `created` defaults to now (a rebuild restores the recorded one). */
  createKmsKey(id: string, sealedKey: Buffer, created?: number): Promise<KmsKey>;
  getKmsKey(id: string): Promise<KmsKey | null>;
  /** Sorted by id. */
  listKmsKeys(): Promise<KmsKey[]>;
  /** Throws KMS.NotFoundException. */
  deleteKmsKey(id: string): Promise<void>;

  // Backends
  upsertBackend(backend: Backend): Promise<void>;
  /** Sorted by id. */
  listBackends(): Promise<Backend[]>;
  /** False when there is no such backend. */
  setBackendState(id: string, state: BackendState): Promise<boolean>;

  // Delete queue: shards no manifest references any more.
  enqueueDeletes(shards: ShardLocation[]): Promise<void>;
  /**
   * Up to `limit` entries nobody holds, leased for `leaseMs` (then offered again unless acked).
   * Shards of aborted or recovered writes whose chunk a committed manifest or part references
   * after all are dropped instead: the deleter never gets a shard a manifest reads.
   */
  takeDeletes(limit: number, leaseMs: number): Promise<QueuedShard[]>;
  ackDeletes(ids: number[]): Promise<void>;

  // Repair queue: chunks with missing or corrupt shards, each at most once.
  enqueueRepair(chunkId: string, reason: string): Promise<void>;
  takeRepairs(limit: number, leaseMs: number): Promise<RepairTask[]>;
  ackRepairs(chunkIds: string[]): Promise<void>;

  // Metadata records short of copies (store/meta-replica.ts): record ids, each at most once,
  // kept across restarts so that the copies missed while a backend was down are written when it
  // returns, whichever gateway is running then.
  /** Adds ids (one already listed keeps its place). Group-committed. */
  addRecordsShort(ids: string[]): Promise<void>;
  /** Removes up to `limit` ids, oldest first, and returns them (the caller adds back those still short). */
  takeRecordsShort(limit: number): Promise<string[]>;
  countRecordsShort(): Promise<number>;

  // Counts, for operators (metrics, console, admin status).
  /** Chunks in the repair queue, leased ones included. */
  countRepairs(): Promise<number>;
  /** Shards in the delete queue, leased ones included. */
  countDeletes(): Promise<number>;
  /** Throws NoSuchBucket. */
  bucketUsage(bucket: string): Promise<BucketUsage>;

  // Pending writes: the intent log that leaves no orphan shard behind a failed or crashed PUT.
  /**
   * Records shards about to be written (call again to add more to the same write).
   * Group-committed: await `durable()` before writing the shards.
   */
  beginWrite(writeId: string, shards: ShardLocation[]): Promise<void>;
  /** The write's shards are now referenced by `chunks` (repair): clear it, deleting the rest. */
  commitWrite(writeId: string, chunks: ChunkRef[]): Promise<void>;
  /** The write failed: its shards go to the delete queue. Group-committed (a crash leaves it to `recoverPendingWrites`). */
  abortWrite(writeId: string): Promise<void>;
  /**
   * The shards of leftover writes go to the delete queue; returns their count. Without
   * `maxAgeMs` (one process owns the database, at its start, before serving): every leftover
   * write. With it (gateways share the database): only the writes whose gateway (see
   * `heartbeatGateway`) has no heartbeat newer than now - maxAgeMs, or none at all.
   */
  recoverPendingWrites(maxAgeMs?: number): Promise<number>;

  // Gateways sharing the database, and the leases that split background work between them.
  // Times are the gateway's clock (Date.now()) on sqlite, the server's clock on PostgreSQL.
  /** Takes lease `name` for `holder`, or renews it when `holder` already has it, until now + ttlMs.
   *  false when another holder's lease has not yet expired. Atomic across processes sharing the database. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, only if `holder` holds it (no-op otherwise). */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Every lease not yet expired, ordered by name. */
  listLeases(): Promise<Lease[]>;
  /**
   * Records that a gateway is alive now (insert or update by id). The pending writes begun
   * through this store from then on are that gateway's (before any heartbeat: an id of this
   * store object's own, which no gateway announces).
   */
  heartbeatGateway(info: GatewayInfo): Promise<void>;
  /** Gateways whose last heartbeat is newer than now - maxAgeMs, ordered by id. */
  listGateways(maxAgeMs: number): Promise<LiveGateway[]>;
  /** Removes a gateway's row (clean shutdown). */
  forgetGateway(id: string): Promise<void>;

  /** Resolves when the database answers a query; rejects with the reason it does not (`/health`). */
  ping(): Promise<void>;

  /** Resolves once every change made before the call is on disk. */
  durable(): Promise<void>;

  close(): Promise<void>;
}
