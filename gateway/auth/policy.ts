import { S3Error } from '../errors.js';
import { KNOWN_ACTIONS } from './actions.js';
import {
  conditionHolds,
  expandVariables,
  parseOperator,
  validCidr,
  type Condition,
  type RequestContext,
} from './policy-conditions.js';
import { wildcardMatch } from './wildcard.js';

/**
 * Bucket policies: the IAM policy language as AWS documents it for S3, parsed once (when put)
 * into statements and evaluated on every request. Pure: no I/O, no clock (the time is a
 * condition key of the request).
 */

/** `*` (everyone, anonymous included) or the identifiers a requester must have one of. */
export type PrincipalSpec = '*' | string[];

export interface Statement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  conditions: Condition[];
}

export interface Policy {
  statements: Statement[];
}

/** Who a policy is evaluated for: the identifiers its Principal may name, none for anonymous. */
export interface PolicyRequest {
  principalIds: readonly string[];
  action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  resource: string;
  context: RequestContext;
}

/** AWS's limit on a bucket policy's size. */
const MAX_POLICY_BYTES = 20 * 1024;
const VERSIONS = ['2012-10-17', '2008-10-17'];
const STATEMENT_FIELDS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];

function malformedPolicy(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

/** The policy `text` for bucket `bucket`, or MalformedPolicy with AWS's message. */
export function parsePolicy(text: string, bucket: string): Policy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw malformedPolicy('Policies must be no larger than 20480 bytes');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  if (!isObject(doc)) throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  for (const name of Object.keys(doc)) {
    if (!['Version', 'Id', 'Statement'].includes(name)) throw malformedPolicy(`Unknown field ${name}`);
  }
  if (doc['Version'] !== undefined && !VERSIONS.includes(doc['Version'] as string)) {
    throw malformedPolicy('The policy must contain a valid version string');
  }
  const raw = doc['Statement'];
  if (raw === undefined) throw malformedPolicy('Missing required field Statement');
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw malformedPolicy('Could not parse the policy: Statement is empty!');
  return { statements: list.map((s) => parseStatement(s, bucket)) };
}

function parseStatement(raw: unknown, bucket: string): Statement {
  if (!isObject(raw)) throw malformedPolicy('Statement must be an object');
  for (const name of Object.keys(raw))
    if (!STATEMENT_FIELDS.includes(name)) throw malformedPolicy(`Unknown field ${name}`);
  const effect = raw['Effect'];
  if (effect === undefined) throw malformedPolicy('Missing required field Effect');
  if (effect !== 'Allow' && effect !== 'Deny') throw malformedPolicy(`Invalid effect: ${String(effect)}`);
  const s: Statement = { effect, conditions: parseConditions(raw['Condition']) };
  if (raw['Sid'] !== undefined) {
    if (typeof raw['Sid'] !== 'string') throw malformedPolicy('Statement IDs (SID) must be strings');
    s.sid = raw['Sid'];
  }
  s.principal = optional(raw, 'Principal', parsePrincipal);
  s.notPrincipal = optional(raw, 'NotPrincipal', parsePrincipal);
  if ((s.principal === undefined) === (s.notPrincipal === undefined))
    throw malformedPolicy('Missing required field Principal');
  // IAM: NotPrincipal must be used with Deny; an Allow to everyone but a few is not supported.
  if (s.notPrincipal !== undefined && effect === 'Allow') throw malformedPolicy('Invalid principal in policy');
  s.actions = optional(raw, 'Action', parseActions);
  s.notActions = optional(raw, 'NotAction', parseActions);
  if ((s.actions === undefined) === (s.notActions === undefined))
    throw malformedPolicy('Missing required field Action');
  s.resources = optional(raw, 'Resource', (v) => parseResources(v, bucket));
  s.notResources = optional(raw, 'NotResource', (v) => parseResources(v, bucket));
  if ((s.resources === undefined) === (s.notResources === undefined))
    throw malformedPolicy('Missing required field Resource');
  return s;
}

function optional<T>(raw: Record<string, unknown>, name: string, parse: (value: unknown) => T): T | undefined {
  return raw[name] === undefined ? undefined : parse(raw[name]);
}

/** A string or a non-empty list of strings, as every IAM list element may be written. */
function strings(value: unknown, message: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === 'string')) throw malformedPolicy(message);
  return list as string[];
}

function parsePrincipal(value: unknown): PrincipalSpec {
  if (value === '*') return '*';
  if (!isObject(value)) throw malformedPolicy('Invalid principal in policy');
  const ids: string[] = [];
  for (const [type, names] of Object.entries(value)) {
    if (type !== 'AWS' && type !== 'CanonicalUser') throw malformedPolicy('Invalid principal in policy');
    const list = strings(names, 'Invalid principal in policy');
    if (list.includes('*')) return '*';
    ids.push(...list);
  }
  if (ids.length === 0) throw malformedPolicy('Invalid principal in policy');
  return ids;
}

function parseActions(value: unknown): string[] {
  const list = strings(value, 'Policy has invalid action');
  for (const action of list) {
    if (action === '*') continue;
    if (!KNOWN_ACTIONS.some((known) => wildcardMatch(action, known, true)))
      throw malformedPolicy('Policy has invalid action');
  }
  return list;
}

/** Resources of this bucket (or of every bucket: `*`), wildcards allowed. */
function parseResources(value: unknown, bucket: string): string[] {
  const list = strings(value, 'Policy has invalid resource');
  for (const resource of list) {
    if (resource === '*') continue;
    const match = /^arn:aws:s3:::([^/]*)(\/.*)?$/.exec(resource);
    if (!match || !wildcardMatch(match[1]!, bucket)) throw malformedPolicy('Policy has invalid resource');
  }
  return list;
}

function parseConditions(value: unknown): Condition[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw malformedPolicy('Condition must be an object');
  const conditions: Condition[] = [];
  for (const [operator, block] of Object.entries(value)) {
    const parsed = parseOperator(operator);
    if (!parsed) throw malformedPolicy(`Invalid Condition type : ${operator}`);
    if (!isObject(block)) throw malformedPolicy(`Condition ${operator} must be an object`);
    for (const [key, raw] of Object.entries(block)) {
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0 || !list.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
        throw malformedPolicy(`Invalid Condition value for ${operator} ${key}`);
      }
      const values = list.map(String);
      if (/IpAddress$/.test(parsed.base) && !values.every(validCidr))
        throw malformedPolicy(`Invalid IP address: ${values.join(', ')}`);
      conditions.push({ operator, ...parsed, key, values });
    }
  }
  return conditions;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The policy's verdict on one request: `Deny` when a Deny statement applies, else `Allow` when an
 * Allow statement does, else null (the policy says nothing).
 */
export function evaluatePolicy(policy: Policy, request: PolicyRequest): 'Allow' | 'Deny' | null {
  let allowed = false;
  for (const s of policy.statements) {
    if (!applies(s, request)) continue;
    if (s.effect === 'Deny') return 'Deny';
    allowed = true;
  }
  return allowed ? 'Allow' : null;
}

function applies(s: Statement, r: PolicyRequest): boolean {
  if (s.principal !== undefined && !namesPrincipal(s.principal, r.principalIds)) return false;
  if (s.notPrincipal !== undefined && namesPrincipal(s.notPrincipal, r.principalIds)) return false;
  const action = (p: string): boolean => wildcardMatch(p, r.action, true);
  if (s.actions && !s.actions.some(action)) return false;
  if (s.notActions?.some(action)) return false;
  const resource = (p: string): boolean => {
    const pattern = expandVariables(p, r.context);
    return pattern !== null && wildcardMatch(pattern, r.resource);
  };
  if (s.resources && !s.resources.some(resource)) return false;
  if (s.notResources?.some(resource)) return false;
  return s.conditions.every((c) => conditionHolds(c, r.context));
}

function namesPrincipal(spec: PrincipalSpec, ids: readonly string[]): boolean {
  return spec === '*' || spec.some((id) => ids.includes(id));
}

/** Condition keys whose fixed values make a statement non-public (AWS's list for "is public"). */
const NARROWING_KEYS = [
  'aws:sourceip',
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalaccount',
  'aws:principalorgid',
  'aws:principalarn',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
];

/**
 * Whether the policy allows everyone (GetBucketPolicyStatus, PublicAccessBlock): an Allow
 * statement whose principal is `*` unless a condition pins a narrowing key.
 */
export function isPublicPolicy(policy: Policy): boolean {
  return policy.statements.some(
    (s) =>
      s.effect === 'Allow' &&
      s.principal === '*' &&
      !s.conditions.some(
        (c) =>
          NARROWING_KEYS.includes(c.key.toLowerCase()) &&
          !c.base.includes('Not') &&
          !c.values.some((v) => v === '*' || v === '0.0.0.0/0' || v === '::/0'),
      ),
  );
}
