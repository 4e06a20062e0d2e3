import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { failure, gatewayForSuite, grantKey, type GatewayHarness } from './helpers/gateway-harness.js';

const DAY = 24 * 3600 * 1000;

describe('gateway: object lock (WORM)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite(
    {
      buckets: ['plain'],
      setup: async ({ s3: c }) => {
        await c.send(new CreateBucketCommand({ Bucket: 'worm', ObjectLockEnabledForBucket: true }));
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('enables versioning for good on a bucket created with object lock, and keeps its default retention', async () => {
    expect(
      await failure(
        s3.send(new PutBucketVersioningCommand({ Bucket: 'worm', VersioningConfiguration: { Status: 'Suspended' } })),
      ),
    ).toBe('InvalidBucketState');
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'worm' }))).ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
    });
    expect(await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'plain' })))).toBe(
      'ObjectLockConfigurationNotFoundError',
    );
    expect(
      await failure(
        s3.send(
          new PutObjectLockConfigurationCommand({
            Bucket: 'plain',
            ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
          }),
        ),
      ),
    ).toBe('InvalidBucketState');
    const bad = {
      ObjectLockEnabled: 'Enabled' as const,
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 0 } },
    };
    expect(
      await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'worm', ObjectLockConfiguration: bad }))),
    ).toBe('InvalidArgument');
    const rule = { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 1 } };
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: 'worm',
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule },
      }),
    );
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'worm' }))).ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: rule,
    });

    const before = Date.now();
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: 'worm', Key: 'defaulted', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'defaulted', VersionId }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime() - before).toBeGreaterThan(DAY - 60_000);
  });

  it('refuses to delete a locked version, still adds markers, and lets an owner bypass GOVERNANCE only', async () => {
    const until = new Date(Date.now() + DAY);
    const compliance = (
      await s3.send(
        new PutObjectCommand({
          Bucket: 'worm',
          Key: 'c',
          Body: 'kept',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: until,
        }),
      )
    ).VersionId!;
    const governance = (
      await s3.send(
        new PutObjectCommand({
          Bucket: 'worm',
          Key: 'g',
          Body: 'kept',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: until,
        }),
      )
    ).VersionId!;
    expect(
      (await s3.send(new GetObjectRetentionCommand({ Bucket: 'worm', Key: 'c', VersionId: compliance }))).Retention,
    ).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: until });

    // A delete storm: markers go on top, the versions stay.
    for (const Key of ['c', 'g'])
      expect((await s3.send(new DeleteObjectCommand({ Bucket: 'worm', Key }))).DeleteMarker).toBe(true);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'worm', Key: 'c', VersionId: compliance })))).toBe(
      'AccessDenied',
    );
    expect(
      await failure(
        s3.send(
          new DeleteObjectCommand({ Bucket: 'worm', Key: 'c', VersionId: compliance, BypassGovernanceRetention: true }),
        ),
      ),
    ).toBe('AccessDenied');
    const batch = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'worm',
        Delete: {
          Objects: [
            { Key: 'c', VersionId: compliance },
            { Key: 'g', VersionId: governance },
          ],
        },
      }),
    );
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).toEqual([
      ['c', 'AccessDenied'],
      ['g', 'AccessDenied'],
    ]);
    // The bypass needs owner rights.
    const writer = g.client(await grantKey(g, 'WORMWRITER', { worm: { read: true, write: true } }));
    expect(
      await failure(
        writer.send(
          new DeleteObjectCommand({ Bucket: 'worm', Key: 'g', VersionId: governance, BypassGovernanceRetention: true }),
        ),
      ),
    ).toBe('AccessDenied');
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'c', VersionId: compliance }))).ContentLength,
    ).toBe(4);
    await s3.send(
      new DeleteObjectCommand({ Bucket: 'worm', Key: 'g', VersionId: governance, BypassGovernanceRetention: true }),
    );
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'g', VersionId: governance })))).toBe(
      'NotFound',
    );

    // COMPLIANCE only lengthens.
    const later = new Date(until.getTime() + DAY);
    await s3.send(
      new PutObjectRetentionCommand({
        Bucket: 'worm',
        Key: 'c',
        VersionId: compliance,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later },
      }),
    );
    expect(
      await failure(
        s3.send(
          new PutObjectRetentionCommand({
            Bucket: 'worm',
            Key: 'c',
            VersionId: compliance,
            Retention: { Mode: 'GOVERNANCE', RetainUntilDate: later },
            BypassGovernanceRetention: true,
          }),
        ),
      ),
    ).toBe('AccessDenied');
  });

  it('holds a version under a legal hold whatever its retention', async () => {
    const id = (
      await s3.send(new PutObjectCommand({ Bucket: 'worm', Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))
    ).VersionId!;
    expect(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId: id }))).LegalHold,
    ).toEqual({ Status: 'ON' });
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'held', VersionId: id }))).ObjectLockLegalHoldStatus,
    ).toBe('ON');
    expect(
      await failure(
        s3.send(
          new DeleteObjectCommand({ Bucket: 'worm', Key: 'held', VersionId: id, BypassGovernanceRetention: true }),
        ),
      ),
    ).toBe('AccessDenied');
    await s3.send(
      new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId: id, LegalHold: { Status: 'OFF' } }),
    );
    await s3.send(
      new PutObjectRetentionCommand({
        Bucket: 'worm',
        Key: 'held',
        VersionId: id,
        Retention: {},
        BypassGovernanceRetention: true,
      }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: 'worm', Key: 'held', VersionId: id }));
  });

  it('enables object lock on an existing bucket only once its versioning is Enabled', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'later' }));
    const config = {
      Bucket: 'later',
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled' as const,
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 1 } },
      },
    };
    const versioning = (Status: 'Enabled' | 'Suspended') =>
      new PutBucketVersioningCommand({ Bucket: 'later', VersioningConfiguration: { Status } });
    expect(await failure(s3.send(new PutObjectLockConfigurationCommand(config)))).toBe('InvalidBucketState');
    await s3.send(versioning('Suspended'));
    expect(await failure(s3.send(new PutObjectLockConfigurationCommand(config)))).toBe('InvalidBucketState');
    await s3.send(versioning('Enabled'));
    await s3.send(new PutObjectLockConfigurationCommand(config));
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'later' }))).ObjectLockConfiguration).toEqual(
      config.ObjectLockConfiguration,
    );
    expect(await failure(s3.send(versioning('Suspended')))).toBe('InvalidBucketState');
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: 'later', Key: 'k', Body: 'x' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'later', Key: 'k', VersionId }))).ObjectLockMode).toBe(
      'GOVERNANCE',
    );
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'later', Key: 'k', VersionId })))).toBe(
      'AccessDenied',
    );
  });

  it('answers MalformedXML to a retention mode or legal hold status outside the schema', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'worm', Key: 'schema', Body: 'x' }));
    const until = new Date(Date.now() + DAY);
    for (const Mode of ['governance', 'abc']) {
      const put = new PutObjectRetentionCommand({
        Bucket: 'worm',
        Key: 'schema',
        Retention: { Mode: Mode as 'GOVERNANCE', RetainUntilDate: until },
      });
      expect(await failure(s3.send(put))).toBe('MalformedXML');
    }
    const hold = new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'schema', LegalHold: { Status: 'abc' as 'ON' } });
    expect(await failure(s3.send(hold))).toBe('MalformedXML');
  });

  it('refuses lock headers and lock requests on a bucket without object lock', async () => {
    const until = new Date(Date.now() + DAY);
    expect(
      await failure(
        s3.send(
          new PutObjectCommand({
            Bucket: 'plain',
            Key: 'k',
            Body: 'x',
            ObjectLockMode: 'GOVERNANCE',
            ObjectLockRetainUntilDate: until,
          }),
        ),
      ),
    ).toBe('InvalidRequest');
    expect(
      await failure(
        s3.send(new PutObjectCommand({ Bucket: 'worm', Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE' })),
      ),
    ).toBe('InvalidArgument');
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'k', Body: 'x' }));
    expect(await failure(s3.send(new GetObjectRetentionCommand({ Bucket: 'plain', Key: 'k' })))).toBe('InvalidRequest');
  });

  it('locks copies and completed uploads as their requests say, and keeps every lock through a rebuild', async () => {
    const until = new Date(Date.now() + 3 * DAY);
    const source = (
      await s3.send(
        new PutObjectCommand({
          Bucket: 'worm',
          Key: 'src',
          Body: 'src',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: until,
        }),
      )
    ).VersionId!;
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: 'worm',
        Key: 'copy',
        CopySource: `worm/src?versionId=${source}`,
        ObjectLockLegalHoldStatus: 'ON',
      }),
    );
    const copied = await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'copy', VersionId: copy.VersionId }));
    // Not the source's COMPLIANCE retention: the bucket's default, and the hold asked for.
    expect([copied.ObjectLockMode, copied.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', 'ON']);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'worm',
        Key: 'mp',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
      }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'worm', Key: 'mp', UploadId, PartNumber: 1, Body: 'part' }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'worm',
        Key: 'mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const completed = await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'mp', VersionId: done.VersionId }));
    expect([completed.ObjectLockMode, completed.ObjectLockRetainUntilDate?.getTime()]).toEqual([
      'COMPLIANCE',
      until.getTime(),
    ]);
    await s3.send(
      new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'src', VersionId: source, LegalHold: { Status: 'ON' } }),
    );

    const expected = await g.h.meta.listVersions({ bucket: 'worm' });
    const fresh = new SqliteMetaStore(path.join(g.h.dir, 'rebuilt-locks.db'));
    try {
      await g.h.store.replica.rebuild(fresh);
      expect(await fresh.listVersions({ bucket: 'worm' })).toEqual(expected);
      for (const v of expected.versions) {
        expect((await fresh.getVersion('worm', v.key, v.versionId))?.manifest?.lock, `${v.key} ${v.versionId}`).toEqual(
          (await g.h.meta.getVersion('worm', v.key, v.versionId))?.manifest?.lock,
        );
      }
      expect((await fresh.getVersion('worm', 'src', source))?.manifest?.lock).toMatchObject({
        mode: 'COMPLIANCE',
        legalHold: true,
      });
      expect(await fresh.getBucket('worm')).toMatchObject({
        settings: { versioning: 'Enabled', objectLock: { defaultRetention: { mode: 'GOVERNANCE', days: 1 } } },
      });
    } finally {
      await fresh.close();
    }
  });
});
