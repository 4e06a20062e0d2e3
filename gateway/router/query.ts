import { S3Error } from '../errors.js';
import { checkHeader } from '../header-value.js';
import type { EncodingType, ResponseOverrides } from './endpoints.js';

/** The decoded query of a request: the first value of each name. */
export type Query = ReadonlyMap<string, string>;

/** The largest integer S3 accepts for a count (a Java int). */
const MAX_INT = 2 ** 31 - 1;
/** S3's limit on the parts of one multipart upload (and so on a part number). */
export const MAX_PART_NUMBER = 10000;

/** Query parameters decoded as S3 does: `+` is a plus sign, never a space. */
export function parseQuery(raw: string): Array<[string, string]> {
  if (raw === '') return [];
  return raw
    .split('&')
    .filter((p) => p !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0
        ? [decodeComponent(pair), '']
        : [decodeComponent(pair.slice(0, eq)), decodeComponent(pair.slice(eq + 1))];
    });
}

/** A percent-encoded URL component; InvalidURI when it does not decode. */
export function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** InvalidArgument naming the argument and its value, as AWS's error documents do. */
export function invalidArgument(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, undefined, {}, { ArgumentName: name, ArgumentValue: value });
}

/** A parameter whose empty value means none (`delimiter=`). */
export function nonEmpty(q: Query, name: string): string | undefined {
  return q.get(name) || undefined;
}

/** A count (`max-keys`, `max-parts`...): an integer 0..2^31-1 capped at `cap`, `cap` when absent. */
export function pageSize(q: Query, name: string, argument: string, cap: number): number {
  const text = q.get(name);
  return text === undefined ? cap : Math.min(count(text, name, argument), cap);
}

/** A non-negative integer with AWS's two messages: one for a negative number, one for the rest. */
export function count(text: string, name: string, argument = name): number {
  if (/^-\d+$/.test(text))
    throw invalidArgument(`Argument ${argument} must be an integer between 0 and ${MAX_INT}`, name, text);
  if (!/^\d+$/.test(text) || Number(text) > MAX_INT)
    throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, text);
  return Number(text);
}

/** `partNumber`: 1..10000, required when `required`. */
export function partNumber(q: Query, required: true): number;
export function partNumber(q: Query, required: false): number | undefined;
export function partNumber(q: Query, required: boolean): number | undefined {
  const text = q.get('partNumber');
  if (text === undefined && !required) return undefined;
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < 1 || n > MAX_PART_NUMBER) {
    throw invalidArgument(
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      'partNumber',
      text ?? '',
    );
  }
  return n;
}

/** `encoding-type`: only `url` exists. */
export function encodingType(q: Query): EncodingType | undefined {
  const text = q.get('encoding-type');
  if (text === undefined) return undefined;
  if (text !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', text);
  return text;
}

/** response-* query parameters of a GET or HEAD and the header each overrides. */
const OVERRIDES = {
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-content-type': 'content-type',
  'response-expires': 'expires',
} as const;

export function responseOverrides(q: Query): ResponseOverrides {
  const overrides: ResponseOverrides = {};
  for (const [param, name] of Object.entries(OVERRIDES)) {
    const value = q.get(param);
    if (value === undefined) continue;
    checkHeader(param, value);
    overrides[name] = value;
  }
  return overrides;
}
