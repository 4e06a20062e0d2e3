import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SseCustomer } from '../../src/meta/manifest.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { header, type Context } from '../context.js';
import { S3Error } from '../errors.js';

/**
 * Server-side encryption with customer-provided keys (SSE-C), as AWS documents it. The client
 * sends a 256-bit key with every request that writes or reads the object; the store mixes it
 * into the wrapping of the object's data keys (src/pipeline/keys.ts) and keeps only a salted
 * HMAC to recognise it. The key is never stored, logged or echoed: answers carry the algorithm
 * and the key's MD5, as the client sent it.
 *
 * Over plain HTTP the key would cross the network in clear, so SSE-C is refused there (400
 * InvalidRequest, as AWS), unless QSTOR_SSE_C_OVER_HTTP=allow is set for a trusted network or a
 * TLS-terminating proxy on the same host (the Ceph RGW `rgw_crypt_require_ssl = false` switch).
 */

/** Set to `allow` to accept SSE-C keys, and writes naming SSE-KMS (sse-kms.ts), on plain HTTP connections. */
export const SSE_C_OVER_HTTP_ENV = 'QSTOR_SSE_C_OVER_HTTP';

/** Whether a request over plain HTTP may carry SSE-C keys or name SSE-KMS (the one switch for both). */
export function sseOverHttpAllowed(): boolean {
  return process.env[SSE_C_OVER_HTTP_ENV] === 'allow';
}

/** The headers naming the object's key, and those naming a copy source's. */
const OBJECT_PREFIX = 'x-amz-server-side-encryption-customer-';
const SOURCE_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';

const ALGORITHM = 'AES256';
const KEY_BYTES = 32;

/** A customer key a request gave, checked against its MD5. */
export interface CustomerKey {
  key: Buffer;
  /** Base64 MD5 of the key, as the client sent it (what answers echo). */
  md5: string;
}

const invalidArgument = (what: string): S3Error =>
  new S3Error(
    'InvalidArgument',
    `Requests specifying Server Side Encryption with Customer provided keys must provide ${what}.`,
  );

/**
 * The customer key named by `<prefix>algorithm`, `<prefix>key` and `<prefix>key-md5` among the
 * fields `get` reads (request headers, or a POST form's fields); undefined when none is there.
 */
export function parseCustomerKey(
  get: (name: string) => string | undefined,
  secure: boolean,
  prefix = OBJECT_PREFIX,
): CustomerKey | undefined {
  const algorithm = get(`${prefix}algorithm`);
  const key = get(`${prefix}key`);
  const md5 = get(`${prefix}key-md5`);
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (!secure && !sseOverHttpAllowed()) {
    throw new S3Error(
      'InvalidRequest',
      'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    );
  }
  if (algorithm === undefined) throw invalidArgument('a valid encryption algorithm');
  if (algorithm !== ALGORITHM) {
    throw new S3Error(
      'InvalidEncryptionAlgorithmError',
      'The encryption request you specified is not valid. Supported value: AES256.',
    );
  }
  if (key === undefined) throw invalidArgument('an appropriate secret key');
  if (md5 === undefined) throw invalidArgument('the client calculated MD5 of the secret key');
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== KEY_BYTES || bytes.toString('base64') !== key.trim()) {
    throw new S3Error('InvalidArgument', 'The secret key was invalid for the specified algorithm.');
  }
  const expected = Buffer.from(md5, 'base64');
  const actual = createHash('md5').update(bytes).digest();
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new S3Error(
      'InvalidArgument',
      'The calculated MD5 hash of the key did not match the hash that was provided.',
    );
  }
  return { key: bytes, md5 };
}

/** Whether the request came over TLS (no proxy header is trusted to say so). */
export function isSecure(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** The key the request names for its object (PUT, GET, HEAD, a copy's or an upload's target). */
export function requestCustomerKey(ctx: Context): CustomerKey | undefined {
  return parseCustomerKey((name) => header(ctx, name), isSecure(ctx.req));
}

/** The key the request names for its copy source (`x-amz-copy-source-server-side-encryption-customer-*`). */
export function sourceCustomerKey(ctx: Context): CustomerKey | undefined {
  return parseCustomerKey((name) => header(ctx, name), isSecure(ctx.req), SOURCE_PREFIX);
}

/**
 * The key that reads an object stored with `recorded` (none: not SSE-C): 400 without one, 400
 * with one for an object that has none, 403 AccessDenied with another one (AWS's answers).
 */
export function readingKey(
  store: ObjectStore,
  recorded: SseCustomer | undefined,
  given: CustomerKey | undefined,
): Buffer | undefined {
  if (!recorded) {
    if (given) throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.');
    return undefined;
  }
  if (!given) {
    throw new S3Error(
      'InvalidRequest',
      'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    );
  }
  if (!store.matchesCustomerKey(recorded, given.key)) throw new S3Error('AccessDenied', 'Access Denied');
  return given.key;
}

/**
 * The key a part of an upload created with `recorded` is written with: every part must give
 * the upload's key (400 InvalidRequest otherwise, as AWS).
 */
export function uploadKey(
  store: ObjectStore,
  recorded: SseCustomer | undefined,
  given: CustomerKey | undefined,
): Buffer | undefined {
  if (!recorded) {
    if (given) throw new S3Error('InvalidRequest', 'The multipart upload initiate did not request encryption.');
    return undefined;
  }
  if (!given) {
    throw new S3Error(
      'InvalidRequest',
      'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.',
    );
  }
  if (!store.matchesCustomerKey(recorded, given.key)) {
    throw new S3Error('InvalidRequest', 'The provided encryption parameters did not match the ones used originally.');
  }
  return given.key;
}

/** The headers naming an SSE-C object's encryption: the algorithm, and the key's MD5 when the request gave it. */
export function customerKeyHeaders(given?: CustomerKey): Record<string, string> {
  return {
    [`${OBJECT_PREFIX}algorithm`]: ALGORITHM,
    ...(given ? { [`${OBJECT_PREFIX}key-md5`]: given.md5 } : {}),
  };
}

/** Whether the request carries any SSE-C header for its object (not for a copy source). */
export function namesCustomerKey(ctx: Context): boolean {
  return ['algorithm', 'key', 'key-md5'].some((name) => header(ctx, `${OBJECT_PREFIX}${name}`) !== undefined);
}
