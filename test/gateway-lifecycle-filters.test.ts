// Lifecycle filters by prefix, tags and object size: what PutBucketLifecycleConfiguration refuses
// (AWS's codes), what GetBucketLifecycleConfiguration gives back, which objects x-amz-expiration
// names, and which versions the worker removes, on a real gateway with the AWS SDK.
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { LifecycleWorker } from '../src/lifecycle/index.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { errorCode, gatewayForSuite, rawRequest, type GatewayHarness } from './helpers/gateway-harness.js';

/** A lifecycle day of one second; the worker is run at a time when Days 1 is long past. */
const DAY_MS = 1000;
const REAL_DAY_MS = 24 * 3600 * 1000;

function rule(inner: string, id = 'r'): string {
  return `<Rule><ID>${id}</ID><Status>Enabled</Status>${inner}</Rule>`;
}

const days1 = '<Expiration><Days>1</Days></Expiration>';
const tag = (key: string, value: string): string => `<Tag><Key>${key}</Key><Value>${value}</Value></Tag>`;

describe('gateway: lifecycle filter validation', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['conf'] }, (t) => ({ g, s3 } = t));

  it.each([
    [
      'Prefix and Tag side by side',
      'MalformedXML',
      rule(`<Filter><Prefix>a/</Prefix>${tag('k', 'v')}</Filter>${days1}`),
    ],
    [
      'Prefix and a size side by side',
      'MalformedXML',
      rule(`<Filter><Prefix></Prefix><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter>${days1}`),
    ],
    ['two Tags without And', 'MalformedXML', rule(`<Filter>${tag('a', '1')}${tag('b', '2')}</Filter>${days1}`)],
    [
      'And beside a Prefix',
      'MalformedXML',
      rule(`<Filter><Prefix>a</Prefix><And><Prefix>b</Prefix>${tag('k', 'v')}</And></Filter>${days1}`),
    ],
    ['an And of one predicate', 'MalformedXML', rule(`<Filter><And>${tag('k', 'v')}</And></Filter>${days1}`)],
    ['a rule with neither Filter nor Prefix', 'MalformedXML', rule(days1)],
    [
      'a size that is not a number',
      'MalformedXML',
      rule(`<Filter><ObjectSizeLessThan>ten</ObjectSizeLessThan></Filter>${days1}`),
    ],
    ['a Tag without Key', 'MalformedXML', rule(`<Filter><Tag><Value>v</Value></Tag></Filter>${days1}`)],
    [
      'GreaterThan equal to LessThan',
      'InvalidRequest',
      rule(
        `<Filter><And><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>${days1}`,
      ),
    ],
    [
      'GreaterThan above LessThan',
      'InvalidRequest',
      rule(
        `<Filter><And><ObjectSizeGreaterThan>200</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>${days1}`,
      ),
    ],
    [
      'ObjectSizeLessThan 0',
      'InvalidRequest',
      rule(`<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>${days1}`),
    ],
    [
      'a negative ObjectSizeGreaterThan',
      'InvalidRequest',
      rule(`<Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter>${days1}`),
    ],
    [
      'duplicate tag keys in And',
      'InvalidRequest',
      rule(`<Filter><And>${tag('k', '1')}${tag('k', '2')}</And></Filter>${days1}`),
    ],
    [
      'AbortIncompleteMultipartUpload with a Tag',
      'InvalidRequest',
      rule(
        `<Filter>${tag('k', 'v')}</Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`,
      ),
    ],
    [
      'AbortIncompleteMultipartUpload with a size',
      'InvalidRequest',
      rule(
        `<Filter><And><Prefix>a</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`,
      ),
    ],
    [
      'ExpiredObjectDeleteMarker with a Tag',
      'InvalidRequest',
      rule(
        `<Filter>${tag('k', 'v')}</Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`,
      ),
    ],
    [
      'ExpiredObjectDeleteMarker with a size',
      'InvalidRequest',
      rule(
        `<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`,
      ),
    ],
    [
      'a legacy Prefix rule beside a Filter rule',
      'InvalidRequest',
      rule(`<Prefix>a/</Prefix>${days1}`, 'a') + rule(`<Filter><Prefix>b/</Prefix></Filter>${days1}`, 'b'),
    ],
    [
      'NewerNoncurrentVersions without a Filter',
      'InvalidRequest',
      rule(
        '<Prefix>a/</Prefix><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
      ),
    ],
  ])('refuses %s: 400 %s', async (_what, code, rules) => {
    const body = `<LifecycleConfiguration>${rules}</LifecycleConfiguration>`;
    const res = await rawRequest(g.port, { method: 'PUT', path: '/conf?lifecycle', body });
    expect([res.status, errorCode(res)]).toEqual([400, code]);
    expect((await rawRequest(g.port, { method: 'GET', path: '/conf?lifecycle' })).status).toBe(404);
  });

  it('gives the filters back as given', async () => {
    const Rules: LifecycleRule[] = [
      { ID: 'gt', Filter: { ObjectSizeGreaterThan: 2000 }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'lt', Filter: { ObjectSizeLessThan: 2000 }, Status: 'Enabled', Expiration: { Days: 2 } },
      {
        ID: 'tags',
        Filter: {
          And: {
            Tags: [
              { Key: 'b', Value: '2' },
              { Key: 'a', Value: '1' },
            ],
          },
        },
        Status: 'Enabled',
        Expiration: { Days: 3 },
      },
      {
        ID: 'prefix-size',
        Filter: { And: { Prefix: 'p/', ObjectSizeLessThan: 9 } },
        Status: 'Disabled',
        Expiration: { Days: 4 },
      },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'conf', LifecycleConfiguration: { Rules } }));
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'conf' }))).Rules).toEqual(Rules);
  });
});

describe('gateway: x-amz-expiration by tags and size', () => {
  let s3: S3Client;
  gatewayForSuite({ buckets: ['hdr'] }, (t) => (s3 = t.s3));

  it('names only a rule whose filter matches the object, in 24-hour days even with a short test day', async () => {
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'hdr',
        LifecycleConfiguration: {
          Rules: [
            { ID: 'tagged', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Status: 'Enabled', Expiration: { Days: 1 } },
            { ID: 'big', Filter: { ObjectSizeGreaterThan: 10 }, Status: 'Enabled', Expiration: { Days: 5 } },
          ],
        },
      }),
    );
    const expected = (modified: Date, days: number, id: string): string =>
      `expiry-date="${new Date(Math.ceil((modified.getTime() + days * REAL_DAY_MS) / REAL_DAY_MS) * REAL_DAY_MS).toUTCString()}", rule-id="${id}"`;
    const previous = process.env['QSTOR_LIFECYCLE_DAY_SECONDS'];
    process.env['QSTOR_LIFECYCLE_DAY_SECONDS'] = '10';
    try {
      const put = await s3.send(
        new PutObjectCommand({ Bucket: 'hdr', Key: 'small-tagged', Body: 'x', Tagging: 'tmp=yes' }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'hdr', Key: 'small-tagged' }));
      expect(put.Expiration).toBe(expected(head.LastModified!, 1, 'tagged'));
      expect(head.Expiration).toBe(expected(head.LastModified!, 1, 'tagged'));
      // Size: strictly greater than 10 bytes.
      await s3.send(new PutObjectCommand({ Bucket: 'hdr', Key: 'ten', Body: Buffer.alloc(10) }));
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'hdr', Key: 'ten' }))).Expiration).toBeUndefined();
      await s3.send(new PutObjectCommand({ Bucket: 'hdr', Key: 'eleven', Body: Buffer.alloc(11) }));
      const get = await s3.send(new GetObjectCommand({ Bucket: 'hdr', Key: 'eleven' }));
      expect(get.Expiration).toBe(expected(get.LastModified!, 5, 'big'));
      // A tag set later counts, and a wrong value does not.
      await s3.send(
        new PutObjectTaggingCommand({ Bucket: 'hdr', Key: 'ten', Tagging: { TagSet: [{ Key: 'tmp', Value: 'no' }] } }),
      );
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'hdr', Key: 'ten' }))).Expiration).toBeUndefined();
      await s3.send(
        new PutObjectTaggingCommand({ Bucket: 'hdr', Key: 'ten', Tagging: { TagSet: [{ Key: 'tmp', Value: 'yes' }] } }),
      );
      const tagged = await s3.send(new HeadObjectCommand({ Bucket: 'hdr', Key: 'ten' }));
      expect(tagged.Expiration).toBe(expected(tagged.LastModified!, 1, 'tagged'));
    } finally {
      if (previous === undefined) delete process.env['QSTOR_LIFECYCLE_DAY_SECONDS'];
      else process.env['QSTOR_LIFECYCLE_DAY_SECONDS'] = previous;
    }
  });
});

describe('gateway: the lifecycle worker applies tag and size filters', () => {
  let s3: S3Client;
  let port: number;
  let store: ObjectStore;
  let worker: LifecycleWorker;
  gatewayForSuite({}, (t) => {
    s3 = t.s3;
    port = t.g.port;
    store = t.g.h.store;
    worker = new LifecycleWorker(t.g.h.store, { dayMs: DAY_MS, pageSize: 3 });
  });

  async function bucket(Bucket: string, Rules: LifecycleRule[], versioned = false): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket }));
    if (versioned)
      await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
  }

  /** Every key left, each with its bytes. */
  async function survivors(Bucket: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    for (const v of list.Versions ?? []) {
      if (!v.IsLatest) continue;
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: v.Key! }));
      out[v.Key!] = Buffer.from(await got.Body!.transformToByteArray()).toString('hex');
    }
    return out;
  }

  const body = (size: number, fill: number): Buffer => Buffer.alloc(size, fill);
  const hex = (b: Buffer | string): string => Buffer.from(b).toString('hex');

  it('expires exactly the objects each filter selects, and keeps the bytes of the others', async () => {
    await bucket('by-tag', [
      { ID: 't', Filter: { Tag: { Key: 'expire', Value: 'yes' } }, Status: 'Enabled', Expiration: { Days: 1 } },
    ]);
    await bucket('by-tags', [
      {
        ID: 'and',
        Filter: {
          And: {
            Prefix: 'docs/',
            Tags: [
              { Key: 'a', Value: '1' },
              { Key: 'b', Value: '2' },
            ],
          },
        },
        Status: 'Enabled',
        Expiration: { Days: 1 },
      },
    ]);
    await bucket('by-range', [
      {
        ID: 'range',
        Filter: { And: { ObjectSizeGreaterThan: 100, ObjectSizeLessThan: 1000 } },
        Status: 'Enabled',
        Expiration: { Days: 1 },
      },
    ]);
    await bucket('by-lt', [
      { ID: 'lt', Filter: { ObjectSizeLessThan: 10 }, Status: 'Enabled', Expiration: { Days: 1 } },
    ]);
    // The SDK's types require a Value: this rule goes as XML.
    await s3.send(new CreateBucketCommand({ Bucket: 'by-empty-value' }));
    const noValue = rule('<Filter><Tag><Key>k</Key></Tag></Filter>' + days1, 'novalue');
    const res = await rawRequest(port, {
      method: 'PUT',
      path: '/by-empty-value?lifecycle',
      body: `<LifecycleConfiguration>${noValue}</LifecycleConfiguration>`,
    });
    expect(res.status).toBe(200);

    const start = Date.now();
    const put = (Bucket: string, Key: string, Body: Buffer | string, Tagging?: string): Promise<unknown> =>
      s3.send(new PutObjectCommand({ Bucket, Key, Body, Tagging }));
    await put('by-tag', 'yes', 'a', 'expire=yes');
    await put('by-tag', 'yes-and-more', 'b', 'other=1&expire=yes');
    await put('by-tag', 'no', 'c', 'expire=no');
    await put('by-tag', 'untagged', 'd');
    await put('by-tag', 'key-is-value', 'e', 'yes=expire');
    await put('by-tags', 'docs/both', 'f', 'a=1&b=2');
    await put('by-tags', 'docs/one', 'g', 'a=1');
    await put('by-tags', 'docs/wrong', 'h', 'a=1&b=3');
    await put('by-tags', 'other/both', 'i', 'a=1&b=2');
    for (const size of [50, 100, 101, 999, 1000]) await put('by-range', `s${size}`, body(size, size % 251));
    for (const size of [0, 9, 10]) await put('by-lt', `s${size}`, body(size, 7));
    await put('by-empty-value', 'empty', 'j', 'k=');
    await put('by-empty-value', 'valued', 'k', 'k=x');

    // Nothing is due before its day.
    await worker.runOnce(start);
    expect(Object.keys(await survivors('by-tag'))).toHaveLength(5);

    const done = await worker.runOnce(Date.now() + 3 * DAY_MS);
    expect(await survivors('by-tag')).toEqual({ no: hex('c'), untagged: hex('d'), 'key-is-value': hex('e') });
    expect(await survivors('by-tags')).toEqual({
      'docs/one': hex('g'),
      'docs/wrong': hex('h'),
      'other/both': hex('i'),
    });
    // Both bounds strict.
    expect(await survivors('by-range')).toEqual({
      s50: hex(body(50, 50)),
      s100: hex(body(100, 100)),
      s1000: hex(body(1000, 1000 % 251)),
    });
    expect(await survivors('by-lt')).toEqual({ s10: hex(body(10, 7)) });
    // A Tag without Value selects the key with an empty value only (AWS).
    expect(await survivors('by-empty-value')).toEqual({ valued: hex('k') });
    expect(done.get('by-range')?.expired).toBe(2);
  });

  it('judges each noncurrent version by its own tags and size', async () => {
    await bucket(
      'noncurrent',
      [
        {
          ID: 'old-tmp',
          Filter: { And: { Tags: [{ Key: 'tmp', Value: 'yes' }], ObjectSizeGreaterThan: 1 } },
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        },
      ],
      true,
    );
    const ids: string[] = [];
    const put = async (Body: string, Tagging?: string): Promise<void> => {
      ids.push((await s3.send(new PutObjectCommand({ Bucket: 'noncurrent', Key: 'k', Body, Tagging }))).VersionId!);
    };
    await put('tagged', 'tmp=yes');
    await put('untagged');
    await put('x', 'tmp=yes'); // tagged but one byte: not above the bound
    await put('tagged again', 'tmp=yes');
    await put('current, tagged', 'tmp=yes');
    await worker.runOnce(Date.now() + 3 * DAY_MS);
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: 'noncurrent' }));
    // The current version is never a noncurrent version's business; the untagged and the small stay.
    expect((left.Versions ?? []).map((v) => v.VersionId)).toEqual([ids[4], ids[2], ids[1]]);
    const current = await s3.send(new GetObjectCommand({ Bucket: 'noncurrent', Key: 'k' }));
    expect(await current.Body!.transformToString()).toBe('current, tagged');
  });

  it('reads the tags of a version only when they decide (not one query per object listed)', async () => {
    await bucket('many', [
      {
        ID: 'x-tagged',
        Filter: { And: { Prefix: 'x/', Tags: [{ Key: 't', Value: '1' }] } },
        Status: 'Enabled',
        Expiration: { Days: 5 },
      },
    ]);
    for (let i = 0; i < 10; i++) {
      await s3.send(new PutObjectCommand({ Bucket: 'many', Key: `x/${i}`, Body: 'x', Tagging: i % 2 ? 't=1' : 't=0' }));
      await s3.send(new PutObjectCommand({ Bucket: 'many', Key: `y/${i}`, Body: 'y', Tagging: 't=1' }));
    }
    const meta = store.meta;
    const getVersion = meta.getVersion.bind(meta);
    let reads = 0;
    meta.getVersion = (...args) => {
      // The other buckets of this suite are walked too.
      if (args[0] === 'many') reads++;
      return getVersion(...args);
    };
    try {
      // Not due yet: no tag is read.
      await worker.runOnce(Date.now() + 2 * DAY_MS);
      expect(reads).toBe(0);
      // Due: only the versions the prefix leaves to the tags are read.
      const done = await worker.runOnce(Date.now() + 7 * DAY_MS);
      expect(reads).toBe(10);
      expect(done.get('many')?.expired).toBe(5);
    } finally {
      meta.getVersion = getVersion;
    }
    expect(Object.keys(await survivors('many')).sort()).toEqual(
      [0, 2, 4, 6, 8]
        .map((i) => `x/${i}`)
        .concat([...Array(10).keys()].map((i) => `y/${i}`))
        .sort(),
    );
  });
});
