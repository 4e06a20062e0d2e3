import { createHash } from 'node:crypto';
import type { Acl, AclGrant, AclPermission } from '../../src/meta/meta-store.js';
import { S3Error } from '../errors.js';

/**
 * Access control lists as S3 has them: an owner and grants of READ, WRITE, READ_ACP, WRITE_ACP
 * or FULL_CONTROL to canonical users and to the AllUsers / AuthenticatedUsers groups. Pure.
 */

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

export const PERMISSIONS: readonly AclPermission[] = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'];

export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** An owner: a stable canonical id (64 hex, as AWS's) and display name per access key. */
export interface Owner {
  id: string;
  displayName: string;
}

export function ownerOf(accessKeyId: string): Owner {
  return { id: canonicalId(accessKeyId), displayName: accessKeyId };
}

export function canonicalId(accessKeyId: string): string {
  return createHash('sha256').update(`qstor canonical user\0${accessKeyId}`).digest('hex');
}

/** Who asks, as an ACL sees them: a canonical user, or anonymous (null). */
export type AclRequester = string | null;

/** Whether `acl` gives `requester` the permission (FULL_CONTROL gives every one). */
export function aclAllows(acl: Acl, requester: AclRequester, permission: AclPermission, ignorePublic = false): boolean {
  return acl.grants.some((g) => {
    if (g.permission !== permission && g.permission !== 'FULL_CONTROL') return false;
    if (g.grantee.type === 'CanonicalUser') return requester !== null && g.grantee.id === requester;
    if (ignorePublic) return false;
    return g.grantee.uri === ALL_USERS || (g.grantee.uri === AUTHENTICATED_USERS && requester !== null);
  });
}

/** Whether the ACL grants anything to AllUsers or AuthenticatedUsers (PublicAccessBlock's "public"). */
export function isPublicAcl(acl: Acl): boolean {
  return acl.grants.some((g) => g.grantee.type === 'Group');
}

/**
 * The ACL a canned name stands for. `bucketOwner` is the owner of the bucket an object is in
 * (the bucket-owner-* ACLs name it; on a bucket they are private).
 */
export function cannedAcl(name: string, owner: Owner, bucketOwner: Owner = owner): Acl {
  if (!(CANNED_ACLS as readonly string[]).includes(name))
    throw new S3Error('InvalidArgument', `Invalid canned ACL: ${name}`);
  // The owner's grant comes last (RGW's order, which clients such as ceph/s3-tests read by
  // position); the order of grants means nothing to access.
  const grants: AclGrant[] = [];
  const group = (uri: string, permission: AclPermission): AclGrant => ({ grantee: { type: 'Group', uri }, permission });
  switch (name as CannedAcl) {
    case 'public-read':
      grants.push(group(ALL_USERS, 'READ'));
      break;
    case 'public-read-write':
      grants.push(group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE'));
      break;
    case 'authenticated-read':
      grants.push(group(AUTHENTICATED_USERS, 'READ'));
      break;
    case 'bucket-owner-read':
      if (bucketOwner.id !== owner.id) grants.push(user(bucketOwner, 'READ'));
      break;
    case 'bucket-owner-full-control':
      if (bucketOwner.id !== owner.id) grants.push(user(bucketOwner, 'FULL_CONTROL'));
      break;
    case 'private':
      break;
  }
  grants.push(user(owner, 'FULL_CONTROL'));
  return { owner, grants };
}

function user(owner: Owner, permission: AclPermission): AclGrant {
  return { grantee: { type: 'CanonicalUser', id: owner.id, displayName: owner.displayName }, permission };
}

/** The `x-amz-grant-*` headers and the permission each gives. */
export const GRANT_HEADERS: ReadonlyArray<[string, AclPermission]> = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

/** Who a grant may name: the owners of this store's keys, by canonical id or e-mail address. */
export interface GranteeDirectory {
  byId(id: string): Owner | undefined;
  byEmail(email: string): Owner | undefined;
}

/**
 * The canonical user a grant names by id (its display name filled in) or by e-mail address;
 * AWS's InvalidArgument / UnresolvableGrantByEmailAddress when no key's owner is that.
 */
export function granteeUser(directory: GranteeDirectory, by: 'id' | 'email', value: string): AclGrant['grantee'] {
  const owner = by === 'id' ? directory.byId(value) : directory.byEmail(value);
  if (owner) return { type: 'CanonicalUser', id: owner.id, displayName: owner.displayName };
  if (by === 'id') throw new S3Error('InvalidArgument', 'Invalid id');
  throw new S3Error(
    'UnresolvableGrantByEmailAddress',
    'The e-mail address you provided does not match any account on record.',
  );
}

/**
 * The grants of `x-amz-grant-*` headers: `id="<canonical id>"`, `emailAddress="<e-mail>"` or
 * `uri="<group>"`, comma separated.
 */
export function headerGrants(headers: ReadonlyArray<[AclPermission, string]>, directory: GranteeDirectory): AclGrant[] {
  const grants: AclGrant[] = [];
  for (const [permission, value] of headers) {
    for (const part of value.split(',')) {
      const match = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(part);
      if (!match) throw new S3Error('InvalidArgument', 'Invalid grant header');
      const kind = match[1]!.toLowerCase();
      const value = match[2]!;
      grants.push({
        grantee:
          kind === 'uri'
            ? { type: 'Group', uri: checkedGroup(value) }
            : granteeUser(directory, kind === 'id' ? 'id' : 'email', value),
        permission,
      });
    }
  }
  return grants;
}

export function checkedGroup(uri: string): string {
  if (uri !== ALL_USERS && uri !== AUTHENTICATED_USERS) throw new S3Error('InvalidArgument', 'Invalid group uri');
  return uri;
}
