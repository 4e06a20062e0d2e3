import {
  CreateBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  type ListBucketsCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  gatewayForSuite,
  grantKey,
  rawRequest,
  type Creds,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

const KEYS = ['a/1', 'a/2', 'b', 'c', 'd'];

/** The text of every <tag> of an XML document, in order. */
function all(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!);
}

describe('gateway: listing conformance (s3-tests, AWS ListBuckets pagination, bucket names)', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let reader: Creds;
  gatewayForSuite(
    {
      buckets: ['list-c', 'list-a', 'list-b', 'other'],
      objects: KEYS.map((key): [string, string, string] => ['list-a', key, key]),
      async setup({ g }) {
        reader = await grantKey(g, 'LISTREADER', { 'list-b': { read: true }, 'list-c': { read: true } });
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('allow-unordered=true lists in order (a valid unordered listing), and with a delimiter is 400 InvalidArgument', async () => {
    for (const list of ['', 'list-type=2&']) {
      const plain = await rawRequest(g.port, { method: 'GET', path: `/list-a?${list}allow-unordered=true&max-keys=3` });
      expect(plain.status).toBe(200);
      expect(all(plain.body.toString(), 'Key')).toEqual(['a/1', 'a/2', 'b']);
      const marker = list === '' ? 'marker=b' : 'start-after=b';
      const next = await rawRequest(g.port, { method: 'GET', path: `/list-a?${list}allow-unordered=true&${marker}` });
      expect(all(next.body.toString(), 'Key')).toEqual(['c', 'd']);
      const delimited = await rawRequest(g.port, {
        method: 'GET',
        path: `/list-a?${list}allow-unordered=true&delimiter=%2F`,
      });
      expect([delimited.status, errorCode(delimited)], list).toEqual([400, 'InvalidArgument']);
    }
    // Without allow-unordered, or with it false, a delimiter is fine.
    const ordered = await rawRequest(g.port, { method: 'GET', path: '/list-a?allow-unordered=false&delimiter=%2F' });
    expect(ordered.status).toBe(200);
    expect(all(ordered.body.toString(), 'Prefix')).toEqual(['', 'a/']);
  });

  it('ListObjectsV2 with an empty continuation-token lists from the start and echoes the empty token', async () => {
    const res = await rawRequest(g.port, { method: 'GET', path: '/list-a?list-type=2&continuation-token=' });
    expect(res.status).toBe(200);
    const xml = res.body.toString();
    expect(xml).toMatch(/<ContinuationToken><\/ContinuationToken>|<ContinuationToken\/>/);
    expect(all(xml, 'Key')).toEqual(KEYS);
    expect(all(xml, 'IsTruncated')).toEqual(['false']);
    // An empty token is no token: StartAfter still counts.
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'list-a', ContinuationToken: '', StartAfter: 'c' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['d']);
    // A token that is not one of ours is still refused.
    const bad = await rawRequest(g.port, { method: 'GET', path: '/list-a?list-type=2&continuation-token=%21%21' });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'InvalidArgument']);
  });

  it('ListBuckets pages by max-buckets and continuation-token, by name, within prefix and bucket-region', async () => {
    const names = async (input: ListBucketsCommandInput) => {
      const out = await s3.send(new ListBucketsCommand(input));
      return { names: out.Buckets?.map((b) => b.Name ?? ''), token: out.ContinuationToken, out };
    };
    // Unpaginated: every bucket, no token, as before.
    const every = await names({});
    expect(every.names).toEqual(['list-a', 'list-b', 'list-c', 'other']);
    expect(every.token).toBeUndefined();
    expect(every.out.Buckets?.[0]?.BucketRegion).toBe('us-east-1');

    const seen: string[] = [];
    let page = await names({ MaxBuckets: 3 });
    seen.push(...page.names!);
    expect(page.token).toBeDefined();
    page = await names({ MaxBuckets: 3, ContinuationToken: page.token });
    seen.push(...page.names!);
    expect(page.token).toBeUndefined();
    expect(seen).toEqual(['list-a', 'list-b', 'list-c', 'other']);

    const first = await names({ MaxBuckets: 1, Prefix: 'list-' });
    expect([first.names, first.out.Prefix]).toEqual([['list-a'], 'list-']);
    const rest = await names({ MaxBuckets: 5, Prefix: 'list-', ContinuationToken: first.token });
    expect([rest.names, rest.token]).toEqual([['list-b', 'list-c'], undefined]);

    expect((await names({ BucketRegion: 'us-east-1' })).names).toHaveLength(4);
    expect((await names({ BucketRegion: 'eu-west-1' })).names ?? []).toEqual([]);

    // A key sees, and pages through, only its granted buckets.
    const mine = await g.client(reader).send(new ListBucketsCommand({ MaxBuckets: 1 }));
    expect(mine.Buckets?.map((b) => b.Name)).toEqual(['list-b']);
    const more = await g
      .client(reader)
      .send(new ListBucketsCommand({ MaxBuckets: 1, ContinuationToken: mine.ContinuationToken }));
    expect([more.Buckets?.map((b) => b.Name), more.ContinuationToken]).toEqual([['list-c'], undefined]);
  });

  it('ListBuckets refuses max-buckets outside 1..10000 and a token not of ours with 400 InvalidArgument', async () => {
    for (const query of ['max-buckets=0', 'max-buckets=10001', 'max-buckets=x', 'continuation-token=%21']) {
      const res = await rawRequest(g.port, { method: 'GET', path: `/?${query}` });
      expect([res.status, errorCode(res)], query).toEqual([400, 'InvalidArgument']);
    }
  });

  it('refuses bucket names with a dash beside a dot, and the names AWS reserves, with 400 InvalidBucketName', async () => {
    for (const name of [
      'foo.-bar',
      'foo-.bar',
      '-foo.bar',
      'foo.bar-',
      'amzn-s3-demo-x',
      'x.mrap',
      'x--x-s3',
      'x--table-s3',
    ]) {
      const res = await rawRequest(g.port, { method: 'PUT', path: `/${name}` });
      expect([res.status, errorCode(res)], name).toEqual([400, 'InvalidBucketName']);
    }
    for (const name of ['foo.bar', 'foo-bar.baz', 'a-b-c', '1.2.3.x']) {
      await s3.send(new CreateBucketCommand({ Bucket: `${name}` }));
      expect(await g.h.meta.getBucket(name), name).not.toBeNull();
    }
  });
});
