import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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
