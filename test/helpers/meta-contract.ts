/**
 * The MetaStore contract: what every engine must do, run against each (`test/meta-sqlite.test.ts`;
 * a PostgreSQL engine adds one line). Only the MetaStore interface is used here: anything
 * engine-specific (files, modes, pragmas) is tested beside its engine.
 */
import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { MetaError } from '../../src/meta/errors.js';
import type {
  ListObjectsOptions,
  ListUploadsResult,
  MetaStore,
  PutCondition,
  ShardLocation,
} from '../../src/meta/meta-store.js';
import type { ChunkRef, ObjectManifest } from '../../src/meta/manifest.js';

/** An engine's store for one test. */
export interface MetaStoreFixture {
  /** Opens the store: empty the first time, then with what the last one committed (a restart). */
  open(): Promise<MetaStore>;
  /** Removes the store's data; every store it opened is closed by then. */
  destroy(): Promise<void>;
}

const MiB = 1024 * 1024;

function chunk(id: string, plainSize = 100): ChunkRef {
  return {
    id,
    plainSize,
    storedSize: plainSize + 16,
    compressed: false,
    shardSize: 32,
    dataShards: 4,
    parityShards: 2,
    wrappedKey: 'a2V5',
    nonce: 'bm9uY2U=',
    aadObject: 'obj',
    aadIndex: 0,
    shards: Array.from({ length: 6 }, (_, i) => ({ backend: `b${i}`, key: `${id}.${i}`, crc: i })),
  };
}

function manifest(id: string, chunks: ChunkRef[] = [chunk(`${id}-c0`)]): ObjectManifest {
  return {
    id,
    size: chunks.reduce((sum, c) => sum + c.plainSize, 0),
    etag: `etag-${id}`,
    lastModified: 1_700_000_000_000,
    contentType: 'text/plain',
    metadata: { 'x-amz-meta-name': id },
    checksums: {},
    chunks,
  };
}

function shardsOf(...chunks: ChunkRef[]): ShardLocation[] {
  return chunks.flatMap((c) => c.shards.map(({ backend, key }) => ({ backend, key })));
}

function names(shards: ShardLocation[]): string[] {
  return shards.map((s) => `${s.backend}/${s.key}`).sort();
}

/** The MetaError code `promise` rejects with (undefined if it resolves). */
async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MetaError) return error.code;
    throw error;
  }
  return undefined;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** S3 listing by definition: roll every matching key up, keep entries after startAfter, sort, cut. */
function referenceList(keys: string[], { prefix = '', delimiter, startAfter, maxKeys = 1000 }: ListObjectsOptions) {
  const entries = new Map<string, boolean>(); // name -> is a common prefix
  for (const key of keys) {
    if (!Buffer.from(key).subarray(0, Buffer.byteLength(prefix)).equals(Buffer.from(prefix))) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) entries.set(key.slice(0, cut + delimiter!.length), true);
    else entries.set(key, false);
  }
  const sorted = [...entries.keys()].filter((name) => !startAfter || byBytes(name, startAfter) > 0).sort(byBytes);
  const page = maxKeys > 0 ? sorted.slice(0, maxKeys) : [];
  const isTruncated = maxKeys > 0 && sorted.length > maxKeys;
  return {
    keys: page.filter((name) => !entries.get(name)),
    prefixes: page.filter((name) => entries.get(name)),
    isTruncated,
    nextMarker: isTruncated ? page[page.length - 1] : null,
  };
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the contract against the stores `factory` makes, one per test. */
export function metaStoreContract(name: string, factory: () => Promise<MetaStoreFixture>): void {
  describe(`MetaStore contract: ${name}`, () => {
    let fixture: MetaStoreFixture;
    let meta: MetaStore;

    beforeEach(async () => {
      fixture = await factory();
      meta = await fixture.open();
    });

    afterEach(async () => {
      try {
        await meta.close();
      } finally {
        await fixture.destroy();
      }
    });

    /** Closes the store and opens it again. */
    async function reopen(): Promise<void> {
      await meta.close();
      meta = await fixture.open();
    }

    /** Everything in the delete queue, acknowledged, as sorted "backend/key" strings. */
    async function drainDeletes(): Promise<string[]> {
      const taken = await meta.takeDeletes(1_000_000, 60_000);
      await meta.ackDeletes(taken.map((s) => s.id));
      return taken.map((s) => `${s.backend}/${s.key}`).sort();
    }

    describe('buckets', () => {
      it('creates, lists sorted, refuses duplicates and keeps settings', async () => {
        await meta.createBucket('zeta');
        await meta.createBucket('alpha', { versioning: 'Enabled', owner: 'AK1' });
        expect(await errorCode(meta.createBucket('zeta'))).toBe('BucketAlreadyExists');
        expect((await meta.listBuckets()).map((b) => b.name)).toEqual(['alpha', 'zeta']);
        expect((await meta.getBucket('alpha'))?.settings).toEqual({ versioning: 'Enabled', owner: 'AK1' });
        const replaced = await meta.updateBucketSettings('alpha', () => ({
          erasure: { dataShards: 10, parityShards: 4 },
        }));
        expect(replaced).toEqual({
          name: 'alpha',
          created: expect.any(Number),
          settings: { erasure: { dataShards: 10, parityShards: 4 } },
        });
        expect((await meta.getBucket('alpha'))?.settings).toEqual({ erasure: { dataShards: 10, parityShards: 4 } });
        expect(await meta.getBucket('nope')).toBeNull();
        expect(await errorCode(meta.updateBucketSettings('nope', (settings) => settings))).toBe('NoSuchBucket');
      });

      it('changes settings in one transaction: concurrent changes all stay, a change that throws changes nothing', async () => {
        await meta.createBucket('b', { owner: 'AK1' });
        const cors = [{ allowedOrigins: ['*'], allowedMethods: ['GET'] }];
        await Promise.all([
          meta.updateBucketSettings('b', (settings) => ({ ...settings, versioning: 'Suspended' })),
          meta.updateBucketSettings('b', (settings) => ({ ...settings, cors })),
        ]);
        expect((await meta.getBucket('b'))?.settings).toEqual({ owner: 'AK1', versioning: 'Suspended', cors });
        const refused = meta.updateBucketSettings('b', () => {
          throw new Error('refused');
        });
        await expect(refused).rejects.toThrow('refused');
        expect((await meta.getBucket('b'))?.settings).toEqual({ owner: 'AK1', versioning: 'Suspended', cors });
        // A setting made undefined is gone.
        expect(
          (await meta.updateBucketSettings('b', (settings) => ({ ...settings, cors: undefined }))).settings,
        ).toEqual({ owner: 'AK1', versioning: 'Suspended' });
      });

      it('deletes only an empty bucket', async () => {
        expect(await errorCode(meta.deleteBucket('b'))).toBe('NoSuchBucket');
        await meta.createBucket('b');
        await meta.putObject('b', 'k', manifest('m1'));
        expect(await errorCode(meta.deleteBucket('b'))).toBe('BucketNotEmpty');
        await meta.deleteObject('b', 'k');
        await meta.deleteBucket('b');
        expect(await meta.getBucket('b')).toBeNull();
        expect(await errorCode(meta.putObject('b', 'k', manifest('m2')))).toBe('NoSuchBucket');
      });

      it('releases the parts of uploads in progress when the bucket goes', async () => {
        await meta.createBucket('b');
        await meta.createUpload('b', 'k', 'u1', { metadata: {} });
        const part = chunk('p1');
        await meta.putPart('u1', 1, { etag: 'e1', size: 100, chunks: [part] });
        await meta.deleteBucket('b');
        expect(await meta.getUpload('u1')).toBeNull();
        expect(await drainDeletes()).toEqual(names(shardsOf(part)));
      });
    });

    describe('objects', () => {
      beforeEach(() => meta.createBucket('b'));

      it('replaces atomically, returning the previous manifest, and deletes the old shards', async () => {
        const first = manifest('m1');
        const second = manifest('m2');
        expect((await meta.putObject('b', 'k', first)).previous).toBeNull();
        expect((await meta.putObject('b', 'k', second)).previous).toEqual(first);
        expect(await meta.getObject('b', 'k')).toEqual(second);
        expect(await drainDeletes()).toEqual(names(shardsOf(...first.chunks)));
        expect(await meta.deleteObject('b', 'k')).toEqual({ removed: second, versionId: null, deleteMarker: false });
        expect((await meta.deleteObject('b', 'k')).removed).toBeNull();
        expect(await meta.getObject('b', 'k')).toBeNull();
        expect(await drainDeletes()).toEqual(names(shardsOf(...second.chunks)));
        expect(await errorCode(meta.getObject('nope', 'k'))).toBe('NoSuchBucket');
      });

      it('shares chunks between copies: the shards go with the last copy only', async () => {
        await meta.createBucket('other');
        const original = manifest('m1', [chunk('c1'), chunk('c2')]);
        await meta.putObject('b', 'a', original);
        const { manifest: copy, previous } = (await meta.copyObject({ bucket: 'b', key: 'a' }, 'other', 'copy'))!;
        expect(previous).toBeNull();
        expect(copy.id).not.toBe(original.id);
        expect(copy.chunks).toEqual(original.chunks);
        expect(await meta.getObject('other', 'copy')).toEqual(copy);

        await meta.deleteObject('b', 'a');
        expect(await drainDeletes()).toEqual([]);
        await meta.deleteObject('other', 'copy');
        expect(await drainDeletes()).toEqual(names(shardsOf(...original.chunks)));
      });

      it('copies onto itself to replace the headers without releasing any chunk', async () => {
        await meta.putObject('b', 'a', manifest('m1'));
        const { manifest: copy, previous } = (await meta.copyObject({ bucket: 'b', key: 'a' }, 'b', 'a', {
          contentType: 'image/png',
          metadata: { 'x-amz-meta-new': '1' },
        }))!;
        expect(previous?.id).toBe('m1');
        expect(copy.contentType).toBe('image/png');
        expect(copy.metadata).toEqual({ 'x-amz-meta-new': '1' });
        expect(await drainDeletes()).toEqual([]);
        expect(await errorCode(meta.copyObject({ bucket: 'b', key: 'missing' }, 'b', 'x'))).toBe('NoSuchKey');
      });

      it("lists each object's owner from its ACL, only when asked", async () => {
        const owner = { id: 'owner-id', displayName: 'Owner' };
        await meta.putObject('b', 'a', { ...manifest('m1'), acl: { owner, grants: [] } });
        await meta.putObject('b', 'b', manifest('m2'));
        const withOwners = (await meta.listObjects({ bucket: 'b', owners: true })).entries;
        expect(withOwners.map((e) => [e.key, e.owner])).toEqual([
          ['a', owner],
          ['b', undefined],
        ]);
        expect((await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.owner)).toEqual([undefined, undefined]);
      });

      it("keeps an object's ACL and tags: a copy takes those given with its headers, an update changes them in place", async () => {
        const acl = {
          owner: { id: 'o', displayName: 'O' },
          grants: [
            {
              grantee: { type: 'Group' as const, uri: 'http://acs.amazonaws.com/groups/global/AllUsers' },
              permission: 'READ' as const,
            },
          ],
        };
        await meta.putObject('b', 'a', { ...manifest('m1'), acl, tags: { project: 'x' } });
        expect(await meta.getObject('b', 'a')).toMatchObject({ acl, tags: { project: 'x' } });
        const copy = (await meta.copyObject({ bucket: 'b', key: 'a' }, 'b', 'c', {
          metadata: {},
          tags: { project: 'y' },
        }))!.manifest;
        expect([copy.acl, copy.tags]).toEqual([undefined, { project: 'y' }]);
        expect(await meta.updateObject('b', 'a', 'm1', { ...manifest('m1'), tags: { project: 'z' } })).toBe(true);
        expect(await meta.getObject('b', 'a')).toMatchObject({ id: 'm1', tags: { project: 'z' } });
        expect((await meta.getObject('b', 'a'))?.acl).toBeUndefined();
        expect(await drainDeletes()).toEqual([]);
      });

      it('copies only the version of the source named, when one is', async () => {
        await meta.putObject('b', 'a', manifest('m1'));
        expect(await meta.copyObject({ bucket: 'b', key: 'a', id: 'm0' }, 'b', 'c')).toBeNull();
        expect(await meta.getObject('b', 'c')).toBeNull();
        expect((await meta.copyObject({ bucket: 'b', key: 'a', id: 'm1' }, 'b', 'c'))?.manifest.chunks).toEqual(
          manifest('m1').chunks,
        );
        await meta.deleteObject('b', 'a');
        expect(await meta.copyObject({ bucket: 'b', key: 'a', id: 'm1' }, 'b', 'd')).toBeNull();
        expect(await errorCode(meta.copyObject({ bucket: 'nope', key: 'a', id: 'm1' }, 'b', 'd'))).toBe('NoSuchBucket');
      });

      it('bulk puts in one transaction', async () => {
        await meta.putObjects('b', [
          { key: 'x', manifest: manifest('m1') },
          { key: 'y', manifest: manifest('m2') },
        ]);
        expect((await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key)).toEqual(['x', 'y']);
        // One bad manifest (a null etag breaks a NOT NULL constraint) rolls the whole batch back.
        const bad = { ...manifest('m4'), etag: null as unknown as string };
        await expect(
          meta.putObjects('b', [
            { key: 'z', manifest: manifest('m3') },
            { key: 'w', manifest: bad },
          ]),
        ).rejects.toThrow();
        expect(await meta.getObject('b', 'z')).toBeNull();
        expect(await drainDeletes()).toEqual([]);
      });
    });

    describe('versions', () => {
      beforeEach(async () => {
        await meta.createBucket('b');
        await meta.createBucket('v', { versioning: 'Enabled' });
      });

      /** Every entry of the bucket's version listing, one field string each. */
      async function allVersions(bucket: string, prefix?: string): Promise<string[]> {
        const page = await meta.listVersions({ bucket, prefix });
        return page.versions.map(
          (v) => `${v.key} ${v.object ? v.object.etag : 'marker'}${v.isLatest ? ' latest' : ''}`,
        );
      }

      it('keeps every version in an Enabled bucket, each with its own id, the newest read by default', async () => {
        const v1 = (await meta.putObject('v', 'k', manifest('m1'))).manifest;
        const v2 = (await meta.putObject('v', 'k', manifest('m2'))).manifest;
        expect(v1.versionId).toMatch(/^[A-Za-z0-9_-]{16,}$/);
        expect(v2.versionId).not.toBe(v1.versionId);
        expect(await meta.getObject('v', 'k')).toEqual(v2);
        expect(await meta.getVersion('v', 'k', v1.versionId)).toEqual({ manifest: v1 });
        expect(await meta.getVersion('v', 'k')).toEqual({ manifest: v2 });
        expect(await meta.getVersion('v', 'k', 'null')).toBeNull();
        expect(await drainDeletes()).toEqual([]);
        expect(await allVersions('v')).toEqual(['k etag-m2 latest', 'k etag-m1']);
      });

      it('adds a delete marker, hides the key from listings, and restores the previous version when the marker goes', async () => {
        const v1 = (await meta.putObject('v', 'k', manifest('m1'))).manifest;
        const deleted = await meta.deleteObject('v', 'k');
        expect(deleted).toMatchObject({ removed: null, deleteMarker: true });
        expect(deleted.added?.versionId).toBe(deleted.versionId);
        expect(await meta.getObject('v', 'k')).toBeNull();
        expect(await meta.getVersion('v', 'k')).toEqual({ marker: deleted.added });
        expect((await meta.listObjects({ bucket: 'v' })).entries).toEqual([]);
        expect(await allVersions('v')).toEqual(['k marker latest', 'k etag-m1']);
        expect(await errorCode(meta.deleteBucket('v'))).toBe('BucketNotEmpty');

        expect(await meta.deleteObject('v', 'k', deleted.versionId!)).toEqual({
          removed: null,
          versionId: deleted.versionId,
          deleteMarker: true,
        });
        expect(await meta.getObject('v', 'k')).toEqual(v1);
        expect((await meta.listObjects({ bucket: 'v' })).entries.map((e) => e.etag)).toEqual(['etag-m1']);
        expect(await drainDeletes()).toEqual([]);

        // Removing a version by id is for good: its chunks go; an unknown id changes nothing.
        expect(await meta.deleteObject('v', 'k', 'no-such-version')).toEqual({
          removed: null,
          versionId: null,
          deleteMarker: false,
        });
        expect((await meta.deleteObject('v', 'k', v1.versionId!)).removed).toEqual(v1);
        expect(await drainDeletes()).toEqual(names(shardsOf(...v1.chunks)));
        expect(await meta.getVersion('v', 'k')).toBeNull();
        await meta.deleteBucket('v');
      });

      it('removing an older version keeps the newest listed', async () => {
        const v1 = (await meta.putObject('v', 'k', manifest('m1'))).manifest;
        await meta.putObject('v', 'k', manifest('m2'));
        await meta.deleteObject('v', 'k', v1.versionId!);
        expect((await meta.listObjects({ bucket: 'v' })).entries.map((e) => e.etag)).toEqual(['etag-m2']);
        expect(await allVersions('v')).toEqual(['k etag-m2 latest']);
      });

      it('Suspended: writes and deletes replace the null version only, wherever it is', async () => {
        await meta.updateBucketSettings('b', (settings) => ({ ...settings, versioning: 'Suspended' }));
        const n1 = (await meta.putObject('b', 'k', manifest('n1'))).manifest;
        expect(n1.versionId).toBeUndefined();
        await meta.updateBucketSettings('b', (settings) => ({ ...settings, versioning: 'Enabled' }));
        const v2 = (await meta.putObject('b', 'k', manifest('m2'))).manifest;
        await meta.updateBucketSettings('b', (settings) => ({ ...settings, versioning: 'Suspended' }));
        // The null version was the oldest: it goes, the new null version is the newest.
        const change = await meta.putObject('b', 'k', manifest('n3'));
        expect(change.previous).toEqual(n1);
        expect(await drainDeletes()).toEqual(names(shardsOf(...n1.chunks)));
        expect(await allVersions('b')).toEqual(['k etag-n3 latest', 'k etag-m2']);
        // A delete puts a null marker in the null version's place; the versioned one stays.
        const deleted = await meta.deleteObject('b', 'k');
        expect(deleted).toMatchObject({ versionId: 'null', deleteMarker: true });
        expect(deleted.removed?.id).toBe('n3');
        expect(await allVersions('b')).toEqual(['k marker latest', 'k etag-m2']);
        expect(await meta.getVersion('b', 'k', v2.versionId)).toEqual({ manifest: v2 });
        expect(await meta.getObject('b', 'k')).toBeNull();
        // A put replaces the null marker.
        await meta.putObject('b', 'k', manifest('n4'));
        expect(await allVersions('b')).toEqual(['k etag-n4 latest', 'k etag-m2']);
      });

      it('lists a bucket that never had versioning as null versions', async () => {
        await meta.putObject('b', 'a', manifest('m1'));
        await meta.putObject('b', 'a', manifest('m2'));
        await meta.putObject('b', 'c', manifest('m3'));
        const page = await meta.listVersions({ bucket: 'b' });
        expect(page.versions.map((v) => [v.key, v.versionId, v.isLatest, v.object?.etag])).toEqual([
          ['a', 'null', true, 'etag-m2'],
          ['c', 'null', true, 'etag-m3'],
        ]);
        expect(await meta.getVersion('b', 'a', 'null')).toEqual({ manifest: manifest('m2') });
        expect(await meta.deleteObject('b', 'a', 'null')).toEqual({
          removed: manifest('m2'),
          versionId: 'null',
          deleteMarker: false,
        });
      });

      it('pages through versions, the history of a key split across pages, with prefixes rolled up', async () => {
        for (const [key, n] of [
          ['a', 3],
          ['b/1', 2],
          ['b/2', 1],
          ['c', 4],
        ] as const) {
          for (let i = 0; i < n; i++) await meta.putObject('v', key, manifest(`${key}-${i}`));
        }
        await meta.deleteObject('v', 'c');
        const everything = await meta.listVersions({ bucket: 'v' });
        expect(everything.isTruncated).toBe(false);
        const flat = everything.versions.map((v) => `${v.key}:${v.object?.etag ?? 'marker'}${v.isLatest ? '*' : ''}`);
        expect(flat).toEqual([
          'a:etag-a-2*',
          'a:etag-a-1',
          'a:etag-a-0',
          'b/1:etag-b/1-1*',
          'b/1:etag-b/1-0',
          'b/2:etag-b/2-0*',
          'c:marker*',
          'c:etag-c-3',
          'c:etag-c-2',
          'c:etag-c-1',
          'c:etag-c-0',
        ]);
        for (const maxKeys of [1, 2, 3, 4, 5]) {
          const seen: typeof everything.versions = [];
          let keyMarker: string | undefined;
          let versionIdMarker: string | undefined;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThan(20);
            const page = await meta.listVersions({ bucket: 'v', keyMarker, versionIdMarker, maxKeys });
            expect(page.versions.length).toBeLessThanOrEqual(maxKeys);
            seen.push(...page.versions);
            if (!page.isTruncated) break;
            keyMarker = page.nextKeyMarker!;
            versionIdMarker = page.nextVersionIdMarker ?? undefined;
          }
          expect(seen, `maxKeys ${maxKeys}`).toEqual(everything.versions);
        }
        const rolled = await meta.listVersions({ bucket: 'v', delimiter: '/', maxKeys: 4 });
        expect(rolled.versions.map((v) => v.key)).toEqual(['a', 'a', 'a']);
        expect(rolled.commonPrefixes).toEqual(['b/']);
        expect([rolled.isTruncated, rolled.nextKeyMarker, rolled.nextVersionIdMarker]).toEqual([true, 'b/', null]);
        const rest = await meta.listVersions({ bucket: 'v', delimiter: '/', keyMarker: 'b/' });
        expect(rest.versions.map((v) => v.key)).toEqual(['c', 'c', 'c', 'c', 'c']);
        expect(rest.commonPrefixes).toEqual([]);
        expect((await meta.listVersions({ bucket: 'v', prefix: 'b/' })).versions.map((v) => v.key)).toEqual([
          'b/1',
          'b/1',
          'b/2',
        ]);
        expect((await meta.listVersions({ bucket: 'v', maxKeys: 0 })).versions).toEqual([]);
      });

      it('pages on when the version named by the version-id marker was removed since (a clean-up deleting what it lists)', async () => {
        for (const [key, n] of [
          ['a', 4],
          ['b', 2],
        ] as const) {
          for (let i = 0; i < n; i++) await meta.putObject('v', key, manifest(`${key}-${i}`));
        }
        const removed: string[] = [];
        let keyMarker: string | undefined;
        let versionIdMarker: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThan(20);
          const page = await meta.listVersions({ bucket: 'v', keyMarker, versionIdMarker, maxKeys: 3 });
          for (const v of page.versions) {
            await meta.deleteObject('v', v.key, v.versionId);
            removed.push(`${v.key}:${v.object!.etag}`);
          }
          if (!page.isTruncated) break;
          keyMarker = page.nextKeyMarker!;
          versionIdMarker = page.nextVersionIdMarker ?? undefined;
        }
        expect(removed).toEqual(['a:etag-a-3', 'a:etag-a-2', 'a:etag-a-1', 'a:etag-a-0', 'b:etag-b-1', 'b:etag-b-0']);
        expect((await meta.listVersions({ bucket: 'v' })).versions).toEqual([]);
      });

      it('copies a named version, refuses a marker named as source, and frees shared chunks with the last reference', async () => {
        const shared = chunk('shared');
        const v1 = (await meta.putObject('v', 'src', manifest('m1', [shared]))).manifest;
        await meta.putObject('v', 'src', manifest('m2'));
        const copy = (await meta.copyObject({ bucket: 'v', key: 'src', versionId: v1.versionId }, 'b', 'dst'))!
          .manifest;
        expect(copy.chunks).toEqual([shared]);
        expect(copy.versionId).toBeUndefined();
        expect(
          await meta.copyObject({ bucket: 'v', key: 'src', versionId: v1.versionId, id: 'other' }, 'b', 'dst2'),
        ).toBeNull();
        const marker = await meta.deleteObject('v', 'src');
        expect(await errorCode(meta.copyObject({ bucket: 'v', key: 'src' }, 'b', 'x'))).toBe('NoSuchKey');
        expect(
          await errorCode(meta.copyObject({ bucket: 'v', key: 'src', versionId: marker.versionId! }, 'b', 'x')),
        ).toBe('InvalidRequest');
        expect(await errorCode(meta.copyObject({ bucket: 'v', key: 'src', versionId: 'gone' }, 'b', 'x'))).toBe(
          'NoSuchKey',
        );
        await meta.deleteObject('v', 'src', v1.versionId!);
        expect(await drainDeletes()).toEqual([]);
        await meta.deleteObject('b', 'dst');
        expect(await drainDeletes()).toEqual(names(shardsOf(shared)));
      });

      it('puts a copied part from a named version only while it is that manifest', async () => {
        const v1 = (await meta.putObject('v', 'src', manifest('m1'))).manifest;
        await meta.putObject('v', 'src', manifest('m2'));
        await meta.createUpload('b', 'mp', 'u1', { metadata: {} });
        const part = { etag: 'e1', size: 100, chunks: v1.chunks };
        expect(
          await meta.putCopiedPart('u1', 1, part, { bucket: 'v', key: 'src', versionId: v1.versionId, id: 'm2' }),
        ).toBe(false);
        expect(
          await meta.putCopiedPart('u1', 1, part, { bucket: 'v', key: 'src', versionId: v1.versionId, id: 'm1' }),
        ).toBe(true);
      });

      it('completes a multipart upload into a new version', async () => {
        await meta.putObject('v', 'mp', manifest('m1'));
        await meta.createUpload('v', 'mp', 'u1', { metadata: {} });
        await meta.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [chunk('p1', 10)] });
        const done = await meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], {
          id: 'obj',
          etag: 'x-1',
          lastModified: 5,
        });
        expect(done.manifest.versionId).toBeDefined();
        expect(done.previous).toBeNull();
        expect(await allVersions('v')).toEqual(['mp x-1 latest', 'mp etag-m1']);
      });

      it('updates the manifest of the version named, only while it is the one expected', async () => {
        const v1 = (await meta.putObject('v', 'k', manifest('m1'))).manifest;
        await meta.putObject('v', 'k', manifest('m2'));
        const moved = { ...v1, chunks: [chunk('moved')] };
        expect(await meta.updateObject('v', 'k', 'm2', moved)).toBe(false);
        expect(await meta.updateObject('v', 'k', 'm1', moved)).toBe(true);
        expect(await meta.getVersion('v', 'k', v1.versionId)).toEqual({ manifest: moved });
        expect((await meta.getObject('v', 'k'))?.id).toBe('m2');
        expect(await drainDeletes()).toEqual(names(shardsOf(...v1.chunks)));
      });

      it('restores versions and markers with their ids, in the order given (a rebuild)', async () => {
        const marker = { versionId: 'mk', lastModified: 7 };
        await meta.putObjects('b', [
          { key: 'k', manifest: manifest('n0') },
          { key: 'k', manifest: { ...manifest('m1'), versionId: 'v1' } },
          { key: 'k', marker },
          { key: 'j', manifest: { ...manifest('m2'), versionId: 'v2' } },
        ]);
        const page = await meta.listVersions({ bucket: 'b' });
        expect(page.versions.map((v) => [v.key, v.versionId, v.isLatest])).toEqual([
          ['j', 'v2', true],
          ['k', 'mk', true],
          ['k', 'v1', false],
          ['k', 'null', false],
        ]);
        expect(await meta.getVersion('b', 'k')).toEqual({ marker });
        expect((await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key)).toEqual(['j']);
      });

      it('keeps versions across a restart', async () => {
        const v1 = (await meta.putObject('v', 'k', manifest('m1'))).manifest;
        await meta.deleteObject('v', 'k');
        await reopen();
        expect(await meta.getVersion('v', 'k', v1.versionId)).toEqual({ manifest: v1 });
        expect(await allVersions('v')).toEqual(['k marker latest', 'k etag-m1']);
      });
    });

    describe('object lock', () => {
      const DAY = 24 * 3600 * 1000;
      beforeEach(() =>
        meta.createBucket('w', {
          versioning: 'Enabled',
          objectLock: { defaultRetention: { mode: 'GOVERNANCE', days: 1 } },
        }),
      );

      it('locks new versions with the default retention; a locked version is not deleted by id, a marker still goes on top', async () => {
        const before = Date.now();
        const v1 = (await meta.putObject('w', 'k', manifest('m1'))).manifest;
        expect(v1.lock?.mode).toBe('GOVERNANCE');
        expect(v1.lock!.retainUntil! - before).toBeGreaterThanOrEqual(DAY - 1000);
        expect(await errorCode(meta.deleteObject('w', 'k', v1.versionId))).toBe('AccessDenied');
        const marker = await meta.deleteObject('w', 'k');
        expect(marker.deleteMarker).toBe(true);
        expect(await meta.getVersion('w', 'k', v1.versionId)).toEqual({ manifest: v1 });
        // GOVERNANCE yields to a bypass.
        expect((await meta.deleteObject('w', 'k', v1.versionId, { bypassGovernance: true })).removed?.id).toBe('m1');
        expect(await drainDeletes()).toEqual(names(shardsOf(...v1.chunks)));
      });

      it('COMPLIANCE only lengthens; GOVERNANCE shortens with a bypass; a legal hold holds whatever the retention', async () => {
        const v1 = (
          await meta.putObject('w', 'k', {
            ...manifest('m1'),
            lock: { mode: 'COMPLIANCE', retainUntil: Date.now() + DAY },
          })
        ).manifest;
        const later = Date.now() + 2 * DAY;
        expect(
          (
            await meta.updateObjectLock('w', 'k', v1.versionId, {
              retention: { mode: 'COMPLIANCE', retainUntil: later },
            })
          ).lock,
        ).toEqual({ mode: 'COMPLIANCE', retainUntil: later });
        expect(
          await errorCode(
            meta.updateObjectLock(
              'w',
              'k',
              v1.versionId,
              { retention: { mode: 'COMPLIANCE', retainUntil: Date.now() } },
              true,
            ),
          ),
        ).toBe('AccessDenied');
        expect(
          await errorCode(
            meta.updateObjectLock(
              'w',
              'k',
              v1.versionId,
              { retention: { mode: 'GOVERNANCE', retainUntil: later } },
              true,
            ),
          ),
        ).toBe('AccessDenied');
        expect(await errorCode(meta.updateObjectLock('w', 'k', v1.versionId, { retention: null }, true))).toBe(
          'AccessDenied',
        );
        expect(await errorCode(meta.deleteObject('w', 'k', v1.versionId, { bypassGovernance: true }))).toBe(
          'AccessDenied',
        );

        const v2 = (await meta.putObject('w', 'g', manifest('m2'))).manifest;
        expect(await errorCode(meta.updateObjectLock('w', 'g', v2.versionId, { retention: null }))).toBe(
          'AccessDenied',
        );
        await meta.updateObjectLock('w', 'g', v2.versionId, { legalHold: true });
        expect((await meta.updateObjectLock('w', 'g', undefined, { retention: null }, true)).lock).toEqual({
          legalHold: true,
        });
        expect(await errorCode(meta.deleteObject('w', 'g', v2.versionId, { bypassGovernance: true }))).toBe(
          'AccessDenied',
        );
        await meta.updateObjectLock('w', 'g', v2.versionId, { legalHold: false });
        await meta.deleteObject('w', 'g', v2.versionId);
        expect(await errorCode(meta.updateObjectLock('w', 'g', v2.versionId, { legalHold: true }))).toBe('NoSuchKey');
      });

      it('a repair moving shards keeps the lock set since it read the manifest; a copy takes the bucket default, not the source lock', async () => {
        const v1 = (await meta.putObject('w', 'k', { ...manifest('m1'), lock: { legalHold: true } })).manifest;
        await meta.updateObjectLock('w', 'k', v1.versionId, { legalHold: false });
        expect(await meta.updateObject('w', 'k', 'm1', { ...v1, chunks: [chunk('moved')] })).toBe(true);
        expect((await meta.getVersion('w', 'k', v1.versionId))?.manifest?.lock?.legalHold).toBe(false);
        await meta.createBucket('free');
        const copy = (await meta.copyObject({ bucket: 'w', key: 'k' }, 'free', 'c'))!.manifest;
        expect(copy.lock).toBeUndefined();
      });
    });

    describe('listing', () => {
      beforeEach(() => meta.createBucket('b'));

      it('orders keys by their UTF-8 bytes, not UTF-16 code units', async () => {
        const keys = [
          'z',
          'a',
          'Z',
          '~',
          '\u0080',
          'é',
          'ÿ',
          '\uFFFD',
          '\u{1F600}',
          'a/b',
          'ab',
          '\u{10FFFF}',
          'e\u0301',
        ];
        for (const key of keys) await meta.putObject('b', key, manifest(`m-${key}`));
        const listed = (await meta.listObjects({ bucket: 'b' })).entries.map((e) => e.key);
        expect(listed).toEqual([...keys].sort(byBytes));
        // U+FFFD is EF BF BD and U+1F600 is F0 9F 98 80: byte order puts U+FFFD first, where a
        // JavaScript string sort (UTF-16: FFFD vs D83D) would not.
        expect(listed.indexOf('\uFFFD')).toBeLessThan(listed.indexOf('\u{1F600}'));
        expect(['\uFFFD', '\u{1F600}'].sort()).toEqual(['\u{1F600}', '\uFFFD']);
      });

      it('keeps size, etag and modification time in the listing', async () => {
        await meta.putObject('b', 'k', manifest('m1', [chunk('c1', 1234)]));
        expect((await meta.listObjects({ bucket: 'b' })).entries).toEqual([
          { key: 'k', size: 1234, etag: 'etag-m1', lastModified: 1_700_000_000_000 },
        ]);
      });

      it('rolls up common prefixes, counts them toward maxKeys and resumes after them', async () => {
        for (const key of ['a/1', 'a/2', 'b', 'c/x/1', 'c/y', 'd']) await meta.putObject('b', key, manifest(key));
        const first = await meta.listObjects({ bucket: 'b', delimiter: '/', maxKeys: 2 });
        expect(first).toEqual({
          entries: [expect.objectContaining({ key: 'b' })],
          commonPrefixes: ['a/'],
          isTruncated: true,
          nextMarker: 'b',
        });
        const second = await meta.listObjects({ bucket: 'b', delimiter: '/', maxKeys: 2, startAfter: 'b' });
        expect(second.commonPrefixes).toEqual(['c/']);
        expect(second.entries.map((e) => e.key)).toEqual(['d']);
        expect(second.isTruncated).toBe(false);
        // A marker inside a common prefix skips the rest of it.
        expect((await meta.listObjects({ bucket: 'b', delimiter: '/', startAfter: 'a/1' })).commonPrefixes).toEqual([
          'c/',
        ]);
        expect(await meta.listObjects({ bucket: 'b', prefix: 'c/', delimiter: '/' })).toMatchObject({
          commonPrefixes: ['c/x/'],
          entries: [{ key: 'c/y' }],
        });
        expect(await meta.listObjects({ bucket: 'b', maxKeys: 0 })).toEqual({
          entries: [],
          commonPrefixes: [],
          isTruncated: false,
          nextMarker: null,
        });
      });

      it('matches a brute-force reference on random key sets (seeded)', async () => {
        const random = mulberry32(20240611);
        const alphabet = ['a', 'b', '/', '.', 'é', 'ÿ', '\u0080', '\uFFFD', '\u{1F600}', 'z'];
        const word = (max: number): string =>
          Array.from(
            { length: 1 + Math.floor(random() * max) },
            () => alphabet[Math.floor(random() * alphabet.length)],
          ).join('');
        const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
        for (let round = 0; round < 4; round++) {
          const bucket = `r${round}`;
          await meta.createBucket(bucket);
          const keys = [...new Set(Array.from({ length: 250 }, () => word(6)))];
          await meta.putObjects(
            bucket,
            keys.map((key) => ({ key, manifest: manifest(`${bucket}-${key}`, []) })),
          );
          for (let query = 0; query < 250; query++) {
            const key = pick(keys);
            const options: ListObjectsOptions = {
              bucket,
              prefix: pick([undefined, '', key.slice(0, 1), [...key].slice(0, 2).join(''), word(2)]),
              delimiter: pick([undefined, '/', 'é', 'ab', '\u{1F600}']),
              startAfter: pick([undefined, key, word(3), `${key.slice(0, 1)}/`]),
              maxKeys: pick([0, 1, 2, 3, 7, 1000]),
            };
            const label = JSON.stringify(options);
            const expected = referenceList(keys, options);
            const actual = await meta.listObjects(options);
            expect(
              {
                keys: actual.entries.map((e) => e.key),
                prefixes: actual.commonPrefixes,
                isTruncated: actual.isTruncated,
                nextMarker: actual.nextMarker,
              },
              label,
            ).toEqual(expected);
            // Paging by nextMarker visits exactly what one long listing returns.
            if (options.maxKeys! > 0 && options.maxKeys! < 10) {
              const all = referenceList(keys, { ...options, maxKeys: 1_000_000 });
              const paged: string[] = [];
              for (let page = actual; ; page = await meta.listObjects({ ...options, startAfter: page.nextMarker! })) {
                paged.push(...page.entries.map((e) => e.key), ...page.commonPrefixes);
                if (!page.isTruncated) break;
              }
              expect(paged.sort(byBytes), label).toEqual([...all.keys, ...all.prefixes].sort(byBytes));
            }
          }
        }
        // Thousands of listings: an engine behind a socket on a loaded machine needs minutes.
      }, 300_000);
    });

    describe('multipart', () => {
      const p1 = chunk('p1', 5 * MiB);
      const p2 = chunk('p2', 5 * MiB);
      const p2b = chunk('p2b', 5 * MiB);
      const p3 = chunk('p3', 10);

      beforeEach(async () => {
        await meta.createBucket('b');
        await meta.createUpload('b', 'big', 'u1', { contentType: 'video/mp4', metadata: { 'x-amz-meta-a': '1' } });
        await meta.putPart('u1', 1, { etag: 'e1', size: 5 * MiB, chunks: [p1] });
        await meta.putPart('u1', 2, { etag: 'e2', size: 5 * MiB, chunks: [p2] });
        await meta.putPart('u1', 3, { etag: 'e3', size: 10, chunks: [p3] });
      });

      it('replaces a part, releasing the old one, and lists parts in pages', async () => {
        await meta.putPart('u1', 2, { etag: 'e2b', size: 5 * MiB, chunks: [p2b] });
        expect(await drainDeletes()).toEqual(names(shardsOf(p2)));
        const first = await meta.listParts('u1', 0, 2);
        expect(first.parts.map((p) => [p.partNumber, p.etag])).toEqual([
          [1, 'e1'],
          [2, 'e2b'],
        ]);
        expect(first).toMatchObject({ isTruncated: true, nextPartNumberMarker: 2 });
        expect(await meta.listParts('u1', 2, 2)).toMatchObject({
          parts: [{ partNumber: 3, size: 10 }],
          isTruncated: false,
          nextPartNumberMarker: null,
        });
        expect(await errorCode(meta.listParts('nope'))).toBe('NoSuchUpload');
      });

      it('completes by concatenating the chosen parts and releases the parts left out', async () => {
        const done = await meta.completeUpload(
          'u1',
          [
            { partNumber: 1, etag: '"e1"' },
            { partNumber: 3, etag: 'e3' },
          ],
          { id: 'obj1', etag: 'x-2', lastModified: 5 },
        );
        expect(done.bucket).toBe('b');
        expect(done.key).toBe('big');
        expect(done.previous).toBeNull();
        expect(done.manifest).toEqual({
          id: 'obj1',
          size: 5 * MiB + 10,
          etag: 'x-2',
          lastModified: 5,
          contentType: 'video/mp4',
          metadata: { 'x-amz-meta-a': '1' },
          checksums: {},
          chunks: [p1, p3],
          parts: [5 * MiB, 10],
          uploadId: 'u1',
        });
        expect(await meta.getObject('b', 'big')).toEqual(done.manifest);
        expect(await drainDeletes()).toEqual(names(shardsOf(p2)));
        expect(await meta.getUpload('u1')).toBeNull();
        expect(
          await errorCode(
            meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], { id: 'x', etag: 'x', lastModified: 0 }),
          ),
        ).toBe('NoSuchUpload');
        await meta.deleteObject('b', 'big');
        expect(await drainDeletes()).toEqual(names(shardsOf(p1, p3)));
      });

      it('gives the completed object the ACL and tags its upload was created with', async () => {
        const acl = { owner: { id: 'o', displayName: 'O' }, grants: [] };
        await meta.createUpload('b', 'tagged', 'u2', { metadata: {}, acl, tags: { k: 'v' } });
        await meta.putPart('u2', 1, { etag: 'e', size: 10, chunks: [chunk('q1', 10)] });
        const done = await meta.completeUpload('u2', [{ partNumber: 1, etag: 'e' }], {
          id: 'obj2',
          etag: 'x-1',
          lastModified: 5,
        });
        expect([done.manifest.acl, done.manifest.tags]).toEqual([acl, { k: 'v' }]);
      });

      it('rejects bad completions and leaves the upload as it was', async () => {
        const fields = { id: 'o', etag: 'x', lastModified: 0 };
        expect(await errorCode(meta.completeUpload('u1', [], fields))).toBe('MalformedXML');
        expect(
          await errorCode(
            meta.completeUpload(
              'u1',
              [
                { partNumber: 2, etag: 'e2' },
                { partNumber: 1, etag: 'e1' },
              ],
              fields,
            ),
          ),
        ).toBe('InvalidPartOrder');
        expect(
          await errorCode(
            meta.completeUpload(
              'u1',
              [
                { partNumber: 1, etag: 'e1' },
                { partNumber: 1, etag: 'wrong' },
              ],
              fields,
            ),
          ),
        ).toBe('InvalidPart');
        expect(await errorCode(meta.completeUpload('u1', [{ partNumber: 1, etag: 'wrong' }], fields))).toBe(
          'InvalidPart',
        );
        expect(await errorCode(meta.completeUpload('u1', [{ partNumber: 4, etag: 'e4' }], fields))).toBe('InvalidPart');
        expect(
          await errorCode(
            meta.completeUpload(
              'u1',
              [
                { partNumber: 3, etag: 'e3' },
                { partNumber: 4, etag: 'e4' },
              ],
              fields,
            ),
          ),
        ).toBe('InvalidPart');
        expect(
          await errorCode(
            meta.completeUpload(
              'u1',
              [
                { partNumber: 1, etag: 'e1' },
                { partNumber: 2, etag: 'e2' },
              ],
              { ...fields, minPartSize: 5 * MiB + 1 },
            ),
          ),
        ).toBe('EntityTooSmall');
        expect(await errorCode(meta.completeUpload('nope', [{ partNumber: 1, etag: 'e1' }], fields))).toBe(
          'NoSuchUpload',
        );
        expect((await meta.listParts('u1')).parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
        expect(await meta.getObject('b', 'big')).toBeNull();
        expect(await drainDeletes()).toEqual([]);
      });

      it("puts a part sharing an object's chunks only while the object is the version named", async () => {
        const shared = chunk('s1', 5 * MiB);
        await meta.putObject('b', 'src', manifest('m1', [shared]));
        const part = { etag: 'es', size: 5 * MiB, chunks: [shared] };
        expect(await meta.putCopiedPart('u1', 4, part, { bucket: 'b', key: 'src', id: 'm0' })).toBe(false);
        expect(await meta.putCopiedPart('u1', 4, part, { bucket: 'b', key: 'src', id: 'm1' })).toBe(true);
        // The part holds the chunk: its shards outlive the source.
        await meta.deleteObject('b', 'src');
        expect(await drainDeletes()).toEqual([]);
        expect(await meta.putCopiedPart('u1', 5, part, { bucket: 'b', key: 'src', id: 'm1' })).toBe(false);
        expect((await meta.listParts('u1')).parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4]);
        await meta.abortUpload('u1');
        expect(await drainDeletes()).toEqual(names(shardsOf(p1, p2, p3, shared)));
        await meta.putObject('b', 'src', manifest('m2', []));
        expect(await errorCode(meta.putCopiedPart('u1', 1, part, { bucket: 'b', key: 'src', id: 'm2' }))).toBe(
          'NoSuchUpload',
        );
      });

      it('aborts, releasing every part', async () => {
        await meta.abortUpload('u1');
        expect(await drainDeletes()).toEqual(names(shardsOf(p1, p2, p3)));
        expect(await errorCode(meta.abortUpload('u1'))).toBe('NoSuchUpload');
        expect(await errorCode(meta.putPart('u1', 1, { etag: 'e', size: 1, chunks: [] }))).toBe('NoSuchUpload');
      });

      it('lists uploads by key then upload id, with prefixes and markers', async () => {
        await meta.createUpload('b', 'big', 'u0', { metadata: {} });
        await meta.createUpload('b', 'dir/x', 'u2', { metadata: {} });
        await meta.createUpload('b', 'dir/y', 'u3', { metadata: {} });
        await meta.createUpload('b', 'z', 'u4', { metadata: {} });
        const keysAndIds = (r: ListUploadsResult) => r.uploads.map((u) => `${u.key}:${u.uploadId}`);
        expect(keysAndIds(await meta.listUploads('b'))).toEqual(['big:u0', 'big:u1', 'dir/x:u2', 'dir/y:u3', 'z:u4']);
        const first = await meta.listUploads('b', { delimiter: '/', maxUploads: 1 });
        expect(first).toMatchObject({
          commonPrefixes: [],
          isTruncated: true,
          nextKeyMarker: 'big',
          nextUploadIdMarker: 'u0',
        });
        const second = await meta.listUploads('b', {
          delimiter: '/',
          maxUploads: 2,
          keyMarker: 'big',
          uploadIdMarker: 'u0',
        });
        expect(keysAndIds(second)).toEqual(['big:u1']);
        expect(second).toMatchObject({
          commonPrefixes: ['dir/'],
          isTruncated: true,
          nextKeyMarker: 'dir/',
          nextUploadIdMarker: null,
        });
        const third = await meta.listUploads('b', { delimiter: '/', keyMarker: 'dir/' });
        expect(keysAndIds(third)).toEqual(['z:u4']);
        expect(third.isTruncated).toBe(false);
        expect(keysAndIds(await meta.listUploads('b', { keyMarker: 'big' }))).toEqual(['dir/x:u2', 'dir/y:u3', 'z:u4']);
        expect(
          keysAndIds(await meta.listUploads('b', { prefix: 'dir/', keyMarker: 'dir/x', uploadIdMarker: 'u1' })),
        ).toEqual(['dir/x:u2', 'dir/y:u3']);
        expect(await meta.getUpload('u2')).toMatchObject({ bucket: 'b', key: 'dir/x', headers: { metadata: {} } });
      });
    });

    describe('pending writes', () => {
      beforeEach(() => meta.createBucket('b'));

      it('clears the intent on commit, deleting the shards the manifest does not use', async () => {
        const c = chunk('c1');
        const spare: ShardLocation = { backend: 'failed', key: 'c1.3' };
        await meta.beginWrite('w1', shardsOf(c).slice(0, 3));
        await meta.beginWrite('w1', [...shardsOf(c).slice(3), spare]);
        await meta.putObject('b', 'k', manifest('m1', [c]), 'w1');
        expect(await drainDeletes()).toEqual(names([spare]));
        expect(await meta.recoverPendingWrites()).toBe(0);
      });

      it('clears the intent when a part commits', async () => {
        await meta.createUpload('b', 'k', 'u1', { metadata: {} });
        const c = chunk('c1');
        await meta.beginWrite('w1', shardsOf(c));
        await meta.putPart('u1', 1, { etag: 'e', size: 100, chunks: [c] }, 'w1');
        expect(await meta.recoverPendingWrites()).toBe(0);
        expect(await drainDeletes()).toEqual([]);
      });

      it('deletes an aborted write', async () => {
        await meta.beginWrite('w1', shardsOf(chunk('c1')));
        await meta.abortWrite('w1');
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('c1'))));
      });

      it('recovers the writes a crash left behind after reopening', async () => {
        const a = chunk('a');
        const b = chunk('b');
        await meta.beginWrite('w1', shardsOf(a));
        await meta.beginWrite('w2', shardsOf(b));
        await meta.beginWrite('w3', shardsOf(chunk('c')));
        await meta.putObject('b', 'k', manifest('m', [chunk('c')]), 'w3');
        await reopen();
        expect(await meta.recoverPendingWrites()).toBe(12);
        expect(await drainDeletes()).toEqual(names(shardsOf(a, b)));
        expect(await meta.recoverPendingWrites()).toBe(0);
        expect((await meta.getObject('b', 'k'))?.id).toBe('m');
      });
    });

    describe('queues', () => {
      it('leases delete entries until acknowledged or expired', async () => {
        await meta.enqueueDeletes([
          { backend: 'b1', key: 'k1' },
          { backend: 'b1', key: 'k2' },
          { backend: 'b2', key: 'k3' },
        ]);
        const first = await meta.takeDeletes(2, 60_000);
        expect(first.map((s) => s.key)).toEqual(['k1', 'k2']);
        expect((await meta.takeDeletes(10, 60_000)).map((s) => s.key)).toEqual(['k3']);
        expect(await meta.takeDeletes(10, 60_000)).toEqual([]);
        await meta.ackDeletes(first.map((s) => s.id));
        await reopen();
        expect(await meta.takeDeletes(10, 60_000)).toEqual([]);
        await meta.enqueueDeletes([{ backend: 'b3', key: 'k4' }]);
        // A lease of 0 ms ends at once: the entry is offered again.
        expect((await meta.takeDeletes(10, 0)).map((s) => s.key)).toEqual(['k4']);
        expect((await meta.takeDeletes(10, 0)).map((s) => s.key)).toEqual(['k4']);
      });

      it('queues each chunk for repair once', async () => {
        await meta.enqueueRepair('c1', 'shard 2 missing');
        await meta.enqueueRepair('c2', 'crc mismatch');
        await meta.enqueueRepair('c1', 'backend down');
        expect(await meta.takeRepairs(10, 60_000)).toEqual([
          { chunkId: 'c1', reason: 'shard 2 missing' },
          { chunkId: 'c2', reason: 'crc mismatch' },
        ]);
        expect(await meta.takeRepairs(10, 60_000)).toEqual([]);
        await meta.ackRepairs(['c1']);
        await meta.enqueueRepair('c1', 'again');
        expect(await meta.takeRepairs(10, 60_000)).toEqual([{ chunkId: 'c1', reason: 'again' }]);
      });
    });

    describe('access keys', () => {
      beforeEach(async () => {
        await meta.createBucket('photos');
        await meta.createBucket('logs');
      });

      it('stores keys with their encrypted secret', async () => {
        const secret = Buffer.from([0, 1, 2, 255]);
        await meta.createAccessKey('AK2', secret, 'second');
        await meta.createAccessKey('AK1', Buffer.from('x'), 'first');
        expect(await errorCode(meta.createAccessKey('AK1', secret, 'again'))).toBe('AccessKeyAlreadyExists');
        expect(await meta.getAccessKey('AK2')).toMatchObject({
          accessKeyId: 'AK2',
          encryptedSecret: secret,
          name: 'second',
        });
        expect((await meta.listAccessKeys()).map((k) => k.accessKeyId)).toEqual(['AK1', 'AK2']);
        await meta.deleteAccessKey('AK2');
        expect(await meta.getAccessKey('AK2')).toBeNull();
        expect(await errorCode(meta.deleteAccessKey('AK2'))).toBe('InvalidAccessKeyId');
      });

      it('grants, adds and removes permissions per bucket', async () => {
        await meta.createAccessKey('AK', Buffer.from('s'), 'k');
        const none = { read: false, write: false, owner: false };
        expect(await meta.check('AK', 'photos')).toEqual(none);
        expect(await meta.allow('AK', 'photos', { read: true })).toEqual({ read: true, write: false, owner: false });
        expect(await meta.allow('AK', 'photos', { write: true })).toEqual({ read: true, write: true, owner: false });
        await meta.allow('AK', 'logs', { owner: true });
        expect(await meta.check('AK', 'photos')).toEqual({ read: true, write: true, owner: false });
        expect(await meta.check('AK', 'logs')).toEqual({ read: false, write: false, owner: true });
        expect(await meta.check('other', 'photos')).toEqual(none);
        expect((await meta.listGrants('AK')).map((g) => g.bucket)).toEqual(['logs', 'photos']);
        expect(await meta.deny('AK', 'photos', { read: true })).toEqual({ read: false, write: true, owner: false });
        expect(await meta.deny('AK', 'photos', { write: true })).toEqual(none);
        expect((await meta.listGrants('AK')).map((g) => g.bucket)).toEqual(['logs']);
        expect(await errorCode(meta.allow('nobody', 'photos', { read: true }))).toBe('InvalidAccessKeyId');
        expect(await errorCode(meta.allow('AK', 'nope', { read: true }))).toBe('NoSuchBucket');
      });

      it('drops grants with their bucket or key', async () => {
        await meta.createAccessKey('AK', Buffer.from('s'), 'k');
        await meta.allow('AK', 'photos', { read: true });
        await meta.allow('AK', 'logs', { read: true });
        await meta.deleteBucket('photos');
        await meta.createBucket('photos');
        expect((await meta.check('AK', 'photos')).read).toBe(false);
        await meta.deleteAccessKey('AK');
        await meta.createAccessKey('AK', Buffer.from('s'), 'k');
        expect(await meta.listGrants('AK')).toEqual([]);
      });
    });

    describe('backends', () => {
      it('upserts, lists and changes state', async () => {
        const backend = {
          id: 'zdb-1',
          farm: 'f1',
          node: 'n1',
          address: '10.0.0.1:9900',
          namespace: 'qstor',
          password: Buffer.from('sealed'),
          state: 'up' as const,
          freeBytes: 1e12,
          lastSeen: 1000,
        };
        await meta.upsertBackend(backend);
        await meta.upsertBackend({ ...backend, id: 'zdb-0', password: null });
        await meta.upsertBackend({ ...backend, freeBytes: 5e11, lastSeen: 2000 });
        expect(await meta.listBackends()).toEqual([
          { ...backend, id: 'zdb-0', password: null },
          { ...backend, freeBytes: 5e11, lastSeen: 2000 },
        ]);
        expect(await meta.setBackendState('zdb-1', 'down')).toBe(true);
        expect(await meta.setBackendState('zdb-9', 'down')).toBe(false);
        expect((await meta.listBackends())[1].state).toBe('down');
      });

      // Two stores open on the same data at once, as two gateways over one database: what makes
      // these hold must be the engine's transactions, not anything inside one process.
      describe('two stores on the same data (two gateways)', () => {
        let other: MetaStore;

        beforeEach(async () => {
          other = await fixture.open();
        });

        afterEach(async () => {
          await other.close();
        });

        it('16 concurrent conditional creates of one key: exactly one wins', async () => {
          await meta.createBucket('b');
          // Connections opened beforehand, so that the puts overlap rather than queue behind connects.
          await Promise.all([meta, other].flatMap((store) => Array.from({ length: 8 }, () => store.getBucket('b'))));
          const attempts = Array.from({ length: 16 }, (_, i) =>
            (i % 2 === 0 ? meta : other).putObject('b', 'k', manifest(`m${i}`), undefined, { ifNoneMatch: ['*'] }),
          );
          const settled = await Promise.allSettled(attempts);
          const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          expect(won).toHaveLength(1);
          for (const r of settled) {
            if (r.status === 'rejected') expect((r.reason as MetaError).code).toBe('PreconditionFailed');
          }
          expect((await other.getObject('b', 'k'))?.id).toBe(`m${won[0]}`);
          expect((await meta.listVersions({ bucket: 'b' })).versions).toHaveLength(1);
          // The losers retained nothing: deleting the winner frees exactly its chunk.
          await other.deleteObject('b', 'k');
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk(`m${won[0]}-c0`))));
        });

        it('concurrent completions of one upload: one succeeds, the other finds no upload', async () => {
          await meta.createBucket('b');
          await meta.createUpload('b', 'big', 'u1', { metadata: {} });
          const part = chunk('part1', 10);
          await other.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [part] });
          const fields = (id: string) => ({ id, etag: `etag-${id}`, lastModified: 1 });
          const settled = await Promise.allSettled([
            meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], fields('first')),
            other.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], fields('second')),
          ]);
          expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          const refused = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          expect((refused.reason as MetaError).code).toBe('NoSuchUpload');
          const stored = await meta.getObject('b', 'big');
          expect(stored?.chunks.map((c) => c.id)).toEqual(['part1']);
          // The part's chunk moved to the object once: nothing to delete until the object goes.
          expect(await drainDeletes()).toEqual([]);
          await other.deleteObject('b', 'big');
          expect(await drainDeletes()).toEqual(names(shardsOf(part)));
        });

        it('takes every delete-queue entry exactly once across both stores', async () => {
          const shards = Array.from({ length: 120 }, (_, i) => ({ backend: `b${i % 6}`, key: `k${i}` }));
          await meta.enqueueDeletes(shards);
          const takers = [meta, other, meta, other].map(async (store) => {
            const ids: number[] = [];
            for (;;) {
              const taken = await store.takeDeletes(7, 60_000);
              if (taken.length === 0) return ids;
              ids.push(...taken.map((s) => s.id));
            }
          });
          const ids = (await Promise.all(takers)).flat();
          expect(ids).toHaveLength(120);
          expect(new Set(ids).size).toBe(120);
        });
      });
    });

    describe('leases and live gateways', () => {
      const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
      const gateway = (id: string) => ({ id, address: `10.0.0.1:${id.length}`, version: '1.2.3', startedAt: 1000 });

      it('gives a lease to one holder, renews it for that holder, and lets it go only for that holder', async () => {
        const before = Date.now();
        expect(await meta.acquireLease('scrub', 'gw-a', 60_000)).toBe(true);
        expect(await meta.acquireLease('scrub', 'gw-b', 60_000)).toBe(false);
        expect(await meta.acquireLease('scrub', 'gw-a', 120_000)).toBe(true);
        const [lease] = await meta.listLeases();
        expect(lease).toMatchObject({ name: 'scrub', holder: 'gw-a' });
        expect(lease!.expiresAt).toBeGreaterThanOrEqual(before + 110_000);
        await meta.releaseLease('scrub', 'gw-b');
        expect(await meta.acquireLease('scrub', 'gw-b', 60_000)).toBe(false);
        await meta.releaseLease('scrub', 'gw-a');
        expect(await meta.listLeases()).toEqual([]);
        expect(await meta.acquireLease('scrub', 'gw-b', 60_000)).toBe(true);
        expect((await meta.listLeases()).map((l) => l.holder)).toEqual(['gw-b']);
      });

      it('gives an expired lease to another holder and lists only leases in force, by name', async () => {
        expect(await meta.acquireLease('delete', 'gw-a', 300)).toBe(true);
        expect(await meta.acquireLease('complete', 'gw-a', 60_000)).toBe(true);
        expect(await meta.acquireLease('at-once', 'gw-a', 60_000)).toBe(true);
        await sleep(600);
        expect((await meta.listLeases()).map((l) => l.name)).toEqual(['at-once', 'complete']);
        expect(await meta.acquireLease('delete', 'gw-b', 60_000)).toBe(true);
        expect(await meta.acquireLease('delete', 'gw-a', 60_000)).toBe(false);
        expect((await meta.listLeases()).map((l) => `${l.name}:${l.holder}`)).toEqual([
          'at-once:gw-a',
          'complete:gw-a',
          'delete:gw-b',
        ]);
      });

      it('lists the gateways heard from within maxAge, by id, and forgets one', async () => {
        const before = Date.now();
        await meta.heartbeatGateway(gateway('gw-b'));
        await meta.heartbeatGateway(gateway('gw-a'));
        await meta.heartbeatGateway({ ...gateway('gw-a'), address: '10.0.0.2:9000' });
        const live = await meta.listGateways(60_000);
        expect(live.map(({ lastSeen: _lastSeen, ...info }) => info)).toEqual([
          { ...gateway('gw-a'), address: '10.0.0.2:9000' },
          gateway('gw-b'),
        ]);
        for (const g of live) expect(g.lastSeen).toBeGreaterThanOrEqual(before - 1000);
        await meta.forgetGateway('gw-a');
        await meta.forgetGateway('gw-none');
        expect((await meta.listGateways(60_000)).map((g) => g.id)).toEqual(['gw-b']);
        await sleep(600);
        await meta.heartbeatGateway(gateway('gw-c'));
        expect((await meta.listGateways(300)).map((g) => g.id)).toEqual(['gw-c']);
      });

      describe('pending writes of gateways', () => {
        beforeEach(() => meta.createBucket('b'));

        it("recovers the writes of gateways not alive, never a live gateway's writes in flight", async () => {
          await meta.beginWrite('w0', shardsOf(chunk('before-any-heartbeat')));
          await meta.heartbeatGateway(gateway('gw-a'));
          await meta.beginWrite('w1', shardsOf(chunk('of-a')));
          await meta.heartbeatGateway(gateway('gw-b'));
          await meta.beginWrite('w2', shardsOf(chunk('of-b')));
          expect(await meta.recoverPendingWrites(60_000)).toBe(6);
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk('before-any-heartbeat'))));
          await meta.forgetGateway('gw-a');
          expect(await meta.recoverPendingWrites(60_000)).toBe(6);
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk('of-a'))));
          // gw-b's write commits after all the others' recoveries: nothing of it is deleted.
          await meta.putObject('b', 'k', manifest('m', [chunk('of-b')]), 'w2');
          expect(await meta.recoverPendingWrites()).toBe(0);
          expect(await drainDeletes()).toEqual([]);
        });

        it('recovers the writes of a gateway whose heartbeats stopped, after reopening', async () => {
          await meta.heartbeatGateway(gateway('gw-a'));
          await meta.beginWrite('w1', shardsOf(chunk('c1')));
          await reopen();
          expect(await meta.recoverPendingWrites(60_000)).toBe(0);
          await sleep(600);
          expect(await meta.recoverPendingWrites(300)).toBe(6);
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk('c1'))));
        });
      });

      it('answers a ping', async () => {
        await expect(meta.ping()).resolves.toBeUndefined();
      });
    });

    // Counts for operators (metrics, console): added after the rest, engines implement them too.
    describe('counts and usage', () => {
      it('counts the repair and delete queues, leased entries included, until acknowledged', async () => {
        expect(await meta.countRepairs()).toBe(0);
        expect(await meta.countDeletes()).toBe(0);
        await meta.enqueueRepair('c1', 'missing');
        await meta.enqueueRepair('c2', 'missing');
        await meta.enqueueRepair('c1', 'again');
        await meta.enqueueDeletes([
          { backend: 'b1', key: 'k1' },
          { backend: 'b2', key: 'k2' },
          { backend: 'b3', key: 'k3' },
        ]);
        expect(await meta.countRepairs()).toBe(2);
        expect(await meta.countDeletes()).toBe(3);
        const taken = await meta.takeDeletes(2, 60_000);
        await meta.takeRepairs(1, 60_000);
        expect(await meta.countRepairs()).toBe(2);
        expect(await meta.countDeletes()).toBe(3);
        await meta.ackDeletes(taken.map((t) => t.id));
        await meta.ackRepairs(['c1']);
        await reopen();
        expect(await meta.countRepairs()).toBe(1);
        expect(await meta.countDeletes()).toBe(1);
      });

      it("sums a bucket's current objects and every stored version, markers aside", async () => {
        await meta.createBucket('b');
        await meta.createBucket('v', { versioning: 'Enabled' });
        await meta.createBucket('empty');
        const zero = { objects: 0, bytes: 0, versions: 0, versionBytes: 0 };
        expect(await meta.bucketUsage('empty')).toEqual(zero);
        await meta.putObject('b', 'a', manifest('a', [chunk('a0', 300)]));
        await meta.putObject('b', 'a', manifest('a2', [chunk('a1', 100)]));
        await meta.putObject('b', 'c', manifest('c', [chunk('c0', 50), chunk('c1', 25)]));
        expect(await meta.bucketUsage('b')).toEqual({ objects: 2, bytes: 175, versions: 2, versionBytes: 175 });
        await meta.putObject('v', 'k', manifest('v1', [chunk('v1c', 1000)]));
        await meta.putObject('v', 'k', manifest('v2', [chunk('v2c', 10)]));
        await meta.putObject('v', 'gone', manifest('g', [chunk('gc', 7)]));
        await meta.deleteObject('v', 'gone');
        expect(await meta.bucketUsage('v')).toEqual({ objects: 1, bytes: 10, versions: 3, versionBytes: 1017 });
        expect(await meta.bucketUsage('empty')).toEqual(zero);
        expect(await errorCode(meta.bucketUsage('nope'))).toBe('NoSuchBucket');
      });
    });

    describe('metadata records short of copies', () => {
      it('keeps ids once each, oldest first, across a restart; take removes what it returns', async () => {
        expect(await meta.countRecordsShort()).toBe(0);
        expect(await meta.takeRecordsShort(10)).toEqual([]);
        await meta.addRecordsShort(['o\0b\0k1', 'b\0b']);
        await meta.addRecordsShort(['v\0b\0k\0v1', 'o\0b\0k1']); // already listed: keeps its place
        await meta.durable();
        expect(await meta.countRecordsShort()).toBe(3);
        await reopen();
        expect(await meta.countRecordsShort()).toBe(3);
        expect(await meta.takeRecordsShort(2)).toEqual(['o\0b\0k1', 'b\0b']);
        expect(await meta.countRecordsShort()).toBe(1);
        await meta.addRecordsShort(['o\0b\0k1']); // still short: back, now the newest
        expect(await meta.takeRecordsShort(10)).toEqual(['v\0b\0k\0v1', 'o\0b\0k1']);
        expect(await meta.countRecordsShort()).toBe(0);
      });
    });

    describe('delete if unchanged', () => {
      it("deletes only while the key's current version is the object the condition names", async () => {
        await meta.createBucket('b');
        const first = manifest('first');
        await meta.putObject('b', 'k', first);
        // A rewrite between a reader's look and its delete: same key, another write.
        const rewrite = { ...manifest('rewrite'), lastModified: first.lastModified + 1 };
        await meta.putObject('b', 'k', rewrite);
        const stale = { versionId: 'null', lastModified: first.lastModified };
        expect(await errorCode(meta.deleteObject('b', 'k', undefined, { condition: stale }))).toBe(
          'PreconditionFailed',
        );
        expect(await errorCode(meta.deleteObject('b', 'k', undefined, { condition: { etag: 'etag-first' } }))).toBe(
          'PreconditionFailed',
        );
        expect((await meta.getObject('b', 'k'))?.id).toBe('rewrite');
        const result = await meta.deleteObject('b', 'k', undefined, {
          condition: { versionId: 'null', lastModified: rewrite.lastModified, etag: 'etag-rewrite' },
        });
        expect(result.removed?.id).toBe('rewrite');
        expect(await meta.getObject('b', 'k')).toBeNull();
        expect(await errorCode(meta.deleteObject('b', 'k', undefined, { condition: {} }))).toBe('NoSuchKey');
      });

      it('checks the current version of a versioned key: a delete marker is no object', async () => {
        await meta.createBucket('v', { versioning: 'Enabled' });
        const old = await meta.putObject('v', 'k', manifest('old'));
        const current = await meta.putObject('v', 'k', manifest('current'));
        const oldId = old.manifest.versionId!;
        // The condition is on the current version, even when another version is named.
        const onOld = { versionId: oldId };
        expect(await errorCode(meta.deleteObject('v', 'k', oldId, { condition: onOld }))).toBe('PreconditionFailed');
        expect((await meta.getVersion('v', 'k', oldId))?.manifest?.id).toBe('old');
        const hidden = await meta.deleteObject('v', 'k', undefined, { condition: { etag: 'etag-current' } });
        expect(hidden.deleteMarker).toBe(true);
        expect(await errorCode(meta.deleteObject('v', 'k', undefined, { condition: {} }))).toBe('NoSuchKey');
        const versions = await meta.listVersions({ bucket: 'v' });
        expect(versions.versions.map((v) => v.versionId)).toEqual([
          hidden.versionId,
          current.manifest.versionId,
          oldId,
        ]);
      });
    });

    describe('SSE-C uploads', () => {
      it("keeps an upload's customer-key check and gives it to the completed object", async () => {
        await meta.createBucket('b');
        const sseCustomer = { algorithm: 'AES256' as const, keyCheck: 'c2FsdCtobWFj' };
        await meta.createUpload('b', 'k', 'u1', { metadata: {}, sseCustomer });
        expect((await meta.getUpload('u1'))?.headers.sseCustomer).toEqual(sseCustomer);
        await meta.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [chunk('p1', 10)] });
        const done = await meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], {
          id: 'obj',
          etag: 'x-1',
          lastModified: 5,
        });
        expect(done.manifest.sseCustomer).toEqual(sseCustomer);
        expect((await meta.getObject('b', 'k'))?.sseCustomer).toEqual(sseCustomer);
      });
    });

    describe('owners of listed uploads', () => {
      it("gives each listed upload its ACL's owner, and none to one created without an ACL", async () => {
        await meta.createBucket('b');
        const owner = { id: 'c'.repeat(64), displayName: 'KEY1' };
        await meta.createUpload('b', 'a', 'u1', { metadata: {}, acl: { owner, grants: [] } });
        await meta.createUpload('b', 'b', 'u2', { metadata: {} });
        const page = await meta.listUploads('b');
        expect(page.uploads.map((u) => [u.key, u.owner])).toEqual([
          ['a', owner],
          ['b', undefined],
        ]);
        const rolledUp = await meta.listUploads('b', { delimiter: '/', maxUploads: 1 });
        expect(rolledUp.uploads[0]?.owner).toEqual(owner);
      });
    });

    describe('multipart checksums', () => {
      it("keeps each part's checksum, lists it, and gives the chosen parts' to the completed object", async () => {
        await meta.createBucket('b');
        const checksum = { algorithm: 'sha256', type: 'COMPOSITE' as const };
        await meta.createUpload('b', 'k', 'u1', { metadata: {}, checksum });
        expect((await meta.getUpload('u1'))?.headers.checksum).toEqual(checksum);
        await meta.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [chunk('p1', 10)], checksum: 'c3VtMQ==' });
        await meta.putPart('u1', 2, { etag: 'e2', size: 5, chunks: [chunk('p2', 5)], checksum: 'c3VtMg==' });
        // A replaced part's checksum is the new one's.
        await meta.putPart('u1', 2, { etag: 'e2b', size: 5, chunks: [chunk('p2b', 5)], checksum: 'c3VtMw==' });
        const listed = await meta.listParts('u1');
        expect(listed.parts.map((p) => [p.partNumber, p.checksum])).toEqual([
          [1, 'c3VtMQ=='],
          [2, 'c3VtMw=='],
        ]);
        const done = await meta.completeUpload(
          'u1',
          [
            { partNumber: 1, etag: 'e1' },
            { partNumber: 2, etag: 'e2b' },
          ],
          {
            id: 'obj',
            etag: 'x-2',
            lastModified: 5,
            checksums: { sha256: 'b2JqZWN0-2' },
            checksumType: 'COMPOSITE',
            minPartSize: 1,
          },
        );
        expect(done.manifest.partChecksums).toEqual(['c3VtMQ==', 'c3VtMw==']);
        const stored = await meta.getObject('b', 'k');
        expect(stored?.checksums).toEqual({ sha256: 'b2JqZWN0-2' });
        expect(stored?.checksumType).toBe('COMPOSITE');
        expect(stored?.partChecksums).toEqual(['c3VtMQ==', 'c3VtMw==']);
      });

      it('lists parts of an upload without a checksum with none', async () => {
        await meta.createBucket('b');
        await meta.createUpload('b', 'k', 'u1', { metadata: {} });
        await meta.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [chunk('p1', 10)] });
        const [part] = (await meta.listParts('u1')).parts;
        expect(part).not.toHaveProperty('checksum');
        const done = await meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], {
          id: 'obj',
          etag: 'x-1',
          lastModified: 5,
        });
        expect(done.manifest).not.toHaveProperty('partChecksums');
        expect(done.manifest).not.toHaveProperty('checksumType');
      });
    });

    describe('KMS keys', () => {
      it('creates, reads, lists (sorted), refuses a second of the same id, and deletes', async () => {
        const sealed = Buffer.from('sealed key bytes');
        const created = await meta.createKmsKey('k2', sealed);
        expect(created.id).toBe('k2');
        await meta.createKmsKey('k1', Buffer.from('other'), 1234);
        expect(await meta.getKmsKey('k2')).toEqual({ id: 'k2', sealedKey: sealed, created: created.created });
        expect((await meta.getKmsKey('k1'))?.created).toBe(1234);
        expect(await meta.getKmsKey('nope')).toBeNull();
        expect((await meta.listKmsKeys()).map((k) => k.id)).toEqual(['k1', 'k2']);
        await expect(meta.createKmsKey('k2', Buffer.from('x'))).rejects.toMatchObject({ code: 'KmsKeyAlreadyExists' });
        expect((await meta.getKmsKey('k2'))?.sealedKey).toEqual(sealed);
        await meta.deleteKmsKey('k2');
        expect(await meta.getKmsKey('k2')).toBeNull();
        await expect(meta.deleteKmsKey('k2')).rejects.toMatchObject({ code: 'KMS.NotFoundException' });
        expect((await meta.listKmsKeys()).map((k) => k.id)).toEqual(['k1']);
      });

      it("keeps an upload's KMS key and gives it to the completed object", async () => {
        await meta.createBucket('b');
        const sseKms = { keyId: 'k1', context: '{"a":"b"}', bucketKeyEnabled: true };
        await meta.createUpload('b', 'k', 'u1', { metadata: {}, sseKms });
        expect((await meta.getUpload('u1'))?.headers.sseKms).toEqual(sseKms);
        await meta.putPart('u1', 1, { etag: 'e1', size: 10, chunks: [chunk('p1', 10)] });
        const done = await meta.completeUpload('u1', [{ partNumber: 1, etag: 'e1' }], {
          id: 'obj',
          etag: 'x-1',
          lastModified: 5,
        });
        expect(done.manifest.sseKms).toEqual(sseKms);
        expect((await meta.getObject('b', 'k'))?.sseKms).toEqual(sseKms);
      });
    });

    // PostgreSQL computes a PUT's version from the settings it last saw and lets its
    // transaction check them (src/meta/postgres/object-put.ts): another store's change must count.
    describe('PutObject against what another store changed', () => {
      let other: MetaStore;

      beforeEach(async () => {
        other = await fixture.open();
        await meta.createBucket('b');
      });

      afterEach(async () => {
        await other.close();
      });

      it("follows the versioning and default retention another store set since this one's last PUT", async () => {
        await meta.putObject('b', 'k', manifest('m1'));
        await other.updateBucketSettings('b', (s) => ({ ...s, versioning: 'Enabled' }));
        const versioned = (await meta.putObject('b', 'k', manifest('m2'))).manifest;
        expect(versioned.versionId).toBeDefined();
        expect((await other.listVersions({ bucket: 'b' })).versions.map((v) => v.versionId)).toEqual([
          versioned.versionId,
          'null',
        ]);
        await other.updateBucketSettings('b', (s) => ({
          ...s,
          versioning: 'Suspended',
          objectLock: { defaultRetention: { mode: 'GOVERNANCE', days: 1 } },
        }));
        const change = await meta.putObject('b', 'k', manifest('m3'));
        expect(change.manifest.versionId).toBeUndefined();
        expect(change.previous?.id).toBe('m1');
        expect(change.manifest.lock?.mode).toBe('GOVERNANCE');
        expect((await other.getObject('b', 'k'))?.lock?.mode).toBe('GOVERNANCE');
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('m1-c0'))));
      });

      it('fails with NoSuchBucket once another store deleted the bucket', async () => {
        await meta.putObject('b', 'k', manifest('m1'));
        await other.deleteObject('b', 'k');
        await other.deleteBucket('b');
        expect(await errorCode(meta.putObject('b', 'k', manifest('m2')))).toBe('NoSuchBucket');
      });

      it('refuses to replace a null version under a legal hold or a retention in force; an expired one gives way', async () => {
        await meta.putObject('b', 'held', { ...manifest('h1'), lock: { legalHold: true } });
        await meta.putObject('b', 'kept', {
          ...manifest('k1'),
          lock: { mode: 'GOVERNANCE', retainUntil: Date.now() + 3_600_000 },
        });
        await meta.putObject('b', 'old', { ...manifest('o1'), lock: { mode: 'COMPLIANCE', retainUntil: 1 } });
        expect(await errorCode(other.putObject('b', 'held', manifest('h2')))).toBe('AccessDenied');
        expect(await errorCode(other.putObject('b', 'kept', manifest('k2')))).toBe('AccessDenied');
        expect((await other.putObject('b', 'old', manifest('o2'))).previous?.id).toBe('o1');
        expect((await meta.getObject('b', 'held'))?.id).toBe('h1');
        expect((await meta.getObject('b', 'kept'))?.id).toBe('k1');
        // The refused PUTs retained nothing: only the replaced version's chunk is freed.
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('o1-c0'))));
      });

      it('16 concurrent PUTs of one key: versioned, every version kept; unversioned, one left, every other chunk freed', async () => {
        await Promise.all([meta, other].flatMap((store) => Array.from({ length: 8 }, () => store.getBucket('b'))));
        const puts = (prefix: string) =>
          Promise.all(
            Array.from({ length: 16 }, (_, i) =>
              (i % 2 === 0 ? meta : other).putObject('b', prefix, manifest(`${prefix}${i}`)),
            ),
          );
        const plain = await puts('p');
        expect((await meta.listVersions({ bucket: 'b', prefix: 'p' })).versions).toHaveLength(1);
        const survivor = (await other.getObject('b', 'p'))!.id;
        expect(plain.filter((c) => c.previous === null)).toHaveLength(1);
        const losers = plain.map((c) => c.manifest.id).filter((id) => id !== survivor);
        expect(await drainDeletes()).toEqual(names(shardsOf(...losers.map((id) => chunk(`${id}-c0`)))));

        await meta.updateBucketSettings('b', (s) => ({ ...s, versioning: 'Enabled' }));
        const versioned = await puts('v');
        const ids = versioned.map((c) => c.manifest.versionId).sort();
        expect(new Set(ids).size).toBe(16);
        const listed = (await other.listVersions({ bucket: 'b', prefix: 'v' })).versions;
        expect(listed.map((v) => v.versionId).sort()).toEqual(ids);
        expect(await drainDeletes()).toEqual([]);
      });

      it('stores keys and manifests holding quotes, backslashes and $1 as given', async () => {
        const key = "it's \\ $1 '); DROP TABLE objects; -- \u00e9\u{1F600}";
        const m = { ...manifest('q1'), metadata: { 'x-amz-meta-q': "a'b\\c $2 E'\\x00'" }, contentType: "x/'y'" };
        await meta.putObject('b', key, m);
        expect(await other.getObject('b', key)).toEqual(m);
        expect((await other.listObjects({ bucket: 'b' })).entries.map((e) => e.key)).toEqual([key]);
      });
    });

    describe('the right to create buckets', () => {
      it('is off unless given at creation or later, survives a reopen, and goes with its key', async () => {
        await meta.createAccessKey('PLAIN', Buffer.from('s'), 'plain');
        await meta.createAccessKey('MAKER', Buffer.from('s'), 'maker', true);
        expect((await meta.getAccessKey('PLAIN'))?.createBuckets).toBe(false);
        expect((await meta.getAccessKey('MAKER'))?.createBuckets).toBe(true);
        await meta.setCreateBuckets('PLAIN', true);
        await meta.setCreateBuckets('MAKER', false);
        await reopen();
        expect((await meta.listAccessKeys()).map((k) => [k.accessKeyId, k.createBuckets])).toEqual([
          ['MAKER', false],
          ['PLAIN', true],
        ]);
        expect(await errorCode(meta.setCreateBuckets('NOBODY', true))).toBe('InvalidAccessKeyId');
        await meta.deleteAccessKey('PLAIN');
        await meta.createAccessKey('PLAIN', Buffer.from('s'), 'plain');
        expect((await meta.getAccessKey('PLAIN'))?.createBuckets).toBe(false);
      });
    });

    describe("conditional writes (If-Match, If-None-Match) on PUT, completion and CopyObject's destination; repeated part numbers", () => {
      let other: MetaStore;

      beforeEach(async () => {
        other = await fixture.open();
        await meta.createBucket('b');
      });

      afterEach(async () => {
        await other.close();
      });

      const current = async (key: string): Promise<string | undefined> => (await meta.getObject('b', key))?.id;

      it('If-Match: * replaces whatever object is there, even one another store put since', async () => {
        expect(await errorCode(meta.putObject('b', 'k', manifest('m0'), undefined, { ifMatch: ['*'] }))).toBe(
          'NoSuchKey',
        );
        await meta.putObject('b', 'k', manifest('m1'));
        // Another gateway overwrites between this one's read and its commit: "any object" still holds.
        await other.putObject('b', 'k', manifest('m2'));
        expect((await meta.putObject('b', 'k', manifest('m3'), undefined, { ifMatch: ['*'] })).previous?.id).toBe('m2');
        expect(await current('k')).toBe('m3');
        // A delete marker is no object.
        await meta.updateBucketSettings('b', (s) => ({ ...s, versioning: 'Enabled' }));
        await other.deleteObject('b', 'k');
        expect(await errorCode(meta.putObject('b', 'k', manifest('m4'), undefined, { ifMatch: ['*'] }))).toBe(
          'NoSuchKey',
        );
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('m1-c0'), chunk('m2-c0'))));
      });

      it('If-Match lists ETags (any one of them), If-None-Match refuses only the ETags it lists', async () => {
        await meta.putObject('b', 'k', manifest('m1'));
        const put = (id: string, condition: PutCondition) =>
          other.putObject('b', 'k', manifest(id), undefined, condition);
        expect(await errorCode(put('x1', { ifMatch: ['etag-nope'] }))).toBe('PreconditionFailed');
        expect(await errorCode(put('x2', { ifMatch: [] }))).toBe('PreconditionFailed');
        await put('m2', { ifMatch: ['etag-nope', 'etag-m1'] });
        expect(await errorCode(put('x3', { ifNoneMatch: ['etag-nope', 'etag-m2'] }))).toBe('PreconditionFailed');
        expect(await errorCode(put('x4', { ifNoneMatch: ['*'] }))).toBe('PreconditionFailed');
        await put('m3', { ifNoneMatch: ['etag-m1'] });
        expect(await current('k')).toBe('m3');
        // Both: each must hold.
        expect(await errorCode(put('x5', { ifMatch: ['etag-m3'], ifNoneMatch: ['etag-m3'] }))).toBe(
          'PreconditionFailed',
        );
        await put('m4', { ifMatch: ['*'], ifNoneMatch: ['etag-m1'] });
        // An absent key passes If-None-Match with an ETag.
        await meta.putObject('b', 'new', manifest('n1'), undefined, { ifNoneMatch: ['etag-n1'] });
        expect(await current('new')).toBe('n1');
        expect(await current('k')).toBe('m4');
        // The refused PUTs retained nothing: only the replaced versions' chunks are freed.
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('m1-c0'), chunk('m2-c0'), chunk('m3-c0'))));
      });

      describe('CompleteMultipartUpload', () => {
        const fields = (id: string, condition?: PutCondition) => ({
          id,
          etag: `etag-${id}`,
          lastModified: 5,
          minPartSize: 1,
          ...(condition ? { condition } : {}),
        });

        beforeEach(async () => {
          await meta.createUpload('b', 'k', 'u1', { metadata: {} });
          await meta.putPart('u1', 1, { etag: 'p1', size: 10, chunks: [chunk('p1', 10)] });
        });

        it('completes only while its condition holds, and a refusal leaves the upload as it was', async () => {
          expect(
            await errorCode(
              meta.completeUpload('u1', [{ partNumber: 1, etag: 'p1' }], fields('o0', { ifMatch: ['*'] })),
            ),
          ).toBe('NoSuchKey');
          await other.putObject('b', 'k', manifest('m1'));
          const refused: PutCondition[] = [
            { ifNoneMatch: ['*'] },
            { ifNoneMatch: ['etag-m1'] },
            { ifMatch: ['etag-other'] },
          ];
          for (const condition of refused) {
            expect(
              await errorCode(meta.completeUpload('u1', [{ partNumber: 1, etag: 'p1' }], fields('o1', condition))),
            ).toBe('PreconditionFailed');
          }
          // Bad parts are answered before the condition is looked at.
          expect(
            await errorCode(
              meta.completeUpload('u1', [{ partNumber: 1, etag: 'wrong' }], fields('o1', { ifNoneMatch: ['*'] })),
            ),
          ).toBe('InvalidPart');
          expect(await current('k')).toBe('m1');
          expect((await meta.listParts('u1')).parts.map((p) => p.etag)).toEqual(['p1']);
          expect(await drainDeletes()).toEqual([]);
          const done = await meta.completeUpload(
            'u1',
            [{ partNumber: 1, etag: 'p1' }],
            fields('o2', { ifMatch: ['etag-m1'], ifNoneMatch: ['etag-other'] }),
          );
          expect(done.previous?.id).toBe('m1');
          expect(await current('k')).toBe('o2');
          await meta.createUpload('b', 'k', 'u2', { metadata: {} });
          await meta.putPart('u2', 1, { etag: 'q1', size: 10, chunks: [chunk('q1', 10)] });
          await other.putObject('b', 'k', manifest('m3'));
          // If-Match: * holds for the object another store put in between.
          await meta.completeUpload('u2', [{ partNumber: 1, etag: 'q1' }], fields('o3', { ifMatch: ['*'] }));
          expect(await current('k')).toBe('o3');
        });

        it('takes the last entry of a part number listed more than once; a smaller number is out of order', async () => {
          await meta.putPart('u1', 2, { etag: 'p2', size: 10, chunks: [chunk('p2', 10)] });
          // Part 1 resent: its second upload finished first, the first one last (and is the part).
          await meta.putPart('u1', 1, { etag: 'p1b', size: 10, chunks: [chunk('p1b', 10)] });
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk('p1', 10))));
          expect(
            await errorCode(
              meta.completeUpload(
                'u1',
                [
                  { partNumber: 1, etag: 'p1b' },
                  { partNumber: 1, etag: 'p1' },
                ],
                fields('x'),
              ),
            ),
          ).toBe('InvalidPart');
          expect(
            await errorCode(
              meta.completeUpload(
                'u1',
                [
                  { partNumber: 1, etag: 'p1b' },
                  { partNumber: 2, etag: 'p2' },
                  { partNumber: 1, etag: 'p1b' },
                ],
                fields('x'),
              ),
            ),
          ).toBe('InvalidPartOrder');
          const done = await meta.completeUpload(
            'u1',
            [
              { partNumber: 1, etag: 'p1' },
              { partNumber: 1, etag: 'p1b' },
              { partNumber: 2, etag: 'p2' },
              { partNumber: 2, etag: 'p2' },
            ],
            fields('o1'),
          );
          expect(done.manifest.chunks).toEqual([chunk('p1b', 10), chunk('p2', 10)]);
          expect(done.manifest.parts).toEqual([10, 10]);
          expect(done.manifest.size).toBe(20);
          expect(await drainDeletes()).toEqual([]);
          await meta.deleteObject('b', 'k');
          expect(await drainDeletes()).toEqual(names(shardsOf(chunk('p1b', 10), chunk('p2', 10))));
        });
      });

      it("CopyObject's destination conditions are decided in the commit, against what another store wrote since; a refused copy retains nothing", async () => {
        await meta.putObject('b', 'src', manifest('s1'));
        const copy = (key: string, condition: PutCondition) =>
          meta.copyObject({ bucket: 'b', key: 'src' }, 'b', key, undefined, undefined, condition);
        expect(await errorCode(copy('dst', { ifMatch: ['*'] }))).toBe('NoSuchKey');
        const made = (await copy('dst', { ifNoneMatch: ['*'] }))!.manifest;
        expect(await errorCode(copy('dst', { ifNoneMatch: ['*'] }))).toBe('PreconditionFailed');
        // Another gateway replaces the destination after this one looked: the commit sees it.
        await other.putObject('b', 'dst', manifest('d2'));
        expect(await errorCode(copy('dst', { ifMatch: [made.etag] }))).toBe('PreconditionFailed');
        expect(await errorCode(copy('dst', { ifNoneMatch: ['etag-d2'] }))).toBe('PreconditionFailed');
        expect((await meta.getObject('b', 'dst'))?.id).toBe('d2');
        const replaced = await copy('dst', { ifMatch: ['etag-d2'], ifNoneMatch: [made.etag] });
        expect(replaced?.previous?.id).toBe('d2');
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('d2-c0'))));
        // The refused copies took no reference to the source's chunks: the last two holders free them.
        await meta.deleteObject('b', 'src');
        expect(await drainDeletes()).toEqual([]);
        await meta.deleteObject('b', 'dst');
        expect(await drainDeletes()).toEqual(names(shardsOf(chunk('s1-c0'))));
      });
    });
  });
}
