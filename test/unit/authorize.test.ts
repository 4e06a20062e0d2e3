import { describe, expect, it } from 'vitest';
import {
  ALL_USERS,
  AUTHENTICATED_USERS,
  cannedAcl,
  canonicalId,
  headerGrants,
  ownerOf,
  type GranteeDirectory,
} from '../../gateway/auth/acl.js';
import { ACCOUNT_ID, decide, type AccessRequest, type Principal } from '../../gateway/auth/authorize.js';
import { evaluatePolicy, isPublicPolicy, parsePolicy, type Policy } from '../../gateway/auth/policy.js';
import type { RequestContext } from '../../gateway/auth/policy-conditions.js';
import { S3Error } from '../../gateway/errors.js';

const BUCKET = 'amzn-s3-demo-bucket';
const ROOT: Principal = { kind: 'root', accessKeyId: 'ROOTKEY' };
const NO_GRANTS = { read: false, write: false, owner: false };
const READER: Principal = { kind: 'key', accessKeyId: 'READER', grants: { ...NO_GRANTS, read: true } };
const STRANGER: Principal = { kind: 'key', accessKeyId: 'STRANGER', grants: NO_GRANTS };
const ANONYMOUS: Principal = { kind: 'anonymous' };
const PRIVATE = cannedAcl('private', ownerOf('ROOTKEY'));
/** Keys ANN (ann@example.com) and STRANGER. */
const DIRECTORY: GranteeDirectory = {
  byId: (id) => [ownerOf('ANN'), ownerOf('STRANGER')].find((o) => o.id === id),
  byEmail: (email) => (email.toLowerCase() === 'ann@example.com' ? ownerOf('ANN') : undefined),
};

function policy(statements: unknown[]): Policy {
  return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), BUCKET);
}

function request(
  principal: Principal,
  action: string,
  key: string | null,
  more: Partial<AccessRequest> = {},
): AccessRequest {
  const right =
    action.startsWith('s3:Get') || action === 's3:ListBucket'
      ? 'read'
      : action.includes('Policy') || action.includes('Acl')
        ? 'owner'
        : 'write';
  return {
    principal,
    action,
    right,
    bucket: BUCKET,
    key,
    context: {},
    policy: null,
    bucketAcl: PRIVATE,
    objectAcl: null,
    ...more,
  };
}

const allowed = (r: AccessRequest): boolean => decide(r).allowed;

function malformed(text: string): string {
  try {
    parsePolicy(text, BUCKET);
  } catch (e) {
    if (e instanceof S3Error && e.code === 'MalformedPolicy') return e.message;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

describe('the authorisation decision', () => {
  it('is default deny: anonymous and ungranted keys get nothing, root everything', () => {
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k'))).toBe(false);
    expect(allowed(request(STRANGER, 's3:GetObject', 'k'))).toBe(false);
    expect(decide(request(ROOT, 's3:DeleteBucket', null))).toEqual({ allowed: true, by: 'root' });
  });

  it("keeps the key's grants as a source of Allow", () => {
    expect(decide(request(READER, 's3:GetObject', 'k'))).toEqual({ allowed: true, by: 'grant' });
    expect(allowed(request(READER, 's3:PutObject', 'k'))).toBe(false);
  });

  it('lets an explicit Deny win over a grant, over a policy Allow and over root', () => {
    const p = policy([
      { Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/*` },
      { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
    ]);
    const writer: Principal = { kind: 'key', accessKeyId: 'W', grants: { read: true, write: true, owner: false } };
    expect(decide(request(writer, 's3:DeleteObject', 'k', { policy: p }))).toEqual({
      allowed: false,
      by: 'explicit-deny',
    });
    expect(allowed(request(ROOT, 's3:DeleteObject', 'k', { policy: p }))).toBe(false);
    expect(decide(request(ANONYMOUS, 's3:GetObject', 'k', { policy: p }))).toEqual({ allowed: true, by: 'policy' });
  });

  it('leaves root the policy itself, so a deny-everything policy can be undone', () => {
    const p = policy([
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      },
    ]);
    expect(allowed(request(ROOT, 's3:DeleteBucketPolicy', null, { policy: p }))).toBe(true);
    expect(allowed(request(ROOT, 's3:ListBucket', null, { policy: p }))).toBe(false);
    expect(
      allowed(
        request(
          { kind: 'key', accessKeyId: 'O', grants: { read: true, write: true, owner: true } },
          's3:DeleteBucketPolicy',
          null,
          { policy: p },
        ),
      ),
    ).toBe(false);
  });

  it('allows what the public-read ACLs give everyone, and only that', () => {
    const publicRead = cannedAcl('public-read', ownerOf('ROOTKEY'));
    expect(decide(request(ANONYMOUS, 's3:GetObject', 'k', { objectAcl: publicRead }))).toEqual({
      allowed: true,
      by: 'acl',
    });
    expect(allowed(request(ANONYMOUS, 's3:PutObjectAcl', 'k', { objectAcl: publicRead }))).toBe(false);
    expect(allowed(request(ANONYMOUS, 's3:ListBucket', null, { bucketAcl: publicRead }))).toBe(true);
    expect(allowed(request(ANONYMOUS, 's3:PutObject', 'k', { bucketAcl: publicRead }))).toBe(false);
    expect(
      allowed(
        request(ANONYMOUS, 's3:PutObject', 'k', { bucketAcl: cannedAcl('public-read-write', ownerOf('ROOTKEY')) }),
      ),
    ).toBe(true);
    // A bucket's READ lists it; it does not read its objects.
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { bucketAcl: publicRead }))).toBe(false);
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { objectAcl: publicRead, ignorePublicAcls: true }))).toBe(
      false,
    );
  });

  it('gives authenticated-read to keys but not to anonymous requests', () => {
    const acl = cannedAcl('authenticated-read', ownerOf('ROOTKEY'));
    expect(allowed(request(STRANGER, 's3:GetObject', 'k', { objectAcl: acl }))).toBe(true);
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { objectAcl: acl }))).toBe(false);
  });

  it("gives an object's owner full control through its ACL, and canonical-user grants to their key", () => {
    const acl = cannedAcl('private', ownerOf('STRANGER'));
    expect(allowed(request(STRANGER, 's3:GetObjectAcl', 'k', { objectAcl: acl }))).toBe(true);
    const granted = {
      owner: ownerOf('ROOTKEY'),
      grants: headerGrants([['READ', `id="${canonicalId('STRANGER')}"`]], DIRECTORY),
    };
    expect(allowed(request(STRANGER, 's3:GetObject', 'k', { objectAcl: granted }))).toBe(true);
    expect(allowed(request(STRANGER, 's3:GetObjectAcl', 'k', { objectAcl: granted }))).toBe(false);
  });

  it('applies Block Public Access and BucketOwnerEnforced to what ACLs and public policies allow', () => {
    const publicRead = cannedAcl('public-read', ownerOf('ROOTKEY'));
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { objectAcl: publicRead, aclsDisabled: true }))).toBe(false);
    const owned = cannedAcl('private', ownerOf('STRANGER'));
    expect(allowed(request(STRANGER, 's3:GetObject', 'k', { objectAcl: owned, aclsDisabled: true }))).toBe(false);
    const p = policy([
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
    ]);
    expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { policy: p, restrictPublicPolicy: true }))).toBe(false);
    expect(allowed(request(STRANGER, 's3:GetObject', 'k', { policy: p, restrictPublicPolicy: true }))).toBe(true);
  });

  it('leaves the key owning the bucket its policy too, and no other key', () => {
    const denyAll = policy([
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      },
    ]);
    const owner: Principal = { kind: 'key', accessKeyId: 'MAKER', grants: { read: true, write: true, owner: true } };
    const more = { policy: denyAll, bucketOwner: 'MAKER' };
    expect(allowed(request(owner, 's3:DeleteBucketPolicy', null, more))).toBe(true);
    expect(allowed(request(owner, 's3:PutBucketPolicy', null, more))).toBe(true);
    expect(allowed(request(owner, 's3:GetObject', 'k', more))).toBe(false);
    const other: Principal = { kind: 'key', accessKeyId: 'OTHER', grants: { read: true, write: true, owner: true } };
    expect(allowed(request(other, 's3:DeleteBucketPolicy', null, more))).toBe(false);
  });

  it('names principals by ARN, key id or canonical id', () => {
    for (const name of [`arn:aws:iam::${ACCOUNT_ID}:user/STRANGER`, 'STRANGER']) {
      const p = policy([
        { Effect: 'Allow', Principal: { AWS: [name] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
      ]);
      expect(allowed(request(STRANGER, 's3:GetObject', 'k', { policy: p })), name).toBe(true);
      expect(allowed(request(ANONYMOUS, 's3:GetObject', 'k', { policy: p })), name).toBe(false);
    }
    const byCanonical = policy([
      {
        Effect: 'Allow',
        Principal: { CanonicalUser: canonicalId('STRANGER') },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/*`,
      },
    ]);
    expect(allowed(request(STRANGER, 's3:GetObject', 'k', { policy: byCanonical }))).toBe(true);
  });
});

describe('bucket policy evaluation', () => {
  const ctx = (c: RequestContext): RequestContext => c;
  const verdict = (
    p: Policy,
    principalIds: string[],
    action: string,
    resource: string,
    context: RequestContext = {},
  ): string | null => evaluatePolicy(p, { principalIds, action, resource, context });

  it('grants public read (AWS example: read-only permission to anonymous users)', () => {
    const p = policy([
      {
        Sid: 'PublicRead',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: [`arn:aws:s3:::${BUCKET}/*`],
      },
    ]);
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/index.html`)).toBe('Allow');
    expect(verdict(p, [], 's3:PutObject', `arn:aws:s3:::${BUCKET}/index.html`)).toBe(null);
    expect(verdict(p, [], 's3:ListBucket', `arn:aws:s3:::${BUCKET}`)).toBe(null);
    expect(isPublicPolicy(p)).toBe(true);
  });

  it('matches actions case-insensitively with wildcards, and NotAction / NotResource', () => {
    const p = policy([
      { Effect: 'Allow', Principal: '*', Action: 's3:get*', Resource: `arn:aws:s3:::${BUCKET}/public/*` },
    ]);
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/public/a`)).toBe('Allow');
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/Public/a`)).toBe(null);
    const not = policy([
      {
        Effect: 'Deny',
        Principal: '*',
        NotAction: 's3:GetObject',
        NotResource: `arn:aws:s3:::${BUCKET}/tmp/*`,
        Resource: undefined,
      },
    ]);
    expect(verdict(not, [], 's3:PutObject', `arn:aws:s3:::${BUCKET}/a`)).toBe('Deny');
    expect(verdict(not, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/a`)).toBe(null);
    expect(verdict(not, [], 's3:PutObject', `arn:aws:s3:::${BUCKET}/tmp/a`)).toBe(null);
  });

  it('applies NotPrincipal to everyone but those it names', () => {
    const p = policy([
      {
        Effect: 'Deny',
        NotPrincipal: { AWS: 'ADMIN' },
        Action: 's3:DeleteObject',
        Resource: `arn:aws:s3:::${BUCKET}/*`,
      },
    ]);
    expect(verdict(p, ['ADMIN'], 's3:DeleteObject', `arn:aws:s3:::${BUCKET}/a`)).toBe(null);
    expect(verdict(p, ['OTHER'], 's3:DeleteObject', `arn:aws:s3:::${BUCKET}/a`)).toBe('Deny');
    expect(verdict(p, [], 's3:DeleteObject', `arn:aws:s3:::${BUCKET}/a`)).toBe('Deny');
  });

  it('restricts by source IP (AWS example: IpAddress and NotIpAddress)', () => {
    const p = policy([
      {
        Sid: 'IPAllow',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
        Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] } },
      },
    ]);
    const get = (ip: string): string | null =>
      verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/a`, ctx({ 'aws:sourceip': ip }));
    expect(get('192.0.2.7')).toBe(null);
    expect(get('::ffff:192.0.2.7')).toBe(null);
    expect(get('2001:db8::1')).toBe(null);
    expect(get('198.51.100.1')).toBe('Deny');
    expect(get('2001:db9::1')).toBe('Deny');
    const allow = policy([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/*`,
        Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1' } },
      },
    ]);
    expect(verdict(allow, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/a`, ctx({ 'aws:sourceip': '127.0.0.1' }))).toBe(
      'Allow',
    );
    expect(isPublicPolicy(allow)).toBe(false);
  });

  it('denies plain HTTP (AWS example: aws:SecureTransport false)', () => {
    const p = policy([
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: `arn:aws:s3:::${BUCKET}/*`,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/a`, ctx({ 'aws:securetransport': 'false' }))).toBe(
      'Deny',
    );
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/a`, ctx({ 'aws:securetransport': 'true' }))).toBe(
      null,
    );
  });

  it('limits listing to a prefix (AWS example: s3:prefix with StringLike / StringEquals)', () => {
    const p = policy([
      {
        Effect: 'Allow',
        Principal: { AWS: 'U' },
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${BUCKET}`,
        Condition: { StringLike: { 's3:prefix': ['home/U/*', ''] } },
      },
    ]);
    const list = (prefix?: string): string | null =>
      verdict(p, ['U'], 's3:ListBucket', `arn:aws:s3:::${BUCKET}`, ctx({ 's3:prefix': prefix }));
    expect(list('home/U/docs/')).toBe('Allow');
    expect(list('')).toBe('Allow');
    expect(list('home/V/')).toBe(null);
    expect(list(undefined)).toBe(null);
  });

  it('implements the numeric, date, Null, IfExists and set operators', () => {
    const one = (operator: string, key: string, value: unknown, context: RequestContext): string | null =>
      verdict(
        policy([
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:ListBucket',
            Resource: `arn:aws:s3:::${BUCKET}`,
            Condition: { [operator]: { [key]: value } },
          },
        ]),
        [],
        's3:ListBucket',
        `arn:aws:s3:::${BUCKET}`,
        context,
      );
    expect(one('NumericLessThanEquals', 's3:max-keys', '10', { 's3:max-keys': '10' })).toBe('Allow');
    expect(one('NumericLessThanEquals', 's3:max-keys', '10', { 's3:max-keys': '11' })).toBe(null);
    expect(one('NumericLessThanEquals', 's3:max-keys', 10, {})).toBe(null);
    expect(one('NumericLessThanEqualsIfExists', 's3:max-keys', 10, {})).toBe('Allow');
    expect(
      one('DateLessThan', 'aws:CurrentTime', '2030-01-01T00:00:00Z', { 'aws:currenttime': '2026-12-05T10:00:00.000Z' }),
    ).toBe('Allow');
    expect(
      one('DateGreaterThan', 'aws:CurrentTime', '2030-01-01T00:00:00Z', {
        'aws:currenttime': '2026-12-05T10:00:00.000Z',
      }),
    ).toBe(null);
    expect(one('Null', 's3:x-amz-acl', 'true', {})).toBe('Allow');
    expect(one('Null', 's3:x-amz-acl', 'false', {})).toBe(null);
    expect(one('StringNotEquals', 's3:x-amz-acl', 'public-read', {})).toBe('Allow');
    expect(one('StringNotEquals', 's3:x-amz-acl', 'public-read', { 's3:x-amz-acl': 'public-read' })).toBe(null);
    expect(one('StringEqualsIgnoreCase', 'aws:UserAgent', 'CURL', { 'aws:useragent': 'curl' })).toBe('Allow');
    expect(one('StringNotLike', 'aws:Referer', 'https://example.com/*', { 'aws:referer': 'https://evil.test/' })).toBe(
      'Allow',
    );
    expect(
      one('ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a', 'b'], { 's3:requestobjecttagkeys': ['a'] }),
    ).toBe('Allow');
    expect(
      one('ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a', 'b'], {
        's3:requestobjecttagkeys': ['a', 'c'],
      }),
    ).toBe(null);
    expect(
      one('ForAnyValue:StringEquals', 's3:RequestObjectTagKeys', ['c'], { 's3:requestobjecttagkeys': ['a', 'c'] }),
    ).toBe('Allow');
    expect(one('ForAnyValue:StringEquals', 's3:RequestObjectTagKeys', ['c'], {})).toBe(null);
  });

  // One row per case: operator, key, policy values, the request's context, the verdict. IAM's
  // rules: ...IfExists holds when the key is missing; ForAllValues holds for a missing key (no
  // value fails), ForAnyValue does not (no value matches); a negated operator with a set
  // qualifier asks each request value to match none of the policy's.
  const table: Array<[string, string, unknown, RequestContext, string | null]> = [
    [
      'StringLikeIfExists',
      'aws:Referer',
      'http://www.example.com/*',
      { 'aws:referer': 'http://www.example.com/' },
      'Allow',
    ],
    ['StringLikeIfExists', 'aws:Referer', 'http://www.example.com/*', { 'aws:referer': 'http://example.com' }, null],
    ['StringLikeIfExists', 'aws:Referer', 'http://www.example.com/*', {}, 'Allow'],
    ['StringLike', 'aws:Referer', 'http://www.example.com/*', {}, null],
    ['StringNotEqualsIfExists', 's3:x-amz-acl', 'public-read', { 's3:x-amz-acl': 'public-read' }, null],
    ['StringNotEqualsIfExists', 's3:x-amz-acl', 'public-read', { 's3:x-amz-acl': 'private' }, 'Allow'],
    ['StringNotEqualsIfExists', 's3:x-amz-acl', 'public-read', {}, 'Allow'],
    ['IpAddressIfExists', 'aws:SourceIp', '10.0.0.0/8', { 'aws:sourceip': '192.0.2.1' }, null],
    ['BoolIfExists', 'aws:SecureTransport', 'true', {}, 'Allow'],
    [
      'ForAllValues:StringLike',
      's3:RequestObjectTagKeys',
      ['team-*'],
      { 's3:requestobjecttagkeys': ['team-a', 'team-b'] },
      'Allow',
    ],
    [
      'ForAllValues:StringLike',
      's3:RequestObjectTagKeys',
      ['team-*'],
      { 's3:requestobjecttagkeys': ['team-a', 'cost'] },
      null,
    ],
    ['ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a'], {}, 'Allow'],
    [
      'ForAllValues:StringNotEquals',
      's3:RequestObjectTagKeys',
      ['secret'],
      { 's3:requestobjecttagkeys': ['a', 'b'] },
      'Allow',
    ],
    [
      'ForAllValues:StringNotEquals',
      's3:RequestObjectTagKeys',
      ['secret'],
      { 's3:requestobjecttagkeys': ['a', 'secret'] },
      null,
    ],
    [
      'ForAnyValue:StringNotEquals',
      's3:RequestObjectTagKeys',
      ['a'],
      { 's3:requestobjecttagkeys': ['a', 'b'] },
      'Allow',
    ],
    ['ForAnyValue:StringNotEquals', 's3:RequestObjectTagKeys', ['a'], { 's3:requestobjecttagkeys': ['a'] }, null],
    ['ForAnyValue:StringNotEquals', 's3:RequestObjectTagKeys', ['a'], {}, null],
    ['ForAnyValue:StringEqualsIfExists', 's3:RequestObjectTagKeys', ['a'], {}, 'Allow'],
  ];
  it.each(table)('%s on %s %j with %j: %s', (operator, key, values, context, expected) => {
    const p = policy([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/*`,
        Condition: { [operator]: { [key]: values } },
      },
    ]);
    expect(verdict(p, [], 's3:GetObject', `arn:aws:s3:::${BUCKET}/k`, context)).toBe(expected);
  });

  it('refuses malformed policies with AWS messages', () => {
    expect(malformed('not json')).toBe("Policies must be valid JSON and the first byte must be '{'");
    expect(malformed('[]')).toBe("Policies must be valid JSON and the first byte must be '{'");
    expect(malformed('{"Version":"2012-10-17"}')).toBe('Missing required field Statement');
    expect(malformed('{"Version":"2019-01-01","Statement":[]}')).toBe('The policy must contain a valid version string');
    const statement = (s: Record<string, unknown>): string =>
      malformed(
        JSON.stringify({
          Statement: [
            { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, ...s },
          ],
        }),
      );
    expect(statement({ Effect: 'Alow' })).toBe('Invalid effect: Alow');
    expect(statement({ Action: 's3:GetObjekt' })).toBe('Policy has invalid action');
    expect(statement({ Action: 'iam:CreateUser' })).toBe('Policy has invalid action');
    expect(statement({ Resource: 'arn:aws:s3:::another-bucket/*' })).toBe('Policy has invalid resource');
    expect(statement({ Principal: undefined })).toBe('Missing required field Principal');
    expect(statement({ Principal: { Service: 'x' } })).toBe('Invalid principal in policy');
    // IAM supports NotPrincipal only with Deny.
    expect(statement({ Principal: undefined, NotPrincipal: { AWS: 'arn:aws:iam::s3tenant1:root' } })).toBe(
      'Invalid principal in policy',
    );
    expect(statement({ Condition: { StringEqualz: { 's3:prefix': 'a' } } })).toBe(
      'Invalid Condition type : StringEqualz',
    );
    expect(statement({ Condition: { IpAddress: { 'aws:SourceIp': '300.1.2.3/8' } } })).toMatch(/^Invalid IP address/);
    expect(statement({ Action: undefined })).toBe('Missing required field Action');
    expect(statement({ Resource: undefined })).toBe('Missing required field Resource');
  });
});

describe('policy variables', () => {
  // ${aws:username} and ${aws:userid} are the key id of the key that signed (the IAM user name
  // in its ARN); an anonymous request has neither, so what names them matches nothing.
  const homes = policy([
    {
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::${BUCKET}/home/\${aws:username}/*`,
    },
    {
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:ListBucket',
      Resource: `arn:aws:s3:::${BUCKET}`,
      Condition: { StringLike: { 's3:prefix': 'home/${aws:userid}/*' } },
    },
  ]);
  const as = (principal: Principal, action: string, key: string | null, context: RequestContext): boolean =>
    allowed(request(principal, action, key, { policy: homes, context }));
  const stranger = { 'aws:username': 'STRANGER', 'aws:userid': 'STRANGER' };

  it('expands ${aws:username} in resources and ${aws:userid} in condition values to the signing key', () => {
    expect(as(STRANGER, 's3:GetObject', 'home/STRANGER/a', stranger)).toBe(true);
    expect(as(STRANGER, 's3:GetObject', 'home/READER/a', stranger)).toBe(false);
    expect(as(STRANGER, 's3:ListBucket', null, { ...stranger, 's3:prefix': 'home/STRANGER/' })).toBe(true);
    expect(as(STRANGER, 's3:ListBucket', null, { ...stranger, 's3:prefix': 'home/READER/' })).toBe(false);
  });

  it('matches nothing for a request without the variable (anonymous)', () => {
    expect(as(ANONYMOUS, 's3:GetObject', 'home/${aws:username}/a', {})).toBe(false);
    expect(as(ANONYMOUS, 's3:GetObject', 'home//a', {})).toBe(false);
  });
});

describe('ACLs', () => {
  it('spells the canned ACLs as AWS does', () => {
    const owner = ownerOf('K');
    expect(
      cannedAcl('public-read-write', owner).grants.map((g) => [
        g.grantee.type === 'Group' ? g.grantee.uri : g.grantee.id,
        g.permission,
      ]),
    ).toEqual([
      [ALL_USERS, 'READ'],
      [ALL_USERS, 'WRITE'],
      [owner.id, 'FULL_CONTROL'],
    ]);
    expect(cannedAcl('authenticated-read', owner).grants[0]).toEqual({
      grantee: { type: 'Group', uri: AUTHENTICATED_USERS },
      permission: 'READ',
    });
    const bucketOwner = ownerOf('B');
    expect(cannedAcl('bucket-owner-full-control', owner, bucketOwner).grants[0]).toEqual({
      grantee: { type: 'CanonicalUser', id: bucketOwner.id, displayName: 'B' },
      permission: 'FULL_CONTROL',
    });
    expect(() => cannedAcl('public', owner)).toThrow(/Invalid canned ACL/);
  });

  it('gives each key a stable 64-hex canonical id', () => {
    expect(canonicalId('K')).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalId('K')).toBe(canonicalId('K'));
    expect(canonicalId('K')).not.toBe(canonicalId('L'));
  });

  it('reads x-amz-grant-* headers, naming known keys by canonical id or e-mail address', () => {
    const ann = ownerOf('ANN');
    expect(
      headerGrants([['READ', `uri="${ALL_USERS}", id="${ann.id}", emailAddress="Ann@Example.com"`]], DIRECTORY),
    ).toEqual([
      { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' },
      { grantee: { type: 'CanonicalUser', id: ann.id, displayName: 'ANN' }, permission: 'READ' },
      { grantee: { type: 'CanonicalUser', id: ann.id, displayName: 'ANN' }, permission: 'READ' },
    ]);
    expect(() => headerGrants([['READ', 'emailAddress="b@example.com"']], DIRECTORY)).toThrow(/e-mail/);
    expect(() => headerGrants([['READ', 'id="abc"']], DIRECTORY)).toThrow(/Invalid id/);
  });
});
