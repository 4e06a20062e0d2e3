import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Acl, Bucket, BucketSettings, MetaStore } from '../../src/meta/meta-store.js';
import { S3Error } from '../errors.js';
import { ACTION, versionAction } from './actions.js';
import { NEEDED, type Right } from './access.js';
import { canonicalId } from './acl.js';
import { decide, grantAllows, readsObjectAcl, type Principal } from './authorize.js';
import { isPublicPolicy, parsePolicy, type Policy } from './policy.js';
import type { RequestContext } from './policy-conditions.js';
import type { Identity } from './credentials.js';
import type { Route } from '../router.js';

/**
 * The gateway's side of authorisation: gathers what `decide` weighs (the key's grants, the
 * bucket's policy and ACL, the object's ACL when it matters, the request's condition keys) and
 * throws AccessDenied when it refuses.
 */

export interface AccessCheck {
  action: string;
  right: Right;
  bucket: string;
  key: string | null;
  /** The version the request names: its ACL and tags are the ones that count, not the newest's. */
  versionId?: string;
  /** `x-amz-expected-bucket-owner` (or the copy source's): the canonical id the bucket's owner must have. */
  expectedOwner?: string;
}

/** Authorises a routed request as its operation (CopyObject's source is checked by the copy). */
export async function authorizeRoute(
  meta: MetaStore,
  identity: Identity,
  req: IncomingMessage,
  route: Route,
  now: number,
): Promise<void> {
  const kind = route.endpoint.kind;
  const right = NEEDED[kind];
  const action = ACTION[kind];
  if (right === 'none' || action === null) {
    // Listing buckets is for someone: AWS refuses it to anonymous requests (s3-tests'
    // test_list_buckets_anonymous, which expects an empty list, is marked fails_on_aws).
    if (kind === 'ListBuckets' && identity.anonymous) throw accessDenied();
    return;
  }
  if (route.bucket === null) throw accessDenied();
  // A versionId (object requests only) makes s3:GetObject s3:GetObjectVersion, and so on.
  const named = route.key === null ? undefined : route.query.get('versionId');
  const check = {
    action: versionAction(action, named),
    right,
    bucket: route.bucket,
    key: route.key,
    versionId: named,
    expectedOwner: one(req.headers, 'x-amz-expected-bucket-owner'),
  };
  await authorizeAccess(meta, identity, req, route.query, check, now);
}

/** Authorises one action on one resource (a request's own, or a copy's source). */
export async function authorizeAccess(
  meta: MetaStore,
  identity: Identity,
  req: IncomingMessage,
  query: ReadonlyMap<string, string>,
  check: AccessCheck,
  now: number,
): Promise<void> {
  const bucket = await meta.getBucket(check.bucket);
  if (check.action === 's3:CreateBucket') return authorizeCreate(identity, bucket);
  const principal = await principalOf(meta, identity, check.bucket);
  if (!bucket) {
    // Root's operation answers; anyone else learns it is missing, as from AWS.
    if (principal.kind === 'root') return;
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  }
  const settings = bucket.settings;
  // As AWS: a request naming another owner than the bucket's is refused, whoever makes it.
  if (check.expectedOwner !== undefined && check.expectedOwner !== canonicalId(settings.owner ?? ''))
    throw accessDenied();
  const context = requestContext(req, query, identity, now);
  let objectAcl: Acl | null = null;
  let missing = false;
  // The object matters to a policy (its tags are condition keys, for a Deny too, whoever asks)
  // and, when nothing else allows the action, through its ACL.
  const allowedElsewhere =
    principal.kind === 'root' || (principal.kind === 'key' && grantAllows(principal.grants, check.right));
  if (check.key !== null && (settings.policy !== undefined || (!allowedElsewhere && readsObjectAcl(check.action)))) {
    const manifest =
      check.versionId === undefined
        ? await meta.getObject(check.bucket, check.key!)
        : ((await meta.getVersion(check.bucket, check.key!, check.versionId))?.manifest ?? null);
    missing = manifest === null;
    objectAcl = manifest ? (manifest.acl ?? defaultAcl(settings)) : null;
    for (const [tag, value] of Object.entries(manifest?.tags ?? {}))
      context[`s3:existingobjecttag/${tag.toLowerCase()}`] = value;
  }
  const policy = policyOf(bucket.name, settings);
  const block = settings.publicAccessBlock;
  const request = {
    principal,
    context,
    policy,
    bucketAcl: settings.acl ?? defaultAcl(settings),
    bucket: check.bucket,
    bucketOwner: settings.owner,
    ignorePublicAcls: block?.ignorePublicAcls === true,
    restrictPublicPolicy: block?.restrictPublicBuckets === true && policy !== null && isPublicPolicy(policy),
    aclsDisabled: settings.ownership === 'BucketOwnerEnforced',
  };
  const decision = decide({ ...request, action: check.action, right: check.right, key: check.key, objectAcl });
  if (missing && check.action.startsWith('s3:GetObject') && decision.by !== 'explicit-deny') {
    // A missing object has no ACL: who may list the bucket learns it is missing (404), as from
    // AWS; anyone else gets 403, whatever they may do to it once it exists. Listing is weighed
    // as a listing of that very key (s3:prefix the key), which would tell the same.
    const listing = { ...request, context: { ...context, 's3:prefix': check.key! } };
    if (decide({ ...listing, action: 's3:ListBucket', right: 'read', key: null, objectAcl: null }).allowed) return;
    throw accessDenied();
  }
  if (!decision.allowed) throw accessDenied();
}

/**
 * CreateBucket: an account-level right, root's and that of the keys given it, not a bucket's.
 * Bucket names are global: a name another owner holds answers BucketAlreadyExists to anyone who
 * signs; the owner's own bucket goes on to the operation (BucketAlreadyOwnedByYou, or
 * us-east-1's 200).
 */
function authorizeCreate(identity: Identity, bucket: Bucket | null): void {
  if (identity.anonymous) throw accessDenied();
  const owner = bucket?.settings.owner;
  if (bucket && (owner === undefined ? !identity.root : owner !== identity.accessKeyId))
    throw new S3Error(
      'BucketAlreadyExists',
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
    );
  if (!identity.root && identity.createBuckets !== true) throw accessDenied();
}

async function principalOf(meta: MetaStore, identity: Identity, bucket: string): Promise<Principal> {
  if (identity.anonymous) return { kind: 'anonymous' };
  if (identity.root) return { kind: 'root', accessKeyId: identity.accessKeyId };
  return { kind: 'key', accessKeyId: identity.accessKeyId, grants: await meta.check(identity.accessKeyId, bucket) };
}

/** A bucket (or object) with no ACL put: private, FULL_CONTROL for the owner alone. */
function defaultAcl(settings: BucketSettings): Acl {
  return { owner: { id: '', displayName: settings.owner ?? '' }, grants: [] };
}

/** Parsed policies by text: a policy is parsed once, not on every request. */
const parsed = new Map<string, Policy>();
const MAX_PARSED = 256;

function policyOf(bucket: string, settings: BucketSettings): Policy | null {
  if (settings.policy === undefined) return null;
  const cacheKey = `${bucket}\0${settings.policy}`;
  let policy = parsed.get(cacheKey);
  if (!policy) {
    policy = parsePolicy(settings.policy, bucket);
    if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value!);
    parsed.set(cacheKey, policy);
  }
  return policy;
}

/** The condition keys of a request, by lower-case name (IAM's names are case-insensitive). */
export function requestContext(
  req: IncomingMessage,
  query: ReadonlyMap<string, string>,
  identity: Identity,
  now: number,
): RequestContext {
  const h = req.headers;
  const secure = (req.socket as TLSSocket).encrypted === true;
  const context: RequestContext = {
    'aws:sourceip': req.socket.remoteAddress,
    'aws:securetransport': String(secure),
    'aws:currenttime': new Date(now).toISOString(),
    'aws:epochtime': String(Math.floor(now / 1000)),
    'aws:useragent': one(h, 'user-agent'),
    'aws:referer': one(h, 'referer'),
    'aws:principaltype': identity.anonymous ? 'Anonymous' : identity.root ? 'Account' : 'User',
    'aws:username': identity.anonymous ? undefined : identity.accessKeyId,
    'aws:userid': identity.anonymous ? undefined : identity.accessKeyId,
    's3:signatureversion': identity.anonymous ? undefined : signatureVersion(req, query),
    's3:authtype': identity.anonymous ? undefined : h.authorization !== undefined ? 'REST-HEADER' : 'REST-QUERY-STRING',
    's3:prefix': query.get('prefix'),
    's3:delimiter': query.get('delimiter'),
    's3:max-keys': query.get('max-keys'),
    's3:versionid': query.get('versionId'),
  };
  for (const name of [
    'x-amz-acl',
    'x-amz-copy-source',
    'x-amz-metadata-directive',
    'x-amz-server-side-encryption',
    'x-amz-server-side-encryption-aws-kms-key-id',
    'x-amz-server-side-encryption-customer-algorithm',
    'x-amz-storage-class',
    'x-amz-content-sha256',
    'x-amz-grant-read',
    'x-amz-grant-write',
    'x-amz-grant-read-acp',
    'x-amz-grant-write-acp',
    'x-amz-grant-full-control',
  ]) {
    context[`s3:${name}`] = one(h, name);
  }
  const tagging = one(h, 'x-amz-tagging');
  if (tagging !== undefined) {
    const tags = new URLSearchParams(tagging);
    context['s3:requestobjecttagkeys'] = [...tags.keys()];
    for (const [tag, value] of tags) context[`s3:requestobjecttag/${tag.toLowerCase()}`] = value;
  }
  return context;
}

/** AWS's names: `AWS` for SigV2 (which a policy may deny), else `AWS4-HMAC-SHA256`. */
function signatureVersion(req: IncomingMessage, query: ReadonlyMap<string, string>): string {
  const header = req.headers.authorization;
  const v2 = header ? header.startsWith('AWS ') : query.has('AWSAccessKeyId');
  return v2 ? 'AWS' : 'AWS4-HMAC-SHA256';
}

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function accessDenied(): S3Error {
  return new S3Error('AccessDenied', 'Access Denied');
}
