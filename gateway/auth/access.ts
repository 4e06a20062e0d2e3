import type { MetaStore } from '../../src/meta/meta-store.js';
import { S3Error } from '../errors.js';
import type { Operation } from '../router.js';
import type { Identity } from './credentials.js';

/**
 * The grant a bucket operation needs: `root` only root has; `create` is an account-level right,
 * root's and that of the keys given it; `none` is checked by the operation.
 */
export type Right = 'read' | 'write' | 'owner' | 'create' | 'root' | 'none';

export const NEEDED: Record<Operation, Right> = {
  ListBuckets: 'none', // answers with the buckets the key may see
  CreateBucket: 'create', // the key creating a bucket owns it (read, write and owner grants on it)
  HeadBucket: 'read',
  DeleteBucket: 'owner',
  GetBucketLocation: 'read',
  GetBucketVersioning: 'read',
  PutBucketVersioning: 'owner',
  GetObjectLockConfiguration: 'read',
  PutObjectLockConfiguration: 'owner',
  GetObjectRetention: 'read',
  PutObjectRetention: 'write', // bypassing a GOVERNANCE retention needs owner, checked by the operation
  GetObjectLegalHold: 'read',
  PutObjectLegalHold: 'write',
  GetBucketCors: 'read',
  PutBucketCors: 'owner',
  DeleteBucketCors: 'owner',
  GetBucketWebsite: 'read',
  PutBucketWebsite: 'owner',
  DeleteBucketWebsite: 'owner',
  GetBucketPolicy: 'owner',
  PutBucketPolicy: 'owner',
  DeleteBucketPolicy: 'owner',
  GetBucketPolicyStatus: 'owner',
  GetBucketAcl: 'owner',
  PutBucketAcl: 'owner',
  GetObjectAcl: 'read',
  PutObjectAcl: 'owner',
  GetBucketTagging: 'read',
  GetPublicAccessBlock: 'owner',
  PutPublicAccessBlock: 'owner',
  DeletePublicAccessBlock: 'owner',
  GetBucketOwnershipControls: 'owner',
  PutBucketOwnershipControls: 'owner',
  DeleteBucketOwnershipControls: 'owner',
  PutBucketTagging: 'owner',
  DeleteBucketTagging: 'owner',
  GetBucketLifecycle: 'read',
  PutBucketLifecycle: 'owner',
  DeleteBucketLifecycle: 'owner',
  GetBucketEncryption: 'read',
  PutBucketEncryption: 'owner',
  DeleteBucketEncryption: 'owner',
  GetObjectTagging: 'read',
  PutObjectTagging: 'write',
  DeleteObjectTagging: 'write',
  PreflightCors: 'none', // unauthenticated by design: answered from the bucket's CORS rules
  ListObjects: 'read',
  ListObjectsV2: 'read',
  ListObjectVersions: 'read',
  ListMultipartUploads: 'read',
  ListParts: 'read',
  GetObject: 'read',
  HeadObject: 'read',
  PutObject: 'write',
  PostObject: 'none', // the form's signed policy names the key, whose write right the operation checks
  CopyObject: 'write', // and read on the source, checked by the copy
  DeleteObject: 'write',
  GetObjectAttributes: 'read',
  DeleteObjects: 'none', // s3:DeleteObject on each key, checked by the operation
  CreateMultipartUpload: 'write',
  UploadPart: 'write',
  UploadPartCopy: 'write', // and read on the source, checked by the copy
  CompleteMultipartUpload: 'write',
  AbortMultipartUpload: 'write',
  Unsupported: 'none',
};

/** Throws AccessDenied unless the key holds `right` on the bucket. Root holds every right. */
export async function authorize(
  meta: MetaStore,
  identity: Identity,
  bucket: string | null,
  right: Right,
): Promise<void> {
  if (identity.root || right === 'none') return;
  if (right === 'create' && identity.createBuckets === true) return;
  if (
    right !== 'root' &&
    right !== 'create' &&
    bucket !== null &&
    (await meta.check(identity.accessKeyId, bucket))[right]
  )
    return;
  throw new S3Error('AccessDenied', 'Access Denied');
}
