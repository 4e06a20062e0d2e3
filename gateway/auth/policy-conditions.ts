import { BlockList, isIP } from 'node:net';
import { wildcardMatch } from './wildcard.js';

/**
 * The request's condition keys (`aws:SourceIp`, `s3:prefix`, ...), by lower-case name: key
 * names are case-insensitive in IAM. A key the request does not have is absent.
 */
export type RequestContext = Record<string, string | string[] | undefined>;

/** One parsed condition: `{"StringLike": {"s3:prefix": ["home/*"]}}` gives one per key. */
export interface Condition {
  /** As written, for error messages. */
  operator: string;
  /** The base operator, its IfExists and set qualifiers taken off. */
  base: string;
  ifExists: boolean;
  set: 'ForAnyValue' | 'ForAllValues' | null;
  key: string;
  values: string[];
}

type Test = (expected: string, actual: string) => boolean;

const number = (text: string): number => (text.trim() === '' ? NaN : Number(text));
const date = (text: string): number => (/^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text));

/** Positive operators; their `Not` twins (below) are their negation, and true on a missing key. */
const POSITIVE: Record<string, Test> = {
  StringEquals: (e, a) => e === a,
  StringEqualsIgnoreCase: (e, a) => e.toLowerCase() === a.toLowerCase(),
  StringLike: (e, a) => wildcardMatch(e, a),
  NumericEquals: (e, a) => number(a) === number(e),
  NumericLessThan: (e, a) => number(a) < number(e),
  NumericLessThanEquals: (e, a) => number(a) <= number(e),
  NumericGreaterThan: (e, a) => number(a) > number(e),
  NumericGreaterThanEquals: (e, a) => number(a) >= number(e),
  DateEquals: (e, a) => date(a) === date(e),
  DateLessThan: (e, a) => date(a) < date(e),
  DateLessThanEquals: (e, a) => date(a) <= date(e),
  DateGreaterThan: (e, a) => date(a) > date(e),
  DateGreaterThanEquals: (e, a) => date(a) >= date(e),
  Bool: (e, a) => e.toLowerCase() === a.toLowerCase(),
  BinaryEquals: (e, a) => e === a,
  IpAddress: (e, a) => inCidr(e, a),
  ArnEquals: (e, a) => wildcardMatch(e, a),
  ArnLike: (e, a) => wildcardMatch(e, a),
};

const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  NotIpAddress: 'IpAddress',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

/** The operator's parts, or null when IAM has no such operator. */
export function parseOperator(operator: string): Pick<Condition, 'base' | 'ifExists' | 'set'> | null {
  let rest = operator;
  let set: Condition['set'] = null;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const qualifier = rest.slice(0, colon);
    if (qualifier !== 'ForAnyValue' && qualifier !== 'ForAllValues') return null;
    set = qualifier;
    rest = rest.slice(colon + 1);
  }
  const ifExists = rest.endsWith('IfExists');
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  if (rest === 'Null') return ifExists || set ? null : { base: rest, ifExists, set };
  return rest in POSITIVE || rest in NEGATED ? { base: rest, ifExists, set } : null;
}

/**
 * A policy text with its variables (`${aws:username}`, `${s3:prefix}`: any context key) replaced
 * by the request's values; `${*}`, `${?}`, `${$}` stand for those characters. Null when a
 * variable has no single value in this request: what names it matches nothing, as in IAM.
 */
export function expandVariables(text: string, context: RequestContext): string | null {
  if (!text.includes('${')) return text;
  let missing = false;
  const expanded = text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    if (name === '*' || name === '?' || name === '$') return name;
    const value = context[name.toLowerCase()];
    if (typeof value !== 'string') missing = true;
    return typeof value === 'string' ? value : '';
  });
  return missing ? null : expanded;
}

/** Whether one condition holds for the request (every condition of a statement must). */
export function conditionHolds(c: Condition, context: RequestContext): boolean {
  const raw = context[c.key.toLowerCase()];
  const actual = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (c.base === 'Null') return c.values.some((v) => (v.toLowerCase() === 'true') === (actual.length === 0));
  const positive = NEGATED[c.base] ?? c.base;
  const negated = positive !== c.base;
  const test = POSITIVE[positive]!;
  const matches = (a: string): boolean =>
    c.values.some((e) => {
      const expected = expandVariables(e, context);
      return expected !== null && test(expected, a);
    });
  if (actual.length === 0) {
    // A missing key: ForAllValues holds vacuously; a negated operator holds (nothing equals).
    if (c.ifExists) return true;
    if (c.set === 'ForAllValues') return true;
    if (c.set === 'ForAnyValue') return false;
    return negated;
  }
  if (c.set === 'ForAllValues') return actual.every((a) => matches(a) !== negated);
  if (c.set === 'ForAnyValue') return actual.some((a) => matches(a) !== negated);
  // A single-valued key: negated operators hold when no value matches.
  return negated ? !actual.some(matches) : actual.some(matches);
}

/** `ip` inside the CIDR block (or the single address) `cidr`, IPv4 or IPv6. */
function inCidr(cidr: string, ip: string): boolean {
  const address = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const [network = '', bitsText] = cidr.trim().split('/');
  const family = isIP(network);
  if (family === 0 || isIP(address) !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const bits = bitsText === undefined ? (family === 4 ? 32 : 128) : Number(bitsText);
  const list = new BlockList();
  try {
    list.addSubnet(network, bits, type);
  } catch {
    return false;
  }
  return list.check(address, type);
}

/** A CIDR block IpAddress accepts: the policy is refused otherwise. */
export function validCidr(cidr: string): boolean {
  const [network = '', bitsText, ...extra] = cidr.trim().split('/');
  const family = isIP(network);
  if (family === 0 || extra.length > 0) return false;
  if (bitsText === undefined) return true;
  const bits = Number(bitsText);
  return /^\d+$/.test(bitsText) && bits <= (family === 4 ? 32 : 128);
}
