import { GetObjectTaggingCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  errorCode,
  failure,
  gatewayForSuite,
  grantKey,
  rawRequest,
  type Creds,
  type GatewayHarness,
} from './helpers/gateway-harness.js';

/**
 * Bucket-policy conditions on request tags and `...IfExists`, end to end through a gateway, as
 * AWS's IAM condition keys for S3 define them: `s3:RequestObjectTag/<key>` is the tag a PUT
 * carries in `x-amz-tagging`; `StringLikeIfExists` holds when the key is absent. (s3-tests'
 * test_bucket_policy_put_obj_request_obj_tag sets the tag header on another client than the one
 * that writes, and test_bucket_policy_set_condition_operator_end_with_IfExists expects the
 * bucket owner refused by an Allow that does not match: both contrary to AWS.)
 */
describe('gateway: policy conditions on request tags and IfExists', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  let writer: Creds;
  gatewayForSuite(
    {
      buckets: ['tagged-only', 'referred'],
      objects: [['referred', 'page', 'page bytes']],
      async setup(t) {
        writer = await grantKey(t.g, 'TAGWRITERKEY', {});
        const statement = (bucket: string, action: string, condition: Record<string, unknown>) => ({
          Effect: 'Allow',
          Principal: '*',
          Action: action,
          Resource: `arn:aws:s3:::${bucket}/*`,
          Condition: condition,
        });
        await t.s3.send(
          new PutBucketPolicyCommand({
            Bucket: 'tagged-only',
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                statement('tagged-only', 's3:PutObject', {
                  StringEquals: { 's3:RequestObjectTag/security': 'public' },
                  'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['security', 'team'] },
                }),
              ],
            }),
          }),
        );
        await t.s3.send(
          new PutBucketPolicyCommand({
            Bucket: 'referred',
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                statement('referred', 's3:GetObject', {
                  StringLikeIfExists: { 'aws:Referer': 'http://www.example.com/*' },
                }),
              ],
            }),
          }),
        );
      },
    },
    (t) => ({ g, s3 } = t),
  );

  it('s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys decide a PUT by the tags it carries', async () => {
    const other = g.client(writer);
    const put = (Key: string, Tagging?: string): Promise<unknown> =>
      other.send(new PutObjectCommand({ Bucket: 'tagged-only', Key, Body: Key, Tagging }));
    expect(await failure(put('untagged'))).toBe('AccessDenied');
    expect(await failure(put('private', 'security=private'))).toBe('AccessDenied');
    // A tag key outside the allowed set fails ForAllValues.
    expect(await failure(put('extra', 'security=public&owner=x'))).toBe('AccessDenied');
    await put('public', 'security=public&team=blue');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'tagged-only', Key: 'public' }));
    expect(tags.TagSet).toEqual([
      { Key: 'security', Value: 'public' },
      { Key: 'team', Value: 'blue' },
    ]);
  });

  it('StringLikeIfExists on aws:Referer: a matching or absent Referer is allowed, another refused', async () => {
    const get = (headers: Record<string, string>) =>
      rawRequest(g.port, { method: 'GET', path: '/referred/page', headers, creds: null });
    for (const referer of ['http://www.example.com/', 'http://www.example.com/index.html']) {
      const res = await get({ referer });
      expect([res.status, res.body.toString()], referer).toEqual([200, 'page bytes']);
    }
    const absent = await get({});
    expect([absent.status, absent.body.toString()]).toEqual([200, 'page bytes']);
    const other = await get({ referer: 'http://example.com' });
    expect([other.status, errorCode(other)]).toEqual([403, 'AccessDenied']);
  });
});
