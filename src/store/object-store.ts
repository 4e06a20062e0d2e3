import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import {
  NULL_VERSION,
  versionIdOf,
  type Bucket,
  type BucketSettings,
  type ChecksumType,
  type CompletedPart,
  type DeleteOptions,
  type DeleteResult,
  type MetaStore,
  type ObjectHeaders,
  type PutCondition,
} from '../meta/meta-store.js';
import { chunkStream, DEFAULT_CHUNK_SIZE } from '../pipeline/chunker.js';
import {
  customerEtag,
  customerKeyCheck,
  customerWrapKey,
  kmsWrapKey,
  matchesCustomerKey,
  newDataKey,
  unwrapKey,
  wrapKey,
} from '../pipeline/keys.js';
import type { PipelinePool } from '../pipeline/pool.js';
import { KmsError } from '../kms/errors.js';
import { Keyring } from '../kms/keyring.js';
import type { BackendPool } from './backend-pool.js';
import { readChunk } from './chunk-reader.js';
import { writeChunk, writeQuorum } from './chunk-writer.js';
import { DeleteMarkerError, StoreError } from './errors.js';
import { openInline, sealInline } from './inline.js';
import {
  missingShards,
  type ChunkRef,
  type InlineData,
  type ObjectLock,
  type ObjectManifest,
  type SseCustomer,
  type SseKms,
} from '../meta/manifest.js';
import { MetaReplica } from './meta-replica.js';
import { degradedReason } from './repair-reasons.js';

export interface ObjectStoreOptions {
  meta: MetaStore;
  backends: BackendPool;
  pipeline: PipelinePool;
  masterKey: Buffer;
  dataShards?: number;
  parityShards?: number;
  /**
   * Shards of a chunk that must be stored for a PUT to succeed: with fewer healthy backends
   * than k+m, chunks are written degraded down to this many (the rest recorded missing and
   * completed by repair); below it, SlowDown. Default k+1, never below k nor above k+m; a
   * bucket's `erasure.writeQuorum` overrides it.
   */
  writeQuorum?: number;
  /** A shard write unanswered this long is given up on its backend (a spare is tried); default 3 s. */
  shardTimeoutMs?: number;
  /** Once a chunk's write quorum is stored, its other shards are waited for this long at least (or 4x the quorum's time); default 1 s. */
  stragglerMs?: number;
  chunkSize?: number;
  /** Chunks being encoded or written at once per PUT (and read ahead per GET). */
  depth?: number;
  hedgeMs?: number;
  /** Backends holding a copy of each metadata record (for `qstor meta rebuild`). */
  metaCopies?: number;
  /**
   * Objects of at most this many bytes are kept in their manifest (store/inline.ts), in
   * buckets whose parity shards the metadata copies outnumber; default 16 KiB, 0 never.
   */
  inlineMax?: number;
}

/** MinIO inlines up to 128 KiB, Garage up to 3 KiB; 16 KiB keeps manifests small to list and copy. */
export const DEFAULT_INLINE_MAX = 16 * 1024;

export interface PutOptions extends Partial<ObjectHeaders> {
  /** Content-MD5 the client sent (base64): the PUT fails with BadDigest when it does not match. */
  contentMd5?: string;
  checksums?: Record<string, string>;
  /** Commit only if the key is still absent / still holds this ETag (conditional PUT). */
  condition?: PutCondition;
  /** The object lock the PUT names (buckets with object lock; else their default retention). */
  lock?: ObjectLock;
  /** SSE-C: the customer's 256-bit key, mixed into the wrapping of the object's data keys. */
  customerKey?: Buffer;
  /** SSE-KMS: the KMS key (and context) mixed into the wrapping of the object's data keys. */
  sseKms?: SseKms;
  /** The bucket's record as the caller read it for this request: spares the store a lookup. */
  bucketRecord?: Bucket | null;
}

export interface PutResult {
  etag: string;
  size: number;
  manifest: ObjectManifest;
}

export interface Range {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface GetResult {
  manifest: ObjectManifest;
  range: Range | null;
  body: Readable;
}

/** A chunk's shards (k data + m parity) and how many must be stored for a write to succeed. */
export interface Geometry {
  k: number;
  m: number;
  quorum: number;
}

export interface StoredChunks {
  size: number;
  md5: Buffer;
  chunks: ChunkRef[];
}

/** A multipart object's ETag: the MD5 of its parts' MD5s, then `-<part count>`, as S3's. */
export function multipartEtag(parts: CompletedPart[]): string {
  const md5 = crypto.createHash('md5');
  for (const p of parts) md5.update(Buffer.from(p.etag.replace(/"/g, ''), 'hex'));
  return `${md5.digest('hex')}-${parts.length}`;
}

/**
 * The object store: objects in, objects out, over erasure-coded, encrypted shards on zdb
 * backends. Memory per request is bounded by chunk size x depth, never by object size. A PUT
 * is acknowledged only once every shard its manifest names is stored (all k+m, or at least the
 * write quorum with the others recorded missing when backends are down) and the manifest is
 * committed, last: no crash leaves an object pointing at shards that were never written.
 */
export class ObjectStore {
  readonly k: number;
  readonly m: number;
  readonly chunkSize: number;
  readonly writeQuorum: number;
  private readonly shardTimeoutMs: number;
  private readonly stragglerMs: number;
  private readonly depth: number;
  private readonly hedgeMs: number;
  private readonly metaCopies: number;
  private readonly inlineMax: number;
  readonly replica: MetaReplica;
  /** The KMS keys SSE-KMS objects are wrapped with (src/kms). */
  readonly kms: Keyring;
  /**
   * Since start: chunks written degraded and their plain bytes, and writes refused below the
   * write quorum (for logs and metrics).
   */
  readonly writes = { degradedChunks: 0, degradedBytes: 0, refused: 0, lastRefusal: '' };

  constructor(private readonly o: ObjectStoreOptions) {
    this.k = o.dataShards ?? 4;
    this.m = o.parityShards ?? 2;
    if (
      o.writeQuorum !== undefined &&
      !(Number.isInteger(o.writeQuorum) && o.writeQuorum >= this.k && o.writeQuorum <= this.k + this.m)
    ) {
      throw new StoreError(
        'InvalidArgument',
        `write quorum ${o.writeQuorum} must be between k = ${this.k} and k + m = ${this.k + this.m}`,
      );
    }
    this.writeQuorum = writeQuorum(this.k, this.m, o.writeQuorum);
    this.shardTimeoutMs = o.shardTimeoutMs ?? 3000;
    this.stragglerMs = o.stragglerMs ?? 1000;
    this.metaCopies = o.metaCopies ?? 3;
    this.replica = new MetaReplica(o.meta, o.backends, o.masterKey, this.metaCopies, {
      timeoutMs: this.shardTimeoutMs,
      stragglerMs: this.stragglerMs,
    });
    this.kms = new Keyring(o.meta, o.masterKey);
    this.chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
    // Below the chunk size, so that a first chunk that small is the whole body.
    this.inlineMax = Math.min(o.inlineMax ?? DEFAULT_INLINE_MAX, this.chunkSize - 1);
    this.depth = o.depth ?? 4;
    this.hedgeMs = o.hedgeMs ?? 1500;
  }

  get meta(): MetaStore {
    return this.o.meta;
  }

  async createBucket(name: string, settings: BucketSettings = {}): Promise<Bucket> {
    const bucket = await this.o.meta.createBucket(name, settings);
    await this.replica.putBucket(name, bucket.created, bucket.settings);
    return bucket;
  }

  /** Changes the settings in one metadata transaction (see `MetaStore.updateBucketSettings`). */
  async updateBucketSettings(name: string, change: (settings: BucketSettings) => BucketSettings): Promise<void> {
    const bucket = await this.o.meta.updateBucketSettings(name, change);
    await this.replica.putBucket(name, bucket.created, bucket.settings);
  }

  async deleteBucket(name: string): Promise<void> {
    await this.o.meta.deleteBucket(name);
    await this.replica.putBucket(name, 0, null);
  }

  async put(
    bucket: string,
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const b = options.bucketRecord ?? (await this.o.meta.getBucket(bucket));
    if (!b) throw new StoreError('NoSuchBucket', `bucket ${bucket} does not exist`);
    const objectId = crypto.randomBytes(16).toString('hex');
    const geometry = this.geometry(b.settings);
    const wrapping = await this.wrappingKey(options.customerKey, options.sseKms);
    try {
      const chunks = chunkStream(body, this.chunkSize, this.o.pipeline.chunkBuffer);
      const first = await chunks.next();
      let stored: StoredChunks;
      let inline: InlineData | undefined;
      if (!first.done && first.value.length <= this.inlineMax && this.metaCopies > geometry.m) {
        // A chunk shorter than the chunk size is the last one: this is the whole body.
        const plain = first.value;
        stored = { size: plain.length, md5: crypto.createHash('md5').update(plain).digest(), chunks: [] };
        inline = sealInline(wrapping, objectId, plain);
      } else {
        stored = await this.writeChunks(objectId, prepend(first, chunks), geometry, wrapping);
      }
      const etag = this.etagOf(stored.md5, options.customerKey);
      if (options.contentMd5 !== undefined && options.contentMd5 !== stored.md5.toString('base64')) {
        throw new StoreError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      const manifest: ObjectManifest = {
        id: objectId,
        size: stored.size,
        etag,
        lastModified: Date.now(),
        contentType: options.contentType,
        metadata: options.metadata ?? {},
        checksums: options.checksums ?? {},
        chunks: stored.chunks,
        ...(inline ? { inline } : {}),
        ...(options.lock ? { lock: options.lock } : {}),
        ...(options.acl ? { acl: options.acl } : {}),
        ...(options.tags ? { tags: options.tags } : {}),
        ...(options.customerKey ? { sseCustomer: this.sseCustomer(options.customerKey) } : {}),
        ...(options.sseKms ? { sseKms: options.sseKms } : {}),
      };
      const { manifest: committed } = await this.o.meta.putObject(bucket, key, manifest, objectId, options.condition);
      await this.queueDegraded(committed.chunks);
      await Promise.all([
        this.o.meta.durable(),
        this.replica.putVersion(bucket, key, versionIdOf(committed), { manifest: committed }),
      ]);
      return { etag, size: stored.size, manifest: committed };
    } catch (e) {
      await this.o.meta.abortWrite(objectId);
      throw e;
    }
  }

  /**
   * Stores a stream as chunks under pending write `writeId` without committing anything
   * (PUT and UploadPart commit the result themselves); data keys wrapped by `wrapping`.
   */
  storeChunks(
    writeId: string,
    body: AsyncIterable<Uint8Array>,
    geometry: Geometry = this.geometry({}),
    wrapping: Buffer = this.o.masterKey,
  ): Promise<StoredChunks> {
    return this.writeChunks(
      writeId,
      chunkStream(body, this.chunkSize, this.o.pipeline.chunkBuffer),
      geometry,
      wrapping,
    );
  }

  /** The ETag of bytes with MD5 `md5`: its hex, or an SSE-C object's keyed ETag (`customerEtag`). */
  private etagOf(md5: Buffer, customerKey?: Buffer): string {
    return customerKey ? customerEtag(this.o.masterKey, customerKey, md5) : md5.toString('hex');
  }

  /** What an object or upload stored with this SSE-C key records to recognise it. */
  sseCustomer(customerKey: Buffer): SseCustomer {
    return { algorithm: 'AES256', keyCheck: customerKeyCheck(this.o.masterKey, customerKey) };
  }

  /** Whether `customerKey` is the one an SSE-C object or upload was stored with (constant time). */
  matchesCustomerKey(recorded: SseCustomer, customerKey: Buffer): boolean {
    return matchesCustomerKey(this.o.masterKey, recorded.keyCheck, customerKey);
  }

  /**
   * The key that wraps data keys: the master key, or one derived from it and the customer's key
   * (SSE-C), or from it, the KMS key and the encryption context (SSE-KMS; KMS.NotFoundException
   * for a key that is gone).
   */
  private async wrappingKey(customerKey?: Buffer, sseKms?: SseKms): Promise<Buffer> {
    if (sseKms) return kmsWrapKey(this.o.masterKey, await this.kms.key(sseKms.keyId), sseKms.context);
    return customerKey ? customerWrapKey(this.o.masterKey, customerKey) : this.o.masterKey;
  }

  /**
   * The key that unwraps the manifest's data keys. An SSE-C object needs its customer's key
   * (AccessDenied without the right one: the gateway checks first, this is the store's own
   * guard), an SSE-KMS object its KMS key; any other object is read with the master key alone,
   * whatever the caller passed.
   */
  private unwrappingKey(manifest: ObjectManifest, customerKey?: Buffer): Promise<Buffer> {
    if (!manifest.sseCustomer) return this.wrappingKey(undefined, manifest.sseKms);
    if (!customerKey || !this.matchesCustomerKey(manifest.sseCustomer, customerKey))
      throw new StoreError('AccessDenied', 'The object is encrypted with a customer-provided key; give that key.');
    return this.wrappingKey(customerKey);
  }

  /**
   * Throws KMS.NotFoundException unless the KMS key of an SSE-KMS object still unwraps its data
   * keys: checked before a read answers 200, so a deleted key — or one created again under the
   * same id, which holds new material — is a clear 400, not a body cut short.
   */
  async requireKmsKey(manifest: ObjectManifest): Promise<void> {
    const sseKms = manifest.sseKms;
    if (!sseKms) return;
    const wrapped = manifest.inline?.wrappedKey ?? manifest.chunks[0]?.wrappedKey;
    const unwrapping = await this.wrappingKey(undefined, sseKms);
    if (wrapped === undefined) return;
    try {
      unwrapKey(unwrapping, Buffer.from(wrapped, 'base64'));
    } catch {
      throw new KmsError(
        'KMS.NotFoundException',
        `The KMS key ${sseKms.keyId} this object was encrypted under no longer exists (a key created since under the same id cannot read it)`,
      );
    }
  }

  /** k, m and the write quorum of a bucket: its own `erasure` settings, else the store's. */
  geometry(settings: BucketSettings): Geometry {
    const e = settings.erasure;
    if (!e) return { k: this.k, m: this.m, quorum: this.writeQuorum };
    return { k: e.dataShards, m: e.parityShards, quorum: writeQuorum(e.dataShards, e.parityShards, e.writeQuorum) };
  }

  /**
   * Puts the chunks written degraded (shards recorded missing) in the repair queue: called once
   * they are committed. A part's chunks name its upload (see `degradedReason`).
   */
  private async queueDegraded(chunks: readonly ChunkRef[], uploadId?: string): Promise<void> {
    for (const chunk of chunks) {
      const missing = missingShards(chunk);
      if (missing > 0) await this.o.meta.enqueueRepair(chunk.id, degradedReason(missing, uploadId));
    }
  }

  private async writeChunks(
    writeId: string,
    plains: AsyncIterable<Buffer<ArrayBuffer>>,
    { k, m, quorum }: Geometry,
    wrapping: Buffer,
  ): Promise<StoredChunks> {
    const dataKey = newDataKey();
    const ctx = {
      meta: this.o.meta,
      backends: this.o.backends,
      pipeline: this.o.pipeline,
      writeId,
      dataKey,
      wrappedKey: wrapKey(wrapping, dataKey).toString('base64'),
      aadObject: writeId,
      k,
      m,
      quorum,
      attempts: 3,
      shardTimeoutMs: this.shardTimeoutMs,
      stragglerMs: this.stragglerMs,
    };
    const md5 = crypto.createHash('md5');
    const chunks: ChunkRef[] = [];
    const inflight = new Set<Promise<void>>();
    let failure: unknown = null;
    let size = 0;
    let index = 0;
    // A body that fails (bad checksum, client gone) must not leave chunk writes running past
    // the caller's abortWrite: shards logged after it would linger until the next start.
    try {
      for await (const plain of plains) {
        if (failure) break;
        md5.update(plain); // before the buffer is transferred to a worker
        size += plain.length;
        const i = index++;
        const p: Promise<void> = writeChunk(ctx, plain, i).then(
          (ref) => {
            chunks[i] = ref;
            if (missingShards(ref) > 0) {
              this.writes.degradedChunks++;
              this.writes.degradedBytes += ref.plainSize;
            }
          },
          (e: unknown) => {
            failure ??= e;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= this.depth) await Promise.race(inflight);
      }
    } finally {
      await Promise.all(inflight);
    }
    if (failure) {
      if (failure instanceof StoreError && failure.code === 'SlowDown') {
        this.writes.refused++;
        this.writes.lastRefusal = failure.message;
      }
      throw failure;
    }
    return { size, md5: md5.digest(), chunks };
  }

  /**
   * The manifest of the key's newest version, or of version `versionId`. Throws NoSuchKey,
   * NoSuchVersion, and DeleteMarkerError when the version is a delete marker.
   */
  async head(bucket: string, key: string, versionId?: string): Promise<ObjectManifest> {
    // The newest version through the listing index, as before versioning (NoSuchBucket from the
    // metadata: no bucket read first, a round trip on PostgreSQL); a miss says why.
    const newest = versionId === undefined ? await this.o.meta.getObject(bucket, key) : null;
    if (newest) return newest;
    if (!(await this.o.meta.getBucket(bucket))) throw new StoreError('NoSuchBucket', `bucket ${bucket} does not exist`);
    const found = await this.o.meta.getVersion(bucket, key, versionId);
    if (!found) {
      throw versionId === undefined
        ? new StoreError('NoSuchKey', 'The specified key does not exist.')
        : new StoreError('NoSuchVersion', 'The specified version does not exist.');
    }
    if (found.marker) throw new DeleteMarkerError(found.marker, versionId !== undefined);
    return found.manifest;
  }

  /** Streams an object, or the inclusive byte range of it. */
  async get(bucket: string, key: string, range?: Range): Promise<GetResult> {
    const manifest = await this.head(bucket, key);
    if (range && (range.start > range.end || range.start >= manifest.size)) {
      throw new StoreError('InvalidRange', 'The requested range is not satisfiable');
    }
    const r = range ? { start: range.start, end: Math.min(range.end, manifest.size - 1) } : null;
    return {
      manifest,
      range: r,
      body: Readable.from(this.readRange(manifest, r ? r.start : 0, r ? r.end + 1 : manifest.size)),
    };
  }

  /**
   * Plaintext bytes [start, end) of a manifest, chunks read `depth` ahead of the consumer; an
   * SSE-C object's only with its customer's key. A consumer done with a piece may give it to
   * `recycle`.
   */
  async *readRange(manifest: ObjectManifest, start: number, end: number, customerKey?: Buffer): AsyncGenerator<Buffer> {
    const unwrapping = await this.unwrappingKey(manifest, customerKey);
    if (manifest.inline) {
      if (end > start) yield openInline(unwrapping, manifest.inline, manifest.size).subarray(start, end);
      return;
    }
    const wanted: Array<{ chunk: ChunkRef; from: number; to: number }> = [];
    let offset = 0;
    for (const chunk of manifest.chunks) {
      const chunkEnd = offset + chunk.plainSize;
      if (chunkEnd > start && offset < end)
        wanted.push({ chunk, from: Math.max(start - offset, 0), to: Math.min(end, chunkEnd) - offset });
      offset = chunkEnd;
    }
    const keys = new Map<string, Buffer>();
    const dataKey = (wrapped: string): Buffer => {
      let key = keys.get(wrapped);
      if (!key) keys.set(wrapped, (key = unwrapKey(unwrapping, Buffer.from(wrapped, 'base64'))));
      return key;
    };
    // Sparse: a slot is emptied once consumed, so a GET holds `depth` chunks, not the object.
    const ahead: Array<Promise<Buffer> | undefined> = [];
    const prefetch = (i: number): void => {
      const w = wanted[i];
      if (!w) return;
      const p = readChunk(
        {
          meta: this.o.meta,
          backends: this.o.backends,
          pipeline: this.o.pipeline,
          dataKey: dataKey(w.chunk.wrappedKey),
          hedgeMs: this.hedgeMs,
        },
        w.chunk,
      );
      p.catch(() => {}); // observed when its turn comes
      ahead[i] = p;
    };
    for (let i = 0; i < Math.min(this.depth, wanted.length); i++) prefetch(i);
    for (let i = 0; i < wanted.length; i++) {
      const plain = await ahead[i]!;
      ahead[i] = undefined;
      prefetch(i + this.depth);
      const w = wanted[i]!;
      yield w.from === 0 && w.to === plain.length ? plain : plain.subarray(w.from, w.to);
    }
  }

  /**
   * A piece readRange yielded that nothing reads any more (the socket took it): a whole chunk's
   * memory then serves a later chunk instead of being garbage (a 4 MiB buffer per chunk read
   * was collections and page faults on every GET).
   */
  recycle(piece: Buffer): void {
    this.o.pipeline.recycle(piece);
  }

  // ---------------------------------------------------------------- multipart

  /** Starts a multipart upload; returns its id. */
  async createUpload(bucket: string, key: string, headers: ObjectHeaders, customerKey?: Buffer): Promise<string> {
    if (!(await this.o.meta.getBucket(bucket))) throw new StoreError('NoSuchBucket', `bucket ${bucket} does not exist`);
    const uploadId = crypto.randomBytes(16).toString('hex');
    const sse = customerKey ? { sseCustomer: this.sseCustomer(customerKey) } : {};
    await this.o.meta.createUpload(bucket, key, uploadId, { ...headers, ...sse });
    return uploadId;
  }

  /**
   * Stores one part as chunks of its own; a part of the same number is replaced. The part of an
   * SSE-C upload is wrapped with `customerKey`, which the caller checked is the upload's.
   * `checksum`, asked once the body ended: the part's checksum in its upload's algorithm, kept
   * with the part.
   */
  async uploadPart(
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Uint8Array>,
    contentMd5?: string,
    customerKey?: Buffer,
    checksum?: () => Promise<string | undefined>,
  ): Promise<{ etag: string; size: number; checksum?: string }> {
    const upload = await this.o.meta.getUpload(uploadId);
    if (!upload) throw new StoreError('NoSuchUpload', 'The specified upload does not exist.');
    const key = this.uploadKey(upload.headers.sseCustomer, customerKey);
    const wrapping = await this.wrappingKey(key, upload.headers.sseKms);
    const geometry = this.geometry((await this.o.meta.getBucket(upload.bucket))?.settings ?? {});
    const writeId = `${uploadId}.${partNumber}.${crypto.randomBytes(6).toString('hex')}`;
    try {
      const stored = await this.storeChunks(writeId, body, geometry, wrapping);
      if (contentMd5 !== undefined && contentMd5 !== stored.md5.toString('base64')) {
        throw new StoreError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      const etag = this.etagOf(stored.md5, key);
      const sum = await checksum?.();
      const part = { etag, size: stored.size, ...(sum !== undefined ? { checksum: sum } : {}) };
      await this.o.meta.putPart(uploadId, partNumber, { ...part, chunks: stored.chunks }, writeId);
      await this.queueDegraded(stored.chunks, uploadId);
      await this.o.meta.durable();
      return part;
    } catch (e) {
      await this.o.meta.abortWrite(writeId);
      throw e;
    }
  }

  /**
   * UploadPartCopy: a part made of the source object's bytes [range.start, range.end], or all of
   * them. A whole source, or a range on its chunk boundaries, shares the source's chunks (the
   * part retains them, so deleting the source keeps them); any other range is read and stored as
   * new chunks. Either way the part's ETag is the MD5 of its bytes, as S3's is. Null when the
   * source is not version `sourceId` (the one whose conditions the caller checked), or was
   * replaced while it was hashed: the caller checks the source again and calls again. With
   * `checksum` (an upload with an additional checksum), the part's bytes are read through it and
   * its digest is kept with the part.
   */
  async uploadPartCopy(
    uploadId: string,
    partNumber: number,
    srcBucket: string,
    srcKey: string,
    range?: Range,
    sourceId?: string,
    sourceVersionId?: string,
    customerKeys: { source?: Buffer; target?: Buffer } = {},
    checksum?: PartChecksum,
  ): Promise<{ etag: string; size: number; checksum?: string } | null> {
    const upload = await this.o.meta.getUpload(uploadId);
    if (!upload) throw new StoreError('NoSuchUpload', 'The specified upload does not exist.');
    const source = await this.head(srcBucket, srcKey, sourceVersionId);
    if (sourceId !== undefined && source.id !== sourceId) return null;
    if (range && (range.start < 0 || range.start > range.end || range.end >= source.size)) {
      throw new StoreError('InvalidArgument', `Range specified is not valid for source object of size: ${source.size}`);
    }
    const start = range?.start ?? 0;
    const end = range ? range.end + 1 : source.size;
    const { source: sourceKey } = customerKeys;
    const targetKey = this.uploadKey(upload.headers.sseCustomer, customerKeys.target);
    const spanning = chunksSpanning(source.chunks, start, end);
    const bytes = (): AsyncGenerator<Buffer> => checksummed(this.readRange(source, start, end, sourceKey), checksum);
    if (!spanning)
      return this.uploadPart(uploadId, partNumber, bytes(), undefined, targetKey, () => checksum?.digest() ?? none);
    const sseC = source.sseCustomer !== undefined || targetKey !== undefined;
    // A single PUT's ETag is already the MD5 of the whole (SSE-C aside); anything else is hashed
    // by reading it (reads only: nothing is encoded or written).
    const etag =
      !range && !sseC && !checksum && /^[0-9a-f]{32}$/.test(source.etag)
        ? source.etag
        : this.etagOf(await md5Of(bytes()), targetKey);
    const sum = await checksum?.digest();
    // With SSE-C or SSE-KMS on either side the shared chunks' data keys are rewrapped for the
    // upload's key: the bytes stay where they are, only who can unwrap them changes.
    const from = await this.unwrappingKey(source, sourceKey);
    const to = await this.wrappingKey(targetKey, upload.headers.sseKms);
    const shared = from.equals(to) ? spanning : this.rewrapped(spanning, from, to);
    // The part retains the chunks in the transaction that checks the source is unchanged: a source
    // deleted or replaced while it was hashed cannot have released them.
    const part = { etag, size: end - start, chunks: shared, ...(sum !== undefined ? { checksum: sum } : {}) };
    if (
      !(await this.o.meta.putCopiedPart(uploadId, partNumber, part, {
        bucket: srcBucket,
        key: srcKey,
        versionId: sourceVersionId,
        id: source.id,
      }))
    )
      return null;
    await this.o.meta.durable();
    return { etag, size: end - start, ...(sum !== undefined ? { checksum: sum } : {}) };
  }

  /** The chunks with their data keys unwrapped by `from` and wrapped again by `to`. */
  private rewrapped(chunks: ChunkRef[], from: Buffer, to: Buffer): ChunkRef[] {
    return chunks.map((chunk) => ({
      ...chunk,
      wrappedKey: wrapKey(to, unwrapKey(from, Buffer.from(chunk.wrappedKey, 'base64'))).toString('base64'),
    }));
  }

  /**
   * The customer key a part of an upload is written with: the upload's (AccessDenied when the
   * caller's is not it), none for an upload without SSE-C.
   */
  private uploadKey(recorded: SseCustomer | undefined, customerKey?: Buffer): Buffer | undefined {
    if (!recorded) return undefined;
    if (!customerKey || !this.matchesCustomerKey(recorded, customerKey))
      throw new StoreError('AccessDenied', 'The upload is encrypted with a customer-provided key; give that key.');
    return customerKey;
  }

  /**
   * Joins the listed parts into the object: their chunk lists are concatenated, no data moves.
   * The ETag is S3's: MD5 of the parts' binary MD5s, then "-<number of parts>". With
   * `condition`, only if it holds for the key's object at the commit.
   */
  async completeUpload(
    uploadId: string,
    parts: CompletedPart[],
    checksums?: Record<string, string>,
    checksumType?: ChecksumType,
    condition?: PutCondition,
  ): Promise<ObjectManifest> {
    const upload = await this.o.meta.getUpload(uploadId);
    if (!upload) throw new StoreError('NoSuchUpload', 'The specified upload does not exist.');
    const etag = multipartEtag(parts);
    const done = await this.o.meta.completeUpload(uploadId, parts, {
      id: crypto.randomBytes(16).toString('hex'),
      etag,
      lastModified: Date.now(),
      checksums,
      ...(checksumType ? { checksumType } : {}),
      ...(condition ? { condition } : {}),
    });
    // Again, for chunks shared with a source (UploadPartCopy) that repair completed in the source's
    // manifest only: the parts' references still name the missing shards.
    await this.queueDegraded(done.manifest.chunks);
    await Promise.all([
      this.o.meta.durable(),
      this.replica.putVersion(done.bucket, done.key, versionIdOf(done.manifest), { manifest: done.manifest }),
    ]);
    return done.manifest;
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.o.meta.abortUpload(uploadId);
  }

  /** Changes a version's object lock (see `MetaStore.updateObjectLock`), recorded for `meta rebuild`. */
  async updateObjectLock(
    bucket: string,
    key: string,
    versionId: string | undefined,
    change: Parameters<MetaStore['updateObjectLock']>[3],
    bypassGovernance = false,
  ): Promise<ObjectManifest> {
    const manifest = await this.o.meta.updateObjectLock(bucket, key, versionId, change, bypassGovernance);
    await this.replica.putVersion(bucket, key, versionIdOf(manifest), { manifest });
    return manifest;
  }

  /**
   * Replaces the object's manifest (its ACL or tags changed) if it is still version `expectedId`,
   * in the metadata and its replicas. False when the object changed or is gone.
   */
  async updateObject(bucket: string, key: string, expectedId: string, manifest: ObjectManifest): Promise<boolean> {
    if (!(await this.o.meta.updateObject(bucket, key, expectedId, manifest))) return false;
    await this.replica.putVersion(bucket, key, versionIdOf(manifest), { manifest });
    return true;
  }

  /**
   * Deletes an object, or adds a delete marker, or removes version `versionId` for good (see
   * `MetaStore.deleteObject`); shards no version uses any more go to the delete queue.
   */
  async delete(bucket: string, key: string, versionId?: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    if (!(await this.o.meta.getBucket(bucket))) throw new StoreError('NoSuchBucket', `bucket ${bucket} does not exist`);
    const result = await this.o.meta.deleteObject(bucket, key, versionId, options);
    // The record of the version removed goes, or the marker added takes its place (the null
    // marker of a Suspended bucket replaces the null version's record).
    const record = result.added
      ? this.replica.putVersion(bucket, key, result.added.versionId, { marker: result.added })
      : result.versionId !== null || result.removed
        ? this.replica.putVersion(bucket, key, result.versionId ?? NULL_VERSION, null)
        : null;
    if (record) await Promise.all([this.o.meta.durable(), record]);
    return result;
  }

  /**
   * Server-side copy of the source's newest version, or of version `sourceVersionId`: chunks
   * shared by reference, nothing re-encoded. With `sourceId`, only while that version's manifest
   * is that one: null when it is another one now (see `MetaStore.copyObject`). With `condition`,
   * only if it holds for the destination key's object at the commit.
   */
  async copy(
    srcBucket: string,
    srcKey: string,
    dstBucket: string,
    dstKey: string,
    replace?: ObjectHeaders,
    sourceId?: string,
    sourceVersionId?: string,
    lock?: ObjectLock,
    condition?: PutCondition,
  ): Promise<ObjectManifest | null> {
    const change = await this.o.meta.copyObject(
      { bucket: srcBucket, key: srcKey, versionId: sourceVersionId, id: sourceId },
      dstBucket,
      dstKey,
      replace,
      lock,
      condition,
    );
    if (!change) return null;
    const { manifest } = change;
    await Promise.all([
      this.o.meta.durable(),
      this.replica.putVersion(dstBucket, dstKey, versionIdOf(manifest), { manifest }),
    ]);
    return manifest;
  }
}

/** A running checksum (the gateway's additional checksums), fed the bytes that pass. */
export interface PartChecksum {
  update(data: Uint8Array): void;
  /** base64 */
  digest(): Promise<string>;
}

const none = Promise.resolve(undefined);

/** `body`, fed to `checksum` on its way. */
async function* checksummed(body: AsyncGenerator<Buffer>, checksum?: PartChecksum): AsyncGenerator<Buffer> {
  for await (const piece of body) {
    checksum?.update(piece);
    yield piece;
  }
}

/** `first`, already taken from `rest`, then the rest. */
async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** The chunks covering exactly the bytes [start, end), or null when a boundary falls inside a chunk. */
function chunksSpanning(chunks: ChunkRef[], start: number, end: number): ChunkRef[] | null {
  if (start === end) return [];
  let offset = 0;
  let first = -1;
  for (let i = 0; i < chunks.length && offset < end; i++) {
    if (offset === start) first = i;
    offset += chunks[i]!.plainSize;
    if (first >= 0 && offset === end) return chunks.slice(first, i + 1);
  }
  return null;
}

async function md5Of(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const md5 = crypto.createHash('md5');
  for await (const piece of body) md5.update(piece);
  return md5.digest();
}
