import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { lifecycleStatus, LifecycleWorker } from '../src/lifecycle/index.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { errorCode, failure, gatewayForSuite, rawRequest, type GatewayHarness } from './helpers/gateway-harness.js';

/** A lifecycle day of one second: a rule of Days 1 expires an object at most 2 s after its write. */
const DAY_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('gateway: lifecycle configuration', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['conf'] }, (t) => ({ g, s3 } = t));

  it('round-trips a configuration as put, and forgets it on delete', async () => {
    // A legacy top-level Prefix does not mix with Filter rules: it goes in a configuration of its own.
    const legacy: LifecycleRule[] = [{ ID: 'legacy', Prefix: 'logs/', Status: 'Enabled', Expiration: { Days: 30 } }];
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket: 'conf', LifecycleConfiguration: { Rules: legacy } }),
    );
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'conf' }))).Rules).toEqual(legacy);
    const Rules: LifecycleRule[] = [
      { ID: 'tag', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Status: 'Disabled', Expiration: { Days: 1 } },
      {
        ID: 'and',
        Filter: {
          And: { Prefix: 'a/', Tags: [{ Key: 'k', Value: 'v' }], ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 99 },
        },
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 2 },
      },
      {
        ID: 'markers',
        Filter: { Prefix: '' },
        Status: 'Enabled',
        Expiration: { ExpiredObjectDeleteMarker: true },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 },
      },
      {
        ID: 'date',
        Filter: { ObjectSizeLessThan: 5 },
        Status: 'Enabled',
        Expiration: { Date: new Date('2030-01-01T00:00:00Z') },
      },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'conf', LifecycleConfiguration: { Rules } }));
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'conf' }));
    expect(got.Rules).toEqual(Rules);
    // In the bucket's encrypted metadata copies: `meta rebuild` restores it.
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-lifecycle.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      expect((await fresh.getBucket('conf'))?.settings.lifecycle).toEqual(
        (await g.h.meta.getBucket('conf'))?.settings.lifecycle,
      );
      expect((await fresh.getBucket('conf'))?.settings.lifecycle).toHaveLength(4);
    } finally {
      await fresh.close();
    }
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'conf' }));
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'conf' })))).toBe(
      'NoSuchLifecycleConfiguration',
    );
  });

  it('answers 404 NoSuchLifecycleConfiguration on a bucket without one, NoSuchBucket on none', async () => {
    const res = await rawRequest(g.port, { method: 'GET', path: '/conf?lifecycle' });
    expect([res.status, errorCode(res)]).toEqual([404, 'NoSuchLifecycleConfiguration']);
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'missing' })))).toBe(
      'NoSuchBucket',
    );
  });

  it.each([
    ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status>', 400, 'MalformedXML'],
    ['<LifecycleConfiguration></LifecycleConfiguration>', 400, 'MalformedXML'],
    [rules('<Status>enabled</Status><Expiration><Days>1</Days></Expiration>'), 400, 'MalformedXML'],
    [rules('<Status>Enabled</Status>'), 400, 'InvalidArgument'],
    [rules('<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'), 400, 'InvalidArgument'],
    [
      rules('<Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>'),
      400,
      'InvalidArgument',
    ],
    [
      rules('<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>') +
        rules('<Status>Enabled</Status><Expiration><Days>2</Days></Expiration>'),
      400,
      'InvalidArgument',
    ],
    [
      rules('<Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>'),
      501,
      'NotImplemented',
    ],
    // A transition this store would not perform is still validated first, as AWS does.
    [
      rules(
        '<Status>Enabled</Status><Transition><Date>20220927</Date><StorageClass>GLACIER</StorageClass></Transition>',
      ),
      400,
      'InvalidArgument',
    ],
    [
      rules(
        '<Status>Enabled</Status><NoncurrentVersionTransition><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>',
      ),
      400,
      'MalformedXML',
    ],
  ])('refuses %s', async (body, status, code) => {
    const doc = body.startsWith('<Rule>') ? `<LifecycleConfiguration>${body}</LifecycleConfiguration>` : body;
    const res = await rawRequest(g.port, { method: 'PUT', path: '/conf?lifecycle', body: doc });
    expect([res.status, errorCode(res)]).toEqual([status, code]);
    const get = await rawRequest(g.port, { method: 'GET', path: '/conf?lifecycle' });
    expect(get.status).toBe(404);
  });

  it('sends x-amz-expiration on PUT, HEAD and GET of a current version a rule matches', async () => {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'conf',
        LifecycleConfiguration: {
          Rules: [
            { ID: 'tmp files', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 3 } },
            { ID: 'later', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 10 } },
          ],
        },
      }),
    );
    const put = await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'tmp/a', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'tmp/a' }));
    const day = 24 * 3600 * 1000;
    const expected = `expiry-date="${new Date(Math.ceil((head.LastModified!.getTime() + 3 * day) / day) * day).toUTCString()}", rule-id="tmp%20files"`;
    expect(put.Expiration).toBe(expected);
    expect(head.Expiration).toBe(expected);
    const get = await rawRequest(g.port, { method: 'GET', path: '/conf/tmp/a' });
    expect(get.headers['x-amz-expiration']).toBe(expected);
    const other = await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'keep', Body: 'x' }));
    expect(other.Expiration).toMatch(/rule-id="later"$/);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'conf' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'tmp/a' }))).Expiration).toBeUndefined();
  });
});

function rules(inner: string): string {
  return `<Rule><ID>r</ID><Filter></Filter>${inner}</Rule>`;
}

describe('gateway: the lifecycle worker, with a one-second day', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let worker: LifecycleWorker;
  gatewayForSuite({}, (t) => {
    ({ g, s3 } = t);
    worker = new LifecycleWorker(g.h.store, { dayMs: DAY_MS, pageSize: 2 });
  });

  async function bucket(
    Bucket: string,
    Rules: LifecycleRule[],
    versioning?: 'Enabled' | 'Suspended',
    lock = false,
  ): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: lock || undefined }));
    if (versioning)
      await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: versioning } }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
  }

  async function exists(Bucket: string, Key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket, Key }));
      return true;
    } catch (e) {
      if ((e as { name?: string }).name === 'NotFound') return false;
      throw e;
    }
  }

  /** "key id|marker" newest first, per key. */
  async function versions(Bucket: string): Promise<string[]> {
    const res = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    const all = [
      ...(res.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, at: v.LastModified!, what: 'object' })),
      ...(res.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, id: m.VersionId!, at: m.LastModified!, what: 'marker' })),
    ];
    return all.map((v) => `${v.key} ${v.what} ${v.id}`);
  }

  const put = async (Bucket: string, Key: string, Body: string | Buffer, extra = {}): Promise<string | undefined> =>
    (await s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }))).VersionId;

  it('expires, trims, cleans up and aborts what each rule selects, and nothing else', async () => {
    await bucket('plain', [
      { ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'off', Filter: { Prefix: 'keep/' }, Status: 'Disabled', Expiration: { Days: 1 } },
      {
        ID: 'uploads',
        Filter: { Prefix: 'up/' },
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
    await bucket('filters', [
      { ID: 'tagged', Filter: { Tag: { Key: 'expire', Value: 'yes' } }, Status: 'Enabled', Expiration: { Days: 1 } },
      {
        ID: 'big',
        Filter: { And: { Prefix: 'big/', ObjectSizeGreaterThan: 100 } },
        Status: 'Enabled',
        Expiration: { Days: 1 },
      },
    ]);
    await bucket('ver', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }], 'Enabled');
    await bucket('paused', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }], 'Enabled');
    await bucket(
      'trim',
      [
        {
          ID: 'nc',
          Status: 'Enabled',
          Filter: {},
          NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 2 },
        },
      ],
      'Enabled',
    );
    await bucket(
      'markers',
      [
        { ID: 'nc', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
        { ID: 'eodm', Status: 'Enabled', Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true } },
      ],
      'Enabled',
    );
    await bucket(
      'locked',
      [
        { ID: 'nc', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
        { ID: 'cur', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } },
      ],
      undefined,
      true,
    );

    const start = Date.now();
    for (const key of ['tmp/a', 'tmp/b', 'tmp/c', 'keep/a', 'other']) await put('plain', key, key);
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'up/file' }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'other-upload' }));
    await put('filters', 'tagged', 'x', { Tagging: 'expire=yes' });
    await put('filters', 'tagged-no', 'x', { Tagging: 'expire=no' });
    await put('filters', 'big/large', Buffer.alloc(200));
    await put('filters', 'big/small', Buffer.alloc(10));
    await put('filters', 'other/large', Buffer.alloc(200));
    const verId = await put('ver', 'doc', 'v1');
    const enabledId = await put('paused', 'doc', 'while enabled');
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'paused', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    await put('paused', 'doc', 'the null version');
    const trimIds: string[] = [];
    for (let i = 1; i <= 5; i++) trimIds.push((await put('trim', 'k', `v${i}`))!);
    await put('markers', 'gone', 'x');
    await s3.send(new DeleteObjectCommand({ Bucket: 'markers', Key: 'gone' }));
    await put('markers', 'stays', 'x');
    const until = new Date(Date.now() + 3600_000);
    const lockedIds: string[] = [];
    for (const body of ['old', 'new'])
      lockedIds.push(
        (await put('locked', 'worm', body, { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }))!,
      );
    // Nothing is due before a day has passed since a write.
    expect([...(await worker.runOnce(start)).values()].every((c) => Object.values(c).every((n) => n === 0))).toBe(true);

    await sleep(2.2 * DAY_MS);
    const runAt = Date.now();
    const done = await worker.runOnce(runAt);
    expect(await exists('plain', 'tmp/a')).toBe(false);
    expect(await exists('plain', 'tmp/c')).toBe(false);
    expect(await exists('plain', 'keep/a')).toBe(true);
    expect(await exists('plain', 'other')).toBe(true);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'plain' }));
    expect((uploads.Uploads ?? []).map((u) => u.Key)).toEqual(['other-upload']);
    expect((uploads.Uploads ?? []).map((u) => u.UploadId)).not.toContain(upload.UploadId);
    expect(done.get('plain')).toEqual({
      expired: 3,
      noncurrentRemoved: 0,
      markersRemoved: 0,
      uploadsAborted: 1,
      locked: 0,
    });

    expect(await exists('filters', 'tagged')).toBe(false);
    expect(await exists('filters', 'tagged-no')).toBe(true);
    expect(await exists('filters', 'big/large')).toBe(false);
    expect(await exists('filters', 'big/small')).toBe(true);
    expect(await exists('filters', 'other/large')).toBe(true);

    // Versioned: the current version is hidden behind a new delete marker, not removed.
    const ver = await versions('ver');
    expect(ver).toHaveLength(2);
    expect(ver).toContain(`doc object ${verId}`);
    expect(ver.filter((v) => v.startsWith('doc marker'))).toHaveLength(1);
    expect(await exists('ver', 'doc')).toBe(false);

    // Suspended: a null delete marker replaces the null version; the older version stays.
    expect(await versions('paused')).toEqual([`doc object ${enabledId}`, 'doc marker null']);

    // Two newer noncurrent versions kept, the older ones removed.
    expect(await versions('trim')).toEqual(
      trimIds
        .slice(2)
        .reverse()
        .map((id) => `k object ${id}`),
    );

    // The noncurrent version goes, then the delete marker left alone is expired too.
    expect(await versions('markers')).toEqual([expect.stringMatching(/^stays object /)]);

    // Object lock: the current version gets a marker, the noncurrent locked one stays.
    const locked = await versions('locked');
    expect(locked).toEqual(expect.arrayContaining([`worm object ${lockedIds[0]}`, `worm object ${lockedIds[1]}`]));
    expect(done.get('locked')?.locked).toBe(1);

    // At most once a lifecycle day: a second pass in the same day does nothing.
    expect([...(await worker.runOnce(runAt)).keys()]).toEqual([]);

    const status = await lifecycleStatus(g.h.meta);
    expect(status.find((l) => l.startsWith('lifecycle plain:'))).toMatch(
      /^lifecycle plain: 2 of 3 rules enabled; last run finished \S+ \(3 expired, 0 noncurrent removed, 0 delete markers removed, 1 uploads aborted, 0 kept by object lock\)$/,
    );
  });

  it('resumes a run after the last key it finished', async () => {
    await bucket('resume', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
    for (const key of ['a', 'b', 'c', 'd']) await put('resume', key, key);
    await sleep(2.2 * DAY_MS);
    const now = Date.now();
    // As a run cut by a restart after key b leaves it.
    await g.h.meta.updateBucketSettings('resume', (s) => ({
      ...s,
      lifecycleProgress: {
        running: {
          day: Math.floor(now / DAY_MS),
          started: now,
          afterKey: 'b',
          counts: { expired: 2, noncurrentRemoved: 0, markersRemoved: 0, uploadsAborted: 0, locked: 0 },
        },
      },
    }));
    const done = await worker.runOnce(now);
    expect(done.get('resume')?.expired).toBe(4);
    expect([await exists('resume', 'a'), await exists('resume', 'b')]).toEqual([true, true]);
    expect([await exists('resume', 'c'), await exists('resume', 'd')]).toEqual([false, false]);
    const progress = (await g.h.meta.getBucket('resume'))!.settings.lifecycleProgress!;
    expect(progress.running).toBeUndefined();
    expect(progress.lastDay).toBe(Math.floor(now / DAY_MS));
    // The next day's run starts over from the first key.
    await worker.runOnce(now + DAY_MS);
    expect([await exists('resume', 'a'), await exists('resume', 'b')]).toEqual([false, false]);
  });

  it('removes an expired object delete marker once a Days rule finds it old enough', async () => {
    await bucket(
      'lonely',
      [{ ID: 'days', Status: 'Enabled', Filter: { Prefix: 'm/' }, Expiration: { Days: 1 } }],
      'Enabled',
    );
    const VersionId = await put('lonely', 'm/k', 'x');
    await s3.send(new DeleteObjectCommand({ Bucket: 'lonely', Key: 'm/k' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'lonely', Key: 'm/k', VersionId }));
    const now = Date.now();
    expect((await worker.runOnce(now)).get('lonely')?.markersRemoved).toBe(0);
    expect(await versions('lonely')).toHaveLength(1);
    expect((await worker.runOnce(now + 3 * DAY_MS)).get('lonely')?.markersRemoved).toBe(1);
    expect(await versions('lonely')).toEqual([]);
  });

  it('keeps a key a client rewrote between the scan and the delete (unversioned and versioned)', async () => {
    await bucket('raced', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
    await bucket('raced-v', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }], 'Enabled');
    await put('raced', 'k', 'old');
    await put('raced-v', 'k', 'old');
    await sleep(2.2 * DAY_MS);
    // The store the worker deletes through: the first delete of each key is preceded by a
    // client's PUT of that key, as when the client's request lands right after the worker's check.
    const rewritten = new Set<string>();
    const store = new Proxy(g.h.store, {
      get(target, name, receiver) {
        if (name !== 'delete') return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<ObjectStore['delete']>) => {
          const [b, key] = args;
          if (!rewritten.has(b)) {
            rewritten.add(b);
            await put(b, key, 'new');
          }
          return target.delete(...args);
        };
      },
    });
    const done = await new LifecycleWorker(store, { dayMs: DAY_MS }).runOnce();
    expect([done.get('raced')?.expired, done.get('raced-v')?.expired]).toEqual([0, 0]);
    for (const b of ['raced', 'raced-v']) {
      const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }));
      expect(await res.Body!.transformToString()).toBe('new');
    }
  });

  it('runs by itself once started', async () => {
    await bucket('timed', [{ ID: 'all', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
    await put('timed', 'k', 'x');
    const running = new LifecycleWorker(g.h.store, { dayMs: DAY_MS });
    running.start();
    try {
      const deadline = Date.now() + 30_000;
      while ((await exists('timed', 'k')) && Date.now() < deadline) await sleep(200);
      expect(await exists('timed', 'k')).toBe(false);
    } finally {
      await running.stop();
    }
  });
});
