/**
 * What the metadata store keeps for each object: enough to find, verify, decrypt and
 * reassemble every byte, and nothing a farmer could use (keys are wrapped by the master key).
 */

/**
 * One shard of a chunk on one backend, or a shard not written: a degraded write (fewer healthy
 * backends than shards, at least the write quorum) records the shards it could not place as
 * `missing`, with no backend (''); readers read around them, repair writes them later.
 */
export interface ShardRef {
  /** Backend id (see placement's Backend); '' when missing. */
  backend: string;
  /** The zdb key the shard is stored under in that backend's namespace. */
  key: string;
  /** CRC32C (standard, as @node-rs/crc32 computes it) of the shard bytes, checked on read. */
  crc: number;
  /** Not written (degraded write): no backend holds it yet. */
  missing?: true;
}

/** The shard slot of a degraded write that no backend holds. */
export function missingShard(key: string, crc: number): ShardRef {
  return { backend: '', key, crc, missing: true };
}

/** How many shards of the chunk are recorded as missing. */
export function missingShards(chunk: ChunkRef): number {
  return chunk.shards.filter((s) => s.missing).length;
}

/** One chunk: a slice of the object's plaintext, compressed, encrypted and erasure-coded. */
export interface ChunkRef {
  /** Unique id (hex); shard keys derive from it. Shared by reference between copies. */
  id: string;
  /** Plaintext bytes of the object this chunk covers. */
  plainSize: number;
  /** Bytes after compression and encryption (the AEAD tag included), before erasure coding. */
  storedSize: number;
  /** Whether the stored bytes are zstd-compressed (false: kept raw, it did not shrink). */
  compressed: boolean;
  /** Bytes of each shard (k * shardSize >= storedSize). */
  shardSize: number;
  dataShards: number;
  parityShards: number;
  /** The data key that encrypted this chunk, wrapped by the master key (base64), or by the SSE-C key. */
  wrappedKey: string;
  /** The AEAD nonce (base64, 12 bytes), unique per chunk. */
  nonce: string;
  /** AAD binds the chunk to the object (or upload) it was written for and its position. */
  aadObject: string;
  aadIndex: number;
  /** k + m shards, data shards first (some `missing` after a degraded write). */
  shards: ShardRef[];
}

/** A small object's bytes, compressed and encrypted as one chunk would be, in its manifest. */
export interface InlineData {
  /** The object's data key, wrapped by the master key (base64). */
  wrappedKey: string;
  /** AEAD nonce (base64, 12 bytes). */
  nonce: string;
  /** AAD: the id of the object the bytes were written for (copies keep it), index 0. */
  aadObject: string;
  compressed: boolean;
  /** ciphertext||tag (base64). */
  data: string;
}

/** Object lock (WORM) of one version: a retention until a date, a legal hold, or both. */
export interface ObjectLock {
  /** GOVERNANCE yields to an owner who asks to bypass it; COMPLIANCE to no one. */
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
  /** Unix milliseconds; set with mode. */
  retainUntil?: number;
  legalHold?: boolean;
}

export interface ObjectManifest {
  /** Unique id of this version of the object (hex). */
  id: string;
  /**
   * The S3 version id the metadata store gave this version when it committed it (opaque);
   * absent for the `null` version (a bucket without versioning, or with it suspended).
   */
  versionId?: string;
  size: number;
  /** Hex MD5 of the content, or "<md5 of part md5s>-<parts>" for multipart objects. */
  etag: string;
  /** Unix milliseconds. */
  lastModified: number;
  contentType?: string;
  /** x-amz-meta-* and the other stored headers (lower-case names). */
  metadata: Record<string, string>;
  /**
   * Extra checksums requested by the client (x-amz-checksum-*), base64 by algorithm; a
   * multipart object's is of its `checksumType`.
   */
  checksums: Record<string, string>;
  /** COMPOSITE (base64 of the hash of the parts' digests, `-<parts>`) or FULL_OBJECT; absent: FULL_OBJECT. */
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** The chunks in order; a range read finds its chunks by summing plainSize. Empty when inline. */
  chunks: ChunkRef[];
  /** A small object's bytes, held in the manifest instead of chunks (see store/inline.ts). */
  inline?: InlineData;
  /** For multipart objects: plaintext size of each part, in order (partNumber GETs). */
  parts?: number[];
  /** For multipart objects uploaded with a checksum: each part's (base64), in order, as `parts`. */
  partChecksums?: string[];
  /** For multipart objects: the upload completed into it (a repeated completion is answered from it). */
  uploadId?: string;
  /** Object lock of this version (buckets with object lock only). */
  lock?: ObjectLock;
  /** The object's ACL; none: private to the bucket's owner (objects stored before ACLs). */
  acl?: Acl;
  /** The object's tags (x-amz-tagging, PutObjectTagging), by key. */
  tags?: Record<string, string>;
  /**
   * Stored with a customer-provided key (SSE-C): its data keys are wrapped by a key derived from
   * the master key and the customer's (pipeline/keys.ts), not by the master key alone.
   */
  sseCustomer?: SseCustomer;
  /**
   * Stored with SSE-KMS: its data keys are wrapped by a key derived from the master key, the
   * named KMS key and the encryption context (pipeline/keys.ts kmsWrapKey).
   */
  sseKms?: SseKms;
}

/** What an SSE-KMS object (or multipart upload) records of its KMS key: the id, never the key. */
export interface SseKms {
  /** The KMS key's id (src/kms): its key unwraps this object's data keys, nothing else does. */
  keyId: string;
  /** The encryption context bound into the wrapping, canonical JSON (sorted keys); none: absent. */
  context?: string;
  /** `x-amz-server-side-encryption-bucket-key-enabled` as the write named it (returned, no other effect). */
  bucketKeyEnabled?: boolean;
}

/** What an SSE-C object (or multipart upload) keeps of its customer's key: never the key itself. */
export interface SseCustomer {
  algorithm: 'AES256';
  /** Salted HMAC recognising the key (pipeline/keys.ts customerKeyCheck), base64. */
  keyCheck: string;
}

export type AclPermission = 'FULL_CONTROL' | 'WRITE' | 'WRITE_ACP' | 'READ' | 'READ_ACP';

/** A grantee: a canonical user (an access key's owner) or a group (AllUsers, AuthenticatedUsers), by URI. */
export type AclGrantee = { type: 'CanonicalUser'; id: string; displayName?: string } | { type: 'Group'; uri: string };

export interface AclGrant {
  grantee: AclGrantee;
  permission: AclPermission;
}

/** An S3 access control list: the owner and what it grants. */
export interface Acl {
  owner: { id: string; displayName: string };
  grants: AclGrant[];
}

/** The chunk of a shard key, `<chunk id>/<index>` (store/chunk-writer.ts, shardKey). */
export function chunkOfShard(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? key : key.slice(0, slash);
}
