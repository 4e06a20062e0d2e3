import { S3Error } from '../errors.js';
import type { Credentials, Identity } from './credentials.js';
import { hmacHex, sameSignature, signingKey } from './signing.js';
import { verifyV2Signature } from './sigv2.js';
import { resolveCredential } from './sigv4.js';

/** What a verified POST policy allows: who signed it, and the file sizes it accepts (inclusive). */
export interface PostGrant {
  identity: Identity;
  length: { min: number; max: number } | null;
}

export interface PostPolicyOptions {
  credentials: Credentials;
  region: string;
  /** Unix milliseconds. */
  now: number;
}

/** Form fields that no condition needs to name (AWS's list). */
const UNCONDITIONED = new Set(['policy', 'x-amz-signature', 'file', 'awsaccesskeyid', 'signature']);

/**
 * Verifies a browser form's SigV4 POST policy. `fields` are the form fields by lower-case name,
 * `key` already with `${filename}` replaced; `bucket` is the bucket of the URL. The signature is
 * the HMAC of the base64 policy under the credential's signing key; then the expiration, every
 * condition, and that no field goes unnamed by a condition.
 */
export async function verifyPostPolicy(
  fields: Map<string, string>,
  bucket: string,
  o: PostPolicyOptions,
): Promise<PostGrant> {
  const encoded = fields.get('policy');
  // A form without a policy is anonymous: the bucket's ACL or policy decides (as AWS).
  if (encoded === undefined) return { identity: ANONYMOUS, length: null };
  const identity = fields.has('awsaccesskeyid')
    ? await signerV2(fields, encoded, o.credentials)
    : await signerV4(fields, encoded, o);
  return { identity, length: checkPolicy(parsePolicy(encoded), fields, bucket, o.now) };
}

const ANONYMOUS: Identity = { accessKeyId: '', root: false, anonymous: true };

function signatureMismatch(): S3Error {
  return new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}

function missingField(name: string): S3Error {
  return new S3Error(
    'InvalidArgument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
  );
}

/**
 * A Signature Version 2 form (AWSAccessKeyId, signature: base64 HMAC-SHA1 of the base64 policy),
 * which AWS still documents for browser uploads; the policy's conditions bind the fields as in
 * Version 4.
 */
async function signerV2(fields: Map<string, string>, encoded: string, credentials: Credentials): Promise<Identity> {
  const signature = fields.get('signature');
  if (signature === undefined) throw missingField('Signature');
  return verifyV2Signature(credentials, fields.get('awsaccesskeyid') ?? '', [encoded], signature);
}

async function signerV4(fields: Map<string, string>, encoded: string, o: PostPolicyOptions): Promise<Identity> {
  const [algorithm, credential, longDate, signature] = [
    'x-amz-algorithm',
    'x-amz-credential',
    'x-amz-date',
    'x-amz-signature',
  ].map((name) => {
    const value = fields.get(name);
    if (value === undefined) throw missingField(name);
    return value;
  }) as [string, string, string, string];
  if (algorithm !== 'AWS4-HMAC-SHA256')
    throw new S3Error('InvalidArgument', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const { key } = await resolveCredential(credential, longDate, o, 'InvalidArgument');
  const expected = hmacHex(signingKey(key.secret, longDate.slice(0, 8), o.region, 's3'), encoded);
  if (!sameSignature(expected, signature)) throw signatureMismatch();
  return key;
}

/** The expiration and every condition; no field may go unnamed. Returns the length range. */
function checkPolicy(
  policy: Record<string, unknown>,
  fields: Map<string, string>,
  bucket: string,
  now: number,
): PostGrant['length'] {
  const expiration = policy['expiration'];
  if (expiration === undefined) throw invalidPolicy('Policy missing expiration.');
  // ISO 8601 in UTC, as AWS requires (`2026-01-02T03:04:05.000Z`), not any date Date.parse reads.
  const iso = typeof expiration === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(expiration);
  const expires = iso ? Date.parse(expiration) : NaN;
  if (Number.isNaN(expires)) throw invalidPolicy(`Invalid 'expiration' value: '${String(expiration)}'`);
  if (now > expires) throw denied('Policy expired.');
  const conditions = policy['conditions'];
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.');

  const value = (name: string): string => (name === 'bucket' ? bucket : (fields.get(name) ?? ''));
  const named = new Set<string>();
  let length: PostGrant['length'] = null;
  for (const condition of conditions) {
    if (Array.isArray(condition) && String(condition[0]).toLowerCase() === 'content-length-range') {
      length = lengthRange(condition);
      continue;
    }
    for (const [op, name, expected] of matches(condition)) {
      named.add(name);
      const actual = value(name);
      if (op === 'eq' ? actual !== expected : !actual.startsWith(expected)) {
        throw denied(`Policy Condition failed: ["${op}", "$${name}", ${JSON.stringify(expected)}]`);
      }
    }
  }
  for (const name of fields.keys()) {
    // A checksum field only makes the upload fail when the file is not what it says.
    if (!UNCONDITIONED.has(name) && !/^x-(ignore|amz-checksum)-/.test(name) && !named.has(name))
      throw denied(`Extra input fields: ${name}`);
  }
  return length;
}

function parsePolicy(encoded: string): Record<string, unknown> {
  let policy: unknown;
  try {
    policy = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw invalidPolicy('Invalid JSON.');
  return policy as Record<string, unknown>;
}

/**
 * A condition as [op, field name, value]: `{"name": "value"}` is an exact match,
 * `["eq" | "starts-with", "$name", "value"]` the explicit form. Field names are case-insensitive.
 */
function matches(condition: unknown): Array<['eq' | 'starts-with', string, string]> {
  if (Array.isArray(condition)) {
    const [op, field, expected] = condition as unknown[];
    const kind = typeof op === 'string' ? op.toLowerCase() : '';
    if (
      condition.length !== 3 ||
      (kind !== 'eq' && kind !== 'starts-with') ||
      typeof field !== 'string' ||
      !field.startsWith('$') ||
      typeof expected !== 'string'
    ) {
      throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
    }
    return [[kind, field.slice(1).toLowerCase(), expected]];
  }
  if (typeof condition !== 'object' || condition === null || Object.keys(condition).length === 0)
    throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
  return Object.entries(condition).map(([field, expected]) => {
    if (typeof expected !== 'string')
      throw invalidPolicy(`Invalid Simple-Condition: value of ${field} must be a string.`);
    return ['eq', field.toLowerCase(), expected];
  });
}

/** `["content-length-range", min, max]`, the bounds numbers or numeric strings. */
function lengthRange(condition: unknown[]): { min: number; max: number } {
  const [min, max] = condition
    .slice(1)
    .map((bound) =>
      typeof bound === 'number' || (typeof bound === 'string' && /^\d+$/.test(bound)) ? Number(bound) : NaN,
    );
  if (condition.length !== 3 || !Number.isInteger(min) || !Number.isInteger(max) || min! < 0 || max! < min!) {
    throw invalidPolicy('Invalid content-length-range condition.');
  }
  return { min: min!, max: max! };
}

function invalidPolicy(detail: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${detail}`);
}

function denied(detail: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${detail}`);
}
