import { randomBytes } from 'node:crypto';
import type { LifecycleFilter, LifecycleRule } from '../meta/meta-store.js';
import { LifecycleError } from './errors.js';

/**
 * A lifecycle configuration document (`<LifecycleConfiguration>`, as the gateway's XML parser
 * gives it: element values are strings, `Rule` and `Tag` always arrays) validated to AWS's
 * rules. Transitions are refused: this store has one storage class.
 */

/** AWS's limits. */
export const MAX_RULES = 1000;
const MAX_ID = 255;
const MAX_NEWER_NONCURRENT = 100;
/** The largest size bound AWS accepts (its InvalidRequest names it). */
const MAX_FILTER_SIZE = 1_099_511_627_776_000;
const REAL_DAY_MS = 24 * 3600 * 1000;
/** What a Filter may hold: exactly one of them (AWS's LifecycleRuleFilter). */
const PREDICATES = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'];

/** The elements the parser must always give as arrays. */
export const LIFECYCLE_ARRAYS = ['Rule', 'Tag'];

type Fields = Record<string, unknown>;

function malformed(): LifecycleError {
  return new LifecycleError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
}

function invalid(message: string): LifecycleError {
  return new LifecycleError('InvalidArgument', message);
}

function invalidRequest(message: string): LifecycleError {
  return new LifecycleError('InvalidRequest', message);
}

/** An element holding elements; an empty one (`<Filter/>`) is none. */
function fieldsOf(value: unknown): Fields {
  if (value === '') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  return value as Fields;
}

function textOf(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed();
  return value;
}

/** A whole number written in decimal digits; `message` when it is not, or not above `min`. */
function integer(text: string, min: number, message: string): number {
  const n = Number(text.trim());
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) throw invalid(message);
  return n;
}

export function parseLifecycle(doc: Fields): LifecycleRule[] {
  const root = fieldsOf(doc['LifecycleConfiguration']);
  const list = root['Rule'];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RULES) throw malformed();
  const rules = list.map((r) => parseRule(fieldsOf(r)));
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw invalid('Rule ID must be unique. Found same ID for more than one rule');
    ids.add(rule.id);
  }
  // The two generations of rules do not mix in one configuration (AWS).
  if (rules.some((r) => r.filterForm === 'prefix') && rules.some((r) => r.filterForm !== 'prefix'))
    throw invalidRequest(
      'Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.',
    );
  return rules;
}

function parseRule(r: Fields): LifecycleRule {
  const id = textOf(r, 'ID') ?? randomBytes(12).toString('base64url');
  if ([...id].length > MAX_ID) throw invalid(`ID length should not exceed allowed limit of ${MAX_ID}`);
  // The schema's enumeration: anything else (even "enabled") is not valid XML for S3.
  const status = textOf(r, 'Status');
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed();
  const { filter, filterForm } = parseFilterOf(r);
  const rule: LifecycleRule = { id, enabled: status === 'Enabled', filter, filterForm };
  // Delete markers and uploads have no tags and no size: AWS refuses such filters on their actions.
  const narrowing = narrowingOf(filter);
  if (r['Expiration'] !== undefined) {
    rule.expiration = parseExpiration(fieldsOf(r['Expiration']));
    if (rule.expiration.expiredObjectDeleteMarker !== undefined && narrowing)
      throw invalidRequest(`ExpiredObjectDeleteMarker cannot be specified with ${narrowing}.`);
  }
  if (r['NoncurrentVersionExpiration'] !== undefined) {
    rule.noncurrentExpiration = parseNoncurrent(fieldsOf(r['NoncurrentVersionExpiration']));
    // AWS: a maximum number of noncurrent versions needs a Filter element, else InvalidRequest.
    if (rule.noncurrentExpiration.newerNoncurrentVersions !== undefined && filterForm === 'prefix')
      throw invalidRequest('NewerNoncurrentVersions cannot be specified without a Filter element.');
  }
  if (r['AbortIncompleteMultipartUpload'] !== undefined) {
    const abort = fieldsOf(r['AbortIncompleteMultipartUpload']);
    const days = textOf(abort, 'DaysAfterInitiation');
    if (days === undefined) throw malformed();
    rule.abortIncompleteUploadDays = integer(
      days,
      1,
      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    );
    if (narrowing) throw invalidRequest(`AbortIncompleteMultipartUpload cannot be specified with ${narrowing}.`);
  }
  // A transition is validated as AWS does (a bad one is the client's 400), then refused.
  if (checkTransitions(r))
    throw new LifecycleError(
      'NotImplemented',
      'Lifecycle transitions are not supported: this store has a single storage class.',
    );
  if (!rule.expiration && !rule.noncurrentExpiration && rule.abortIncompleteUploadDays === undefined)
    throw invalid('At least one action needs to be specified in a rule');
  return rule;
}

/** Whether the rule has a Transition or NoncurrentVersionTransition; throws on a malformed one. */
function checkTransitions(r: Fields): boolean {
  let any = false;
  for (const [name, daysName] of [
    ['Transition', 'Days'],
    ['NoncurrentVersionTransition', 'NoncurrentDays'],
  ] as const) {
    const given = r[name];
    if (given === undefined) continue;
    any = true;
    for (const item of Array.isArray(given) ? (given as unknown[]) : [given]) {
      const t = fieldsOf(item);
      const days = textOf(t, daysName);
      const date = name === 'Transition' ? textOf(t, 'Date') : undefined;
      if (textOf(t, 'StorageClass') === undefined || (days === undefined) === (date === undefined)) throw malformed();
      if (days !== undefined) integer(days, 0, `'${daysName}' for ${name} action must be a nonnegative integer`);
      if (date !== undefined) midnight(date);
    }
  }
  return any;
}

/**
 * The rule's filter: the legacy top-level Prefix, or a Filter (required without it) holding one
 * predicate, or an `And` of two or more (AWS's schema: anything else is MalformedXML).
 */
function parseFilterOf(r: Fields): { filter: LifecycleFilter; filterForm: LifecycleRule['filterForm'] } {
  const legacy = textOf(r, 'Prefix');
  if (legacy !== undefined && r['Filter'] !== undefined) throw malformed();
  if (legacy !== undefined) return { filter: { prefix: legacy }, filterForm: 'prefix' };
  if (r['Filter'] === undefined) throw malformed();
  const f = fieldsOf(r['Filter']);
  if (predicateCount(f) > 1) throw malformed();
  if (f['And'] === undefined) return { filter: conditions(f), filterForm: 'filter' };
  const and = fieldsOf(f['And']);
  if (and['And'] !== undefined || predicateCount(and) < 2) throw malformed();
  return { filter: conditions(and), filterForm: 'and' };
}

/** How many predicates an element holds, each tag one. */
function predicateCount(f: Fields): number {
  return PREDICATES.reduce(
    (n, name) => n + (Array.isArray(f[name]) ? f[name].length : f[name] === undefined ? 0 : 1),
    0,
  );
}

function conditions(f: Fields): LifecycleFilter {
  const filter: LifecycleFilter = {};
  const prefix = textOf(f, 'Prefix');
  if (prefix !== undefined) filter.prefix = prefix;
  if (f['Tag'] !== undefined) filter.tags = tagsOf(f['Tag']);
  const greater = sizeOf(f, 'ObjectSizeGreaterThan', 0);
  if (greater !== undefined) filter.objectSizeGreaterThan = greater;
  const less = sizeOf(f, 'ObjectSizeLessThan', 1);
  if (less !== undefined) filter.objectSizeLessThan = less;
  if (greater !== undefined && less !== undefined && less <= greater)
    throw invalidRequest("'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.");
  return filter;
}

function tagsOf(list: unknown): NonNullable<LifecycleFilter['tags']> {
  if (!Array.isArray(list)) throw malformed();
  const tags = list.map((t) => {
    const tag = fieldsOf(t);
    const key = textOf(tag, 'Key');
    if (key === undefined || key === '') throw malformed();
    // No Value: the rule selects objects that carry the key with an empty value (AWS).
    return { key, value: textOf(tag, 'Value') ?? '' };
  });
  if (new Set(tags.map((t) => t.key)).size !== tags.length) throw invalidRequest('Duplicate Tag Keys are not allowed.');
  return tags;
}

/** A size bound: a Long in the schema (else MalformedXML), within AWS's range (else InvalidRequest). */
function sizeOf(f: Fields, name: string, min: number): number | undefined {
  const text = textOf(f, name);
  if (text === undefined) return undefined;
  if (!/^\s*-?\d+\s*$/.test(text)) throw malformed();
  const n = Number(text.trim());
  if (n < min || n > MAX_FILTER_SIZE)
    throw invalidRequest(`'${name}' should be between ${min} and ${MAX_FILTER_SIZE}.`);
  return n;
}

/** What a filter narrows on besides the key, in AWS's words: delete markers and uploads have neither. */
function narrowingOf(filter: LifecycleFilter): string | null {
  if ((filter.tags?.length ?? 0) > 0) return 'Tags';
  if (filter.objectSizeGreaterThan !== undefined || filter.objectSizeLessThan !== undefined) return 'Object Size';
  return null;
}

function parseExpiration(e: Fields): NonNullable<LifecycleRule['expiration']> {
  const days = textOf(e, 'Days');
  const date = textOf(e, 'Date');
  const marker = textOf(e, 'ExpiredObjectDeleteMarker');
  const given = [days, date, marker].filter((v) => v !== undefined).length;
  if (given === 0) throw malformed();
  if (marker !== undefined && given > 1)
    throw invalid('ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy');
  if (given > 1) throw malformed();
  if (days !== undefined) return { days: integer(days, 1, "'Days' for Expiration action must be a positive integer") };
  if (date !== undefined) return { date: midnight(date) };
  if (marker !== 'true' && marker !== 'false') throw malformed();
  return { expiredObjectDeleteMarker: marker === 'true' };
}

/** An ISO 8601 date at midnight UTC (AWS refuses any other time), as Unix ms. */
function midnight(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]00:?00)?)?$/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(ms) || ms % REAL_DAY_MS !== 0) throw invalid("'Date' must be at midnight GMT");
  return ms;
}

function parseNoncurrent(n: Fields): NonNullable<LifecycleRule['noncurrentExpiration']> {
  const days = textOf(n, 'NoncurrentDays');
  const newer = textOf(n, 'NewerNoncurrentVersions');
  if (days === undefined) throw malformed();
  const out: NonNullable<LifecycleRule['noncurrentExpiration']> = {
    noncurrentDays: integer(
      days,
      1,
      "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    ),
  };
  if (newer !== undefined) {
    const n = integer(newer, 1, `NewerNoncurrentVersions must be between 1 and ${MAX_NEWER_NONCURRENT}`);
    if (n > MAX_NEWER_NONCURRENT)
      throw invalid(`NewerNoncurrentVersions must be between 1 and ${MAX_NEWER_NONCURRENT}`);
    out.newerNoncurrentVersions = n;
  }
  return out;
}
