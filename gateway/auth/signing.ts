import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';

/** sha256 of the empty string: the "headers" hash of every chunk signature. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** What a streaming payload's signatures chain from: the request's own signature. */
export interface SigningChain {
  /** The SigV4 signing key (HMAC chain of secret, date, region, service). */
  key: Buffer;
  /** X-Amz-Date, e.g. 20260102T030405Z. */
  longDate: string;
  /** date/region/s3/aws4_request */
  scope: string;
  /** The seed: the signature of the request headers. */
  seed: string;
}

export function signingKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of [shortDate, region, service, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  return key;
}

export function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Signature comparison in constant time (for equal lengths; the length itself is public). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A header value as the client signed it. Node reads header bytes as latin1, but clients sign
 * the UTF-8 text they send (`x-amz-meta-*: Hello Worldé` arrives as c3 a9): the signer hashes
 * the text's UTF-8, so valid UTF-8 bytes are read as UTF-8. Anything else stays as read.
 */
export function wireText(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : value;
}

/** RFC 1123 as HTTP sends it (`Tue, 07 Jul 2010 21:53:04 GMT`, botocore's `-0000` zone too). */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$/;

/**
 * A request time (X-Amz-Date's 20260102T030405Z or an HTTP date) -> Unix milliseconds, or null.
 * A time before 1970 is no valid request time (AWS: AccessDenied, not RequestTimeTooSkewed).
 */
export function parseRequestDate(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  const time = m
    ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
    : HTTP_DATE.test(text)
      ? Date.parse(text)
      : NaN;
  return Number.isNaN(time) || time < 0 ? null : time;
}

/** Unix milliseconds -> 20260102T030405Z. */
export function amzDate(time: number): string {
  return new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** How far a signed request's time may be from ours, either way (AWS's 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export function checkSkew(time: number, now: number): void {
  if (Math.abs(now - time) > MAX_SKEW_MS) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );
  }
}

export function invalidDate(): S3Error {
  return new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}
