import { describe, expect, it } from 'vitest';
import { readXml } from '../../gateway/xml.js';
import { LIFECYCLE_ARRAYS, LifecycleError, parseLifecycle } from '../../src/lifecycle/index.js';
import { afterDays, currentExpiry, expirationHeader, matches } from '../../src/lifecycle/rules.js';
import type { LifecycleRule } from '../../src/meta/meta-store.js';

const DAY = 24 * 3600 * 1000;

async function parse(rules: string): Promise<LifecycleRule[]> {
  const doc = await readXml(
    (async function* () {
      yield Buffer.from(`<LifecycleConfiguration>${rules}</LifecycleConfiguration>`);
    })(),
    LIFECYCLE_ARRAYS,
  );
  return parseLifecycle(doc);
}

async function codeOf(rules: string): Promise<string> {
  try {
    await parse(rules);
  } catch (e) {
    if (e instanceof LifecycleError) return e.code;
    throw e;
  }
  return 'accepted';
}

/** A rule; an empty Filter (every object) unless it names its own filter. */
const rule = (inner: string, id = 'r'): string =>
  `<Rule><ID>${id}</ID>${/<(Filter|Prefix)>/.test(inner) ? '' : '<Filter></Filter>'}${inner}</Rule>`;
const expireDays = '<Expiration><Days>3</Days></Expiration>';

describe('lifecycle configuration', () => {
  it('parses every filter form and action', async () => {
    // A legacy top-level Prefix goes in a configuration of its own (AWS refuses them mixed).
    expect(await parse(rule(`<Prefix>logs/</Prefix><Status>Enabled</Status>${expireDays}`, 'legacy'))).toEqual([
      { id: 'legacy', enabled: true, filter: { prefix: 'logs/' }, filterForm: 'prefix', expiration: { days: 3 } },
    ]);
    const rules = await parse(
      rule(`<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Disabled</Status>${expireDays}`, 'tag') +
        rule(
          '<Filter><And><Prefix>a/</Prefix><Tag><Key>x</Key><Value>1</Value></Tag><Tag><Key>y</Key><Value>2</Value></Tag>' +
            '<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>' +
            '<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays>' +
            '<NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
          'and',
        ) +
        rule(
          '<Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>' +
            '<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
          'all',
        ) +
        rule('<Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>', 'date'),
    );
    expect(rules).toEqual([
      {
        id: 'tag',
        enabled: false,
        filter: { tags: [{ key: 'k', value: 'v' }] },
        filterForm: 'filter',
        expiration: { days: 3 },
      },
      {
        id: 'and',
        enabled: true,
        filter: {
          prefix: 'a/',
          tags: [
            { key: 'x', value: '1' },
            { key: 'y', value: '2' },
          ],
          objectSizeGreaterThan: 10,
          objectSizeLessThan: 100,
        },
        filterForm: 'and',
        noncurrentExpiration: { noncurrentDays: 2, newerNoncurrentVersions: 3 },
      },
      {
        id: 'all',
        enabled: true,
        filter: {},
        filterForm: 'filter',
        expiration: { expiredObjectDeleteMarker: true },
        abortIncompleteUploadDays: 1,
      },
      { id: 'date', enabled: true, filter: {}, filterForm: 'filter', expiration: { date: Date.UTC(2030, 0, 1) } },
    ]);
  });

  it('gives a rule without ID one', async () => {
    const [r] = await parse(`<Rule><Filter></Filter><Status>Enabled</Status>${expireDays}</Rule>`);
    expect(r!.id).toMatch(/^[\w-]{16}$/);
  });

  it.each([
    ['no rule', '', 'MalformedXML'],
    ['a Status not in the schema', rule(`<Status>enabled</Status>${expireDays}`), 'MalformedXML'],
    ['no Status', rule(expireDays), 'MalformedXML'],
    ['no action', rule('<Status>Enabled</Status>'), 'InvalidArgument'],
    ['Days 0', rule('<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'), 'InvalidArgument'],
    ['Days -1', rule('<Status>Enabled</Status><Expiration><Days>-1</Days></Expiration>'), 'InvalidArgument'],
    [
      'a Date not at midnight',
      rule('<Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>'),
      'InvalidArgument',
    ],
    [
      'a Date that is none',
      rule('<Status>Enabled</Status><Expiration><Date>soon</Date></Expiration>'),
      'InvalidArgument',
    ],
    [
      'Days and Date',
      rule('<Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>'),
      'MalformedXML',
    ],
    [
      'ExpiredObjectDeleteMarker with Days',
      rule(
        '<Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
      ),
      'InvalidArgument',
    ],
    [
      'ExpiredObjectDeleteMarker with a tag filter',
      rule(
        '<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
      ),
      'InvalidRequest',
    ],
    ['an empty Expiration', rule('<Status>Enabled</Status><Expiration></Expiration>'), 'MalformedXML'],
    [
      'NoncurrentDays 0',
      rule(
        '<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>',
      ),
      'InvalidArgument',
    ],
    [
      'NewerNoncurrentVersions 101',
      rule(
        '<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
      ),
      'InvalidArgument',
    ],
    [
      'DaysAfterInitiation 0',
      rule(
        '<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      ),
      'InvalidArgument',
    ],
    [
      'an upload abort with a tag filter',
      rule(
        '<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      ),
      'InvalidRequest',
    ],
    [
      'Prefix and Filter',
      rule(`<Prefix>a</Prefix><Filter><Prefix>b</Prefix></Filter><Status>Enabled</Status>${expireDays}`),
      'MalformedXML',
    ],
    [
      'two conditions without And',
      rule(
        `<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status>${expireDays}`,
      ),
      'MalformedXML',
    ],
    [
      'sizes that leave nothing',
      rule(
        `<Filter><And><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>${expireDays}`,
      ),
      'InvalidRequest',
    ],
    [
      'a rule with neither Filter nor Prefix',
      `<Rule><ID>r</ID><Status>Enabled</Status>${expireDays}</Rule>`,
      'MalformedXML',
    ],
    [
      'an And of one predicate',
      rule(`<Filter><And><Prefix>a</Prefix></And></Filter><Status>Enabled</Status>${expireDays}`),
      'MalformedXML',
    ],
    ['an ID of 256 characters', rule(`<Status>Enabled</Status>${expireDays}`, 'x'.repeat(256)), 'InvalidArgument'],
    [
      'two rules with one ID',
      rule(`<Status>Enabled</Status>${expireDays}`) + rule(`<Status>Enabled</Status>${expireDays}`),
      'InvalidArgument',
    ],
    [
      'a transition',
      rule('<Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>'),
      'NotImplemented',
    ],
  ])('refuses %s', async (_what, rules, code) => {
    expect(await codeOf(rules)).toBe(code);
  });

  it('takes 1000 rules, refuses 1001', async () => {
    const many = (n: number): string =>
      Array.from({ length: n }, (_, i) => rule(`<Status>Enabled</Status>${expireDays}`, `r${i}`)).join('');
    expect(await parse(many(1000))).toHaveLength(1000);
    expect(await codeOf(many(1001))).toBe('MalformedXML');
  });
});

describe('lifecycle rules', () => {
  it('expires at the midnight UTC after mtime + Days, as AWS rounds', () => {
    const mtime = Date.UTC(2014, 0, 15, 10, 30);
    expect(afterDays(mtime, 3, DAY)).toBe(Date.UTC(2014, 0, 19));
    expect(afterDays(Date.UTC(2014, 0, 15), 3, DAY)).toBe(Date.UTC(2014, 0, 18));
  });

  it('matches prefix, tags and size together', () => {
    const filter = { prefix: 'a/', tags: [{ key: 'k', value: 'v' }], objectSizeGreaterThan: 1, objectSizeLessThan: 10 };
    expect(matches(filter, { key: 'a/x', size: 5, tags: { k: 'v', o: 'p' } })).toBe(true);
    expect(matches(filter, { key: 'b/x', size: 5, tags: { k: 'v' } })).toBe(false);
    expect(matches(filter, { key: 'a/x', size: 10, tags: { k: 'v' } })).toBe(false);
    expect(matches(filter, { key: 'a/x', size: 5, tags: { k: 'w' } })).toBe(false);
    expect(matches({ objectSizeLessThan: 10 }, { key: 'marker' })).toBe(false);
  });

  it('names the earliest expiry among the enabled rules that match', () => {
    const base = { filter: {}, filterForm: 'none' as const };
    const rules: LifecycleRule[] = [
      { ...base, id: 'late', enabled: true, expiration: { days: 10 } },
      { ...base, id: 'off', enabled: false, expiration: { days: 1 } },
      { ...base, id: 'soon rule', enabled: true, expiration: { days: 2 } },
      { ...base, id: 'other', enabled: true, filter: { prefix: 'z' }, expiration: { days: 1 } },
    ];
    const mtime = Date.UTC(2012, 11, 20, 8);
    const expiry = currentExpiry(rules, { key: 'k', size: 1 }, mtime, DAY);
    expect(expiry).toEqual({ at: Date.UTC(2012, 11, 23), ruleId: 'soon rule' });
    expect(expirationHeader(expiry!)).toBe('expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="soon%20rule"');
  });
});
