import {
  CreateBucketCommand,
  GetBucketAclCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { failure, gatewayForSuite, ROOT, type GatewayHarness } from './helpers/gateway-harness.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

// AWS (ErrorResponses, BucketAlreadyOwnedByYou): in us-east-1 re-creating a bucket you own
// answers 200 OK and resets its ACL; every other region answers 409 BucketAlreadyOwnedByYou.
describe('gateway: re-creating a bucket you own', () => {
  describe('in us-east-1', () => {
    let s3: S3Client;
    gatewayForSuite({}, (t) => ({ s3 } = t));

    it('answers 200, resets the ACL to the request, keeps the objects', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'again', ACL: 'public-read' }));
      await s3.send(new PutObjectCommand({ Bucket: 'again', Key: 'kept', Body: 'x' }));
      const before = await s3.send(new GetBucketAclCommand({ Bucket: 'again' }));
      expect(before.Grants?.some((g) => g.Grantee?.URI === ALL_USERS)).toBe(true);

      await s3.send(new CreateBucketCommand({ Bucket: 'again' }));
      const after = await s3.send(new GetBucketAclCommand({ Bucket: 'again' }));
      expect(after.Grants?.map((g) => g.Permission)).toEqual(['FULL_CONTROL']);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'again' }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['kept']);

      await s3.send(new CreateBucketCommand({ Bucket: 'again', ACL: 'public-read' }));
      const reopened = await s3.send(new GetBucketAclCommand({ Bucket: 'again' }));
      expect(reopened.Grants?.some((g) => g.Grantee?.URI === ALL_USERS)).toBe(true);
    });
  });

  describe('in another region', () => {
    let g: GatewayHarness;
    gatewayForSuite({ gateway: { region: 'eu-west-1' } }, (t) => ({ g } = t));

    it('answers 409 BucketAlreadyOwnedByYou', async () => {
      const s3 = new S3Client({
        endpoint: g.endpoint,
        region: 'eu-west-1',
        forcePathStyle: true,
        credentials: ROOT,
        maxAttempts: 1,
      });
      try {
        const create = new CreateBucketCommand({
          Bucket: 'eu-bucket',
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        });
        await s3.send(create);
        expect(await failure(s3.send(create))).toBe('BucketAlreadyOwnedByYou');
      } finally {
        s3.destroy();
      }
    });
  });
});
