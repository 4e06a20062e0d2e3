import type { Acl, AclGrant, AclPermission, Bucket, BucketSettings } from '../../src/meta/meta-store.js';
import type { ObjectManifest } from '../../src/meta/manifest.js';
import type { Identity } from '../auth/credentials.js';
import { authorizeAccess } from '../auth/request-access.js';
import {
  aclAllows,
  cannedAcl,
  canonicalId,
  checkedGroup,
  GRANT_HEADERS,
  granteeUser,
  headerGrants,
  isPublicAcl,
  ownerOf,
  PERMISSIONS,
  type GranteeDirectory,
  type Owner,
} from '../auth/acl.js';
import { header, keyOf, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, text } from '../xml.js';

/**
 * Get/PutBucketAcl, Get/PutObjectAcl, and the ACL a request creating a bucket or an object asks
 * for (`x-amz-acl`, `x-amz-grant-*`). Deciding what an ACL allows is auth/authorize.ts's.
 */

/** Who owns what a request creates: its key, or the bucket's owner for anonymous writes. */
function requesterOwner(identity: Identity, bucketOwner: Owner): Owner {
  return identity.anonymous ? bucketOwner : ownerOf(identity.accessKeyId);
}

export function bucketOwnerOf(bucket: Bucket): Owner {
  return ownerOf(bucket.settings.owner ?? '');
}

/**
 * The ACL the request's headers (or a POST form's `acl` field) ask for; `private` for `owner`
 * when they ask for none.
 */
export async function requestAcl(ctx: Context, owner: Owner, bucketOwner: Owner, cannedField?: string): Promise<Acl> {
  const canned = cannedField ?? header(ctx, 'x-amz-acl');
  const grants = GRANT_HEADERS.flatMap(([name, permission]) => {
    const value = header(ctx, name);
    return value === undefined ? [] : [[permission, value] as [AclPermission, string]];
  });
  if (canned !== undefined && grants.length > 0)
    throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (grants.length > 0) return { owner, grants: headerGrants(grants, await ctx.credentials.directory()) };
  return cannedAcl(canned ?? 'private', owner, bucketOwner);
}

export async function getBucketAcl(ctx: Context<'GetBucketAcl'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  sendAcl(ctx, bucket.settings.acl ?? cannedAcl('private', bucketOwnerOf(bucket)));
}

export async function putBucketAcl(ctx: Context<'PutBucketAcl'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  refuseWithAclsDisabled(bucket.settings);
  const owner = bucketOwnerOf(bucket);
  const acl = settable(bucket.settings, await aclToPut(ctx, owner, owner), owner);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, acl }));
  sendEmpty(ctx);
}

export async function getObjectAcl(ctx: Context<'GetObjectAcl'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const manifest = await ctx.store.head(bucket.name, keyOf(ctx), ctx.route.endpoint.versionId);
  sendAcl(ctx, manifest.acl ?? cannedAcl('private', bucketOwnerOf(bucket)));
}

export async function putObjectAcl(ctx: Context<'PutObjectAcl'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  refuseWithAclsDisabled(bucket.settings);
  const bucketOwner = bucketOwnerOf(bucket);
  const current = await ctx.store.head(bucket.name, keyOf(ctx), ctx.route.endpoint.versionId);
  const acl = settable(
    bucket.settings,
    await aclToPut(ctx, current.acl?.owner ?? bucketOwner, bucketOwner),
    bucketOwner,
  );
  await updateManifest(ctx, current, (m) => ({ ...m, acl }));
  sendEmpty(ctx);
}

/**
 * Changes the manifest (its ACL or tags) of the version the request names (the newest: none) in
 * place, not as a new version: only if that version is still the one read, else again on the one
 * now there. Returns the manifest stored.
 */
export async function updateManifest(
  ctx: Context<'PutObjectAcl' | 'PutObjectTagging' | 'DeleteObjectTagging'>,
  first: ObjectManifest,
  change: (m: ObjectManifest) => ObjectManifest,
): Promise<ObjectManifest> {
  const { bucket, key, versionId } = ctx.route.endpoint;
  for (let current = first; ; current = await ctx.store.head(bucket, key, versionId)) {
    const updated = change(current);
    if (await ctx.store.updateObject(bucket, key, current.id, updated)) return updated;
  }
}

/** The ACL of a Put*Acl: canned or grant headers, or an AccessControlPolicy document. */
async function aclToPut(ctx: Context, owner: Owner, bucketOwner: Owner): Promise<Acl> {
  const headersSay =
    header(ctx, 'x-amz-acl') !== undefined || GRANT_HEADERS.some(([name]) => header(ctx, name) !== undefined);
  if (headersSay) return requestAcl(ctx, owner, bucketOwner);
  const acl = parseAcl(await xmlBody(ctx, ['Grant']), await ctx.credentials.directory());
  // The document may not hand the resource to someone else: its owner stays.
  if (acl.owner.id !== owner.id) throw new S3Error('AccessDenied', 'Access Denied');
  return { owner, grants: acl.grants };
}

function malformedAcl(): S3Error {
  return new S3Error(
    'MalformedACLError',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
}

function parseAcl(doc: Record<string, unknown>, directory: GranteeDirectory): Acl {
  const policy = child(doc, 'AccessControlPolicy');
  const ownerId = text(child(policy, 'Owner'), 'ID');
  if (ownerId === undefined) throw malformedAcl();
  const list = policy['AccessControlList'];
  const raw = list === '' || list === undefined ? [] : (child(policy, 'AccessControlList')['Grant'] ?? []);
  if (!Array.isArray(raw)) throw malformedAcl();
  const grants = raw.map((g: unknown): AclGrant => {
    const grant = g as Record<string, unknown>;
    const permission = text(grant, 'Permission') as AclPermission | undefined;
    if (!permission || !PERMISSIONS.includes(permission)) throw malformedAcl();
    const grantee = child(grant, 'Grantee');
    const id = text(grantee, 'ID');
    const uri = text(grantee, 'URI');
    const email = text(grantee, 'EmailAddress');
    if (id !== undefined) return { grantee: granteeUser(directory, 'id', id), permission };
    if (email !== undefined) return { grantee: granteeUser(directory, 'email', email), permission };
    if (uri !== undefined) return { grantee: { type: 'Group', uri: checkedGroup(uri) }, permission };
    throw malformedAcl();
  });
  return { owner: { id: ownerId, displayName: '' }, grants };
}

function sendAcl(ctx: Context, acl: Acl): void {
  // Grants to groups first, then to users (RGW's order, which clients such as ceph/s3-tests read
  // by position); the order of grants means nothing to access.
  const ordered = [
    ...acl.grants.filter((g) => g.grantee.type === 'Group'),
    ...acl.grants.filter((g) => g.grantee.type === 'CanonicalUser'),
  ];
  const grants = ordered
    .map((g) => {
      const grantee =
        g.grantee.type === 'CanonicalUser'
          ? `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${el('ID', g.grantee.id)}${g.grantee.displayName ? el('DisplayName', g.grantee.displayName) : ''}</Grantee>`
          : `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">${el('URI', g.grantee.uri)}</Grantee>`;
      return `<Grant>${grantee}${el('Permission', g.permission)}</Grant>`;
    })
    .join('');
  sendXml(
    ctx,
    'AccessControlPolicy',
    `<Owner>${el('ID', acl.owner.id)}${el('DisplayName', acl.owner.displayName)}</Owner><AccessControlList>${grants}</AccessControlList>`,
  );
}

/**
 * The ACL of an object `identity` creates at `key` in `bucket` (PUT, copy, multipart; a POST
 * form's signer and `acl` field). Naming an ACL that grants anyone but the object's and the
 * bucket's owners needs s3:PutObjectAcl as well, as on AWS: a key that may only write cannot make
 * what it writes public.
 */
export async function newObjectAcl(
  ctx: Context,
  bucket: string,
  key: string,
  identity: Identity = ctx.auth.identity,
  cannedField?: string,
): Promise<Acl> {
  const b = await ctx.meta.getBucket(bucket);
  if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  const bucketOwner = bucketOwnerOf(b);
  const canned = cannedField ?? header(ctx, 'x-amz-acl');
  const named = canned !== undefined || GRANT_HEADERS.some(([name]) => header(ctx, name) !== undefined);
  const { ownership } = b.settings;
  // With ACLs disabled the bucket's owner owns every object and the only ACL a writer may name is
  // bucket-owner-full-control; BucketOwnerPreferred hands the object over when the writer names it.
  if (ownership === 'BucketOwnerEnforced' && named && canned !== 'bucket-owner-full-control')
    throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs');
  const toBucketOwner =
    ownership === 'BucketOwnerEnforced' ||
    (ownership === 'BucketOwnerPreferred' && canned === 'bucket-owner-full-control');
  const owner = toBucketOwner ? bucketOwner : requesterOwner(identity, bucketOwner);
  const acl = await requestAcl(ctx, owner, bucketOwner, cannedField);
  // An ACL that gives nothing to anyone but the owners needs no more than the write (AWS's
  // example: s3:PutObject alone, on condition that the writer grants the bucket owner full control).
  if (named && !grantsOwnersOnly(acl, bucketOwner) && !writesByBucketAcl(b.settings, identity))
    await authorizeAccess(
      ctx.meta,
      identity,
      ctx.req,
      ctx.route.query,
      { action: 's3:PutObjectAcl', right: 'owner', bucket, key },
      Date.now(),
    );
  return settable(b.settings, acl, bucketOwner);
}

/**
 * Whether the bucket's ACL lets the requester write: in S3's ACL model a WRITE grantee creates
 * objects it owns, ACL included (an anonymous form upload to a public-read-write bucket naming
 * `acl`), with no separate s3:PutObjectAcl to hold.
 */
function writesByBucketAcl(settings: BucketSettings, identity: Identity): boolean {
  if (!settings.acl || settings.ownership === 'BucketOwnerEnforced') return false;
  const requester = identity.anonymous ? null : canonicalId(identity.accessKeyId);
  return aclAllows(settings.acl, requester, 'WRITE', settings.publicAccessBlock?.ignorePublicAcls === true);
}

/**
 * Put*Acl under BucketOwnerEnforced, whatever the ACL: AWS refuses every request that sets an ACL
 * there (400 AccessControlListNotSupported); only object writes may still name
 * bucket-owner-full-control.
 */
function refuseWithAclsDisabled(settings: BucketSettings): void {
  if (settings.ownership === 'BucketOwnerEnforced')
    throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs');
}

/**
 * Refuses an ACL the bucket's settings forbid setting: any but the owners' own under
 * BucketOwnerEnforced (400 AccessControlListNotSupported), a public one under BlockPublicAcls (403).
 */
function settable(settings: BucketSettings, acl: Acl, bucketOwner: Owner): Acl {
  if (settings.ownership === 'BucketOwnerEnforced' && !grantsOwnersOnly(acl, bucketOwner))
    throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs');
  if (settings.publicAccessBlock?.blockPublicAcls && isPublicAcl(acl))
    throw new S3Error('AccessDenied', 'Access Denied');
  return acl;
}

/** Whether the ACL grants nothing to anyone but its owner and the bucket's owner. */
export function grantsOwnersOnly(acl: Acl, bucketOwner: Owner): boolean {
  return acl.grants.every(
    (g) => g.grantee.type === 'CanonicalUser' && (g.grantee.id === acl.owner.id || g.grantee.id === bucketOwner.id),
  );
}

export function invalidAclWithOwnership(): S3Error {
  return new S3Error(
    'InvalidBucketAclWithObjectOwnership',
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  );
}
