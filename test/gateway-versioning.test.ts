import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { content } from './helpers/content.js';
import { errorCode, failure, gatewayForSuite, rawRequest, type GatewayHarness } from './helpers/gateway-harness.js';

const MiB = 1024 * 1024;

describe('gateway: object versioning', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['plain'], objects: [['plain', 'old', 'before versioning']] }, (t) => ({ g, s3 } = t));

  async function newBucket(Bucket: string, Status?: 'Enabled' | 'Suspended'): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket }));
    if (Status) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  }

  async function put(Bucket: string, Key: string, Body: Buffer | string): Promise<string | undefined> {
    return (await s3.send(new PutObjectCommand({ Bucket, Key, Body }))).VersionId;
  }

  async function bytes(Bucket: string, Key: string, VersionId?: string): Promise<Buffer> {
    const res = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /**
   * Every version and marker as the wire orders them (the SDK hands Versions and DeleteMarkers
   * apart), following the version markers page by page: "key etag|marker id[ latest]".
   */
  async function allVersions(
    Bucket: string,
    input: { Prefix?: string; Delimiter?: string; MaxKeys?: number } = {},
  ): Promise<string[]> {
    const out: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    const field = (xml: string, name: string): string | undefined =>
      new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
    for (;;) {
      const query = new URLSearchParams({ versions: '' });
      if (input.Prefix !== undefined) query.set('prefix', input.Prefix);
      if (input.Delimiter !== undefined) query.set('delimiter', input.Delimiter);
      if (input.MaxKeys !== undefined) query.set('max-keys', String(input.MaxKeys));
      if (KeyMarker !== undefined) query.set('key-marker', KeyMarker);
      if (VersionIdMarker !== undefined) query.set('version-id-marker', VersionIdMarker);
      const res = await rawRequest(g.port, {
        method: 'GET',
        path: `/${Bucket}?${query.toString().replace(/\+/g, '%20')}`,
      });
      expect(res.status).toBe(200);
      const xml = res.body.toString();
      const entries = [...xml.matchAll(/<(Version|DeleteMarker)>(.*?)<\/\1>/g)].map(([, kind, inner]) => {
        const what = kind === 'Version' ? field(inner!, 'ETag')!.replace(/&quot;/g, '"') : 'marker';
        return `${field(inner!, 'Key')} ${what} ${field(inner!, 'VersionId')}${field(inner!, 'IsLatest') === 'true' ? ' latest' : ''}`;
      });
      const prefixes = [...xml.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map(
        ([, prefix]) => `P:${prefix}`,
      );
      if (input.MaxKeys !== undefined) expect(entries.length + prefixes.length).toBeLessThanOrEqual(input.MaxKeys);
      out.push(...entries, ...prefixes);
      if (field(xml, 'IsTruncated') !== 'true') return out;
      KeyMarker = field(xml, 'NextKeyMarker');
      VersionIdMarker = field(xml, 'NextVersionIdMarker');
    }
  }

  it('reports no status on a new bucket, then Enabled or Suspended, and refuses MFA delete', async () => {
    await newBucket('states');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'states' }))).Status).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'states', VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'states' }))).Status).toBe('Enabled');
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'states', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'states' }))).Status).toBe('Suspended');
    expect(
      await failure(
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: 'states',
            VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' },
          }),
        ),
      ),
    ).toBe('NotImplemented');
    const unversioned = await rawRequest(g.port, {
      method: 'PUT',
      path: '/states?versioning',
      body: '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Disabled</Status></VersioningConfiguration>',
    });
    expect([unversioned.status, errorCode(unversioned)]).toEqual([400, 'MalformedXML']);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'states' }))).Status).toBe('Suspended');
  });

  it('keeps every version with its own id and bytes; a delete marker hides the key until it is deleted', async () => {
    await newBucket('ver', 'Enabled');
    const bodies = [content(40_000, 1), Buffer.from('second, inline'), content(3 * MiB + 5, 3)];
    const ids: string[] = [];
    for (const body of bodies) ids.push((await put('ver', 'doc', body))!);
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries())
      expect((await bytes('ver', 'doc', id)).equals(bodies[i]!), `version ${i}`).toBe(true);
    expect((await bytes('ver', 'doc')).equals(bodies[2]!)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: ids[0] }));
    expect([head.ContentLength, head.VersionId]).toEqual([40_000, ids[0]]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'ver', Key: 'doc' }))).VersionId).toBe(ids[2]);

    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc' }));
    expect(deleted.DeleteMarker).toBe(true);
    const marker = deleted.VersionId!;
    expect(ids).not.toContain(marker);
    const hidden = await rawRequest(g.port, { method: 'GET', path: '/ver/doc' });
    expect([
      hidden.status,
      errorCode(hidden),
      hidden.headers['x-amz-delete-marker'],
      hidden.headers['x-amz-version-id'],
    ]).toEqual([404, 'NoSuchKey', 'true', marker]);
    for (const method of ['GET', 'HEAD']) {
      const byId = await rawRequest(g.port, { method, path: `/ver/doc?versionId=${marker}` });
      expect([byId.status, byId.headers['x-amz-delete-marker']], method).toEqual([405, 'true']);
    }
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'ver' }))).Contents).toBeUndefined();
    expect((await bytes('ver', 'doc', ids[1])).equals(bodies[1]!)).toBe(true);
    expect(await allVersions('ver')).toEqual([
      `doc marker ${marker} latest`,
      `doc "${await etag('ver', 'doc', ids[2]!)}" ${ids[2]}`,
      expect.stringContaining(ids[1]!),
      expect.stringContaining(ids[0]!),
    ]);

    // Deleting the marker restores the version before it.
    const unmarked = await s3.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: marker }));
    expect([unmarked.DeleteMarker, unmarked.VersionId]).toEqual([true, marker]);
    expect((await bytes('ver', 'doc')).equals(bodies[2]!)).toBe(true);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'ver' }))).Contents?.map((c) => c.Key)).toEqual(['doc']);

    // Deleting a version by id is for good.
    const gone = await s3.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: ids[1] }));
    expect([gone.DeleteMarker, gone.VersionId]).toEqual([undefined, ids[1]]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: ids[1] })))).toBe(
      'NoSuchVersion',
    );
    expect((await bytes('ver', 'doc', ids[0])).equals(bodies[0]!)).toBe(true);
  });

  async function etag(Bucket: string, Key: string, VersionId: string): Promise<string> {
    return (await s3.send(new HeadObjectCommand({ Bucket, Key, VersionId }))).ETag!.replace(/"/g, '');
  }

  it('lists versions newest first per key, one latest each, across pages that split a key', async () => {
    await newBucket('pages', 'Enabled');
    const written = new Map<string, string[]>();
    for (const [key, n] of [
      ['a', 5],
      ['d/x', 2],
      ['d/y', 1],
      ['z', 3],
    ] as const) {
      for (let i = 0; i < n; i++)
        written.set(key, [(await put('pages', key, `${key}${i}`))!, ...(written.get(key) ?? [])]);
    }
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: 'pages', Key: 'z' }))).VersionId!;
    const whole = await allVersions('pages');
    const idsInOrder = whole.map((line) => line.split(' ')[2]);
    expect(idsInOrder).toEqual([
      ...written.get('a')!,
      ...written.get('d/x')!,
      ...written.get('d/y')!,
      marker,
      ...written.get('z')!,
    ]);
    expect(whole.filter((line) => line.endsWith(' latest')).map((line) => line.split(' ')[0])).toEqual([
      'a',
      'd/x',
      'd/y',
      'z',
    ]);
    for (const MaxKeys of [1, 2, 3, 4])
      expect(await allVersions('pages', { MaxKeys }), `MaxKeys ${MaxKeys}`).toEqual(whole);
    expect(await allVersions('pages', { Delimiter: '/', MaxKeys: 2 })).toEqual([
      ...whole.slice(0, 5),
      'P:d/',
      ...whole.slice(8),
    ]);
    expect(await allVersions('pages', { Prefix: 'd/' })).toEqual(whole.slice(5, 8));

    // A page ending inside a key's history names the version to resume after.
    const first = await s3.send(new ListObjectVersionsCommand({ Bucket: 'pages', MaxKeys: 2 }));
    expect([first.IsTruncated, first.NextKeyMarker, first.NextVersionIdMarker]).toEqual([
      true,
      'a',
      written.get('a')![1],
    ]);
    const encoded = await rawRequest(g.port, { method: 'GET', path: '/pages?versions&prefix=d%2F&encoding-type=url' });
    expect(encoded.body.toString()).toContain('<Key>d/x</Key>');
    expect(encoded.body.toString()).toContain('<EncodingType>url</EncodingType>');
  });

  it('lists a bucket that never had versioning as null versions, readable by versionId=null', async () => {
    expect(await allVersions('plain')).toEqual([expect.stringMatching(/^old "[0-9a-f]{32}" null latest$/)]);
    expect((await bytes('plain', 'old', 'null')).toString()).toBe('before versioning');
    expect((await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'new', Body: 'x' }))).VersionId).toBeUndefined();
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'old', VersionId: 'someother' })))).toBe(
      'NoSuchVersion',
    );
  });

  it('Suspended: a write replaces the null version only, a delete leaves a null marker', async () => {
    await newBucket('susp');
    await put('susp', 'k', 'null one');
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'susp', VersioningConfiguration: { Status: 'Enabled' } }));
    const kept = (await put('susp', 'k', 'versioned'))!;
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'susp', VersioningConfiguration: { Status: 'Suspended' } }));
    await put('susp', 'k', 'null two');
    expect((await bytes('susp', 'k', 'null')).toString()).toBe('null two');
    expect((await allVersions('susp')).map((line) => line.split(' ').slice(2).join(' '))).toEqual([
      'null latest',
      kept,
    ]);
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: 'susp', Key: 'k' }));
    expect([deleted.DeleteMarker, deleted.VersionId]).toEqual([true, 'null']);
    expect(await allVersions('susp')).toEqual(['k marker null latest', expect.stringContaining(kept)]);
    expect((await bytes('susp', 'k', kept)).toString()).toBe('versioned');
  });

  it('copies a named version (object and part), answering with the version it read', async () => {
    await newBucket('copies', 'Enabled');
    const old = content(2 * MiB + 3, 7);
    const v1 = (await put('copies', 'src', old))!;
    await put('copies', 'src', 'newer');
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: `copies/src?versionId=${v1}` }),
    );
    expect(copied.CopySourceVersionId).toBe(v1);
    expect(copied.VersionId).toBeDefined();
    expect((await bytes('copies', 'dst')).equals(old)).toBe(true);
    // The copy shares the old version's chunks: removing that version keeps the copy whole.
    await s3.send(new DeleteObjectCommand({ Bucket: 'copies', Key: 'src', VersionId: v1 }));
    await g.h.meta.durable();
    expect((await bytes('copies', 'dst')).equals(old)).toBe(true);

    const v2 = (await put('copies', 'part-src', old))!;
    await put('copies', 'part-src', 'replaced');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'copies', Key: 'mp' }));
    const part = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'copies',
        Key: 'mp',
        UploadId,
        PartNumber: 1,
        CopySource: `copies/part-src?versionId=${v2}`,
      }),
    );
    expect(part.CopySourceVersionId).toBe(v2);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'copies',
        Key: 'mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag }] },
      }),
    );
    expect((await bytes('copies', 'mp')).equals(old)).toBe(true);

    // An old version copied onto its own key becomes the newest again (S3's restore).
    const restored = await s3.send(
      new CopyObjectCommand({ Bucket: 'copies', Key: 'part-src', CopySource: `copies/part-src?versionId=${v2}` }),
    );
    expect(restored.VersionId).not.toBe(v2);
    expect((await bytes('copies', 'part-src')).equals(old)).toBe(true);
    expect(
      await failure(
        s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'part-src', CopySource: 'copies/part-src' })),
      ),
    ).toBe('InvalidRequest');

    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: 'copies', Key: 'part-src' }))).VersionId!;
    expect(
      await failure(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'copies/part-src' }))),
    ).toBe('NoSuchKey');
    expect(
      await failure(
        s3.send(
          new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: `copies/part-src?versionId=${marker}` }),
        ),
      ),
    ).toBe('InvalidRequest');
  });

  it('completes a multipart upload as a new version, the previous one kept', async () => {
    await newBucket('multi', 'Enabled');
    const first = (await put('multi', 'big', 'small first'))!;
    const data = content(6 * MiB, 11);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'multi', Key: 'big' }));
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: 'multi', Key: 'big', UploadId, PartNumber: 1, Body: data.subarray(0, 5 * MiB) }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: 'multi', Key: 'big', UploadId, PartNumber: 2, Body: data.subarray(5 * MiB) }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'multi',
        Key: 'big',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(done.VersionId).toBeDefined();
    expect(done.VersionId).not.toBe(first);
    expect((await bytes('multi', 'big')).equals(data)).toBe(true);
    expect((await bytes('multi', 'big', first)).toString()).toBe('small first');
  });

  it('deletes versions and adds markers in one DeleteObjects; the bucket goes only when no version is left', async () => {
    await newBucket('bulk', 'Enabled');
    const a1 = (await put('bulk', 'a', 'a1'))!;
    const a2 = (await put('bulk', 'a', 'a2'))!;
    await put('bulk', 'b', 'b1');
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'bulk', Delete: { Objects: [{ Key: 'a', VersionId: a1 }, { Key: 'b' }] } }),
    );
    const byKey = new Map(result.Deleted!.map((d) => [d.Key, d]));
    expect(byKey.get('a')).toMatchObject({ VersionId: a1 });
    expect(byKey.get('a')!.DeleteMarker).toBeFalsy();
    expect(byKey.get('b')).toMatchObject({ DeleteMarker: true, DeleteMarkerVersionId: expect.any(String) });
    expect((await bytes('bulk', 'a')).toString()).toBe('a2');
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'bulk' })))).toBe('BucketNotEmpty');

    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: 'bulk' }));
    const every = [...(left.Versions ?? []), ...(left.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId!,
    }));
    expect(every.map((v) => v.VersionId)).toContain(a2);
    const cleared = await s3.send(new DeleteObjectsCommand({ Bucket: 'bulk', Delete: { Objects: every } }));
    expect(cleared.Deleted).toHaveLength(every.length);
    expect(cleared.Deleted!.find((d) => d.Key === 'b' && d.DeleteMarker)?.DeleteMarkerVersionId).toBe(
      byKey.get('b')!.DeleteMarkerVersionId,
    );
    await s3.send(new DeleteBucketCommand({ Bucket: 'bulk' }));
  });

  it('rebuilds every version and delete marker, with their ids and order, from the backends', async () => {
    await newBucket('rebuilt', 'Enabled');
    await put('rebuilt', 'k', 'one');
    const two = (await put('rebuilt', 'k', 'two'))!;
    await s3.send(new DeleteObjectCommand({ Bucket: 'rebuilt', Key: 'k' }));
    await put('rebuilt', 'k', 'three');
    await s3.send(new DeleteObjectCommand({ Bucket: 'rebuilt', Key: 'k', VersionId: two }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'rebuilt', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    await put('rebuilt', 'j', 'null version');
    await put('rebuilt', 'gone', 'x');
    await s3.send(new DeleteObjectCommand({ Bucket: 'rebuilt', Key: 'gone' }));
    const expected = await g.h.meta.listVersions({ bucket: 'rebuilt' });
    expect(expected.versions).toHaveLength(5);
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-versions.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      expect(await fresh.listVersions({ bucket: 'rebuilt' })).toEqual(expected);
      for (const v of expected.versions) {
        expect(await fresh.getVersion('rebuilt', v.key, v.versionId), `${v.key} ${v.versionId}`).toEqual(
          await g.h.meta.getVersion('rebuilt', v.key, v.versionId),
        );
      }
      expect((await fresh.getBucket('rebuilt'))!.settings.versioning).toBe('Suspended');
    } finally {
      await fresh.close();
    }
  });
});
