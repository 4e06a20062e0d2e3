import type { Acl, AclPermission, Permissions } from '../../src/meta/meta-store.js';
import { aclAllows, canonicalId } from './acl.js';
import type { Right } from './access.js';
import { evaluatePolicy, type Policy } from './policy.js';
import type { RequestContext } from './policy-conditions.js';

/**
 * The one authorisation decision, pure: AWS's evaluation logic over the three sources of Allow
 * this store has. An explicit Deny in the bucket policy wins over everything (root and the key
 * owning the bucket keep the right to manage the policy, as the owner account's root user does
 * on AWS, so neither can lock itself out); then root,
 * the key's grants (`qstor admin bucket allow`), the policy's Allow and the ACLs each allow;
 * nothing else does (default deny).
 */

/** The account every key of this store belongs to, for ARNs in policies. */
export const ACCOUNT_ID = '000000000000';

export type Principal =
  | { kind: 'root'; accessKeyId: string }
  | { kind: 'key'; accessKeyId: string; grants: Permissions }
  | { kind: 'anonymous' };

export interface AccessRequest {
  principal: Principal;
  /** The IAM action (`s3:GetObject`). */
  action: string;
  /** The grant a key needs for it (see `NEEDED` in access.ts). */
  right: Right;
  bucket: string;
  /** The access key id of the bucket's owner (root's or the key's that created it). */
  bucketOwner?: string;
  /** The object, for object actions. */
  key: string | null;
  context: RequestContext;
  policy: Policy | null;
  bucketAcl: Acl;
  /** The object's ACL, when the object exists and its ACL matters (object-level actions). */
  objectAcl: Acl | null;
  /** PublicAccessBlock's IgnorePublicAcls: grants to AllUsers/AuthenticatedUsers count for nothing. */
  ignorePublicAcls?: boolean;
  /** PublicAccessBlock's RestrictPublicBuckets on a public policy: its Allow is not for anonymous requests. */
  restrictPublicPolicy?: boolean;
  /** Object Ownership BucketOwnerEnforced: ACLs allow nothing. */
  aclsDisabled?: boolean;
}

export type Decision =
  { allowed: true; by: 'root' | 'grant' | 'policy' | 'acl' } | { allowed: false; by: 'explicit-deny' | 'default' };

/** What a policy's Principal may name for each principal: its ARN, key id or canonical id. */
export function principalIds(p: Principal): string[] {
  if (p.kind === 'anonymous') return [];
  const arn =
    p.kind === 'root' ? `arn:aws:iam::${ACCOUNT_ID}:root` : `arn:aws:iam::${ACCOUNT_ID}:user/${p.accessKeyId}`;
  return [arn, p.accessKeyId, canonicalId(p.accessKeyId)];
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
export function resourceArn(bucket: string, key: string | null): string {
  return key === null ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/** Actions the bucket's owner may take whatever the policy says: the way back from a policy that denies all. */
const POLICY_ADMIN = new Set(['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy']);

/** What each ACL permission allows, on the bucket's ACL and on the object's (AWS's mapping). */
const BUCKET_ACL: Record<string, AclPermission> = {
  's3:ListBucket': 'READ',
  's3:ListBucketVersions': 'READ',
  's3:ListBucketMultipartUploads': 'READ',
  's3:PutObject': 'WRITE',
  's3:DeleteObject': 'WRITE',
  's3:DeleteObjectVersion': 'WRITE',
  's3:AbortMultipartUpload': 'WRITE',
  's3:ListMultipartUploadParts': 'WRITE',
  's3:GetBucketAcl': 'READ_ACP',
  's3:PutBucketAcl': 'WRITE_ACP',
};
const OBJECT_ACL: Record<string, AclPermission> = {
  's3:GetObject': 'READ',
  's3:GetObjectVersion': 'READ',
  's3:GetObjectAcl': 'READ_ACP',
  's3:GetObjectVersionAcl': 'READ_ACP',
  's3:PutObjectAcl': 'WRITE_ACP',
  's3:PutObjectVersionAcl': 'WRITE_ACP',
};

/** Whether an object-level action's decision may depend on the object's ACL (so load it). */
export function readsObjectAcl(action: string): boolean {
  return action in OBJECT_ACL;
}

export function decide(r: AccessRequest): Decision {
  const p = r.principal;
  const verdict =
    r.policy &&
    evaluatePolicy(r.policy, {
      principalIds: principalIds(p),
      action: r.action,
      resource: resourceArn(r.bucket, r.key),
      context: r.context,
    });
  const owner = p.kind === 'root' || (p.kind === 'key' && p.accessKeyId === r.bucketOwner);
  if (verdict === 'Deny' && !(owner && POLICY_ADMIN.has(r.action))) return { allowed: false, by: 'explicit-deny' };
  if (p.kind === 'root') return { allowed: true, by: 'root' };
  if (p.kind === 'key' && grantAllows(p.grants, r.right)) return { allowed: true, by: 'grant' };
  if (verdict === 'Allow' && !(r.restrictPublicPolicy && p.kind === 'anonymous'))
    return { allowed: true, by: 'policy' };
  if (r.aclsDisabled) return { allowed: false, by: 'default' };
  const requester = p.kind === 'key' ? canonicalId(p.accessKeyId) : null;
  const bucketPermission = BUCKET_ACL[r.action];
  if (bucketPermission && aclAllows(r.bucketAcl, requester, bucketPermission, r.ignorePublicAcls))
    return { allowed: true, by: 'acl' };
  const objectPermission = OBJECT_ACL[r.action];
  if (objectPermission && r.objectAcl && aclAllows(r.objectAcl, requester, objectPermission, r.ignorePublicAcls))
    return { allowed: true, by: 'acl' };
  return { allowed: false, by: 'default' };
}

/** Whether a key's grants on a bucket hold `right` (root-only, account-level and unchecked rights are not a bucket's). */
export function grantAllows(grants: Permissions, right: Right): boolean {
  return right !== 'root' && right !== 'create' && right !== 'none' && grants[right];
}
