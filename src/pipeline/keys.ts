import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open as openFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KEY_BYTES, NONCE_BYTES, open, seal, TAG_BYTES } from './encrypt.js';
import { PipelineError } from './errors.js';

/** When set, the master key (64 hex characters); it wins over the key file. */
export const MASTER_KEY_ENV = 'QSTOR_MASTER_KEY';

/** A wrapped data key: nonce || encrypted key || tag. */
export const WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/** Domain separation: a wrapped data key and a key check can never be confused with a chunk. */
const WRAP_AAD = Buffer.from('qstor data key v1');
const CHECK_LABEL = 'qstor master key check v1';

export interface MasterKey {
  key: Buffer;
  /** Where it came from: the environment, an existing key file, or a key file just created. */
  source: 'env' | 'file' | 'created';
}

function parseHexKey(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new PipelineError('INVALID_MASTER_KEY', `${where} must be ${KEY_BYTES} bytes as 64 hex characters`);
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The master key from `QSTOR_MASTER_KEY` when set, else from `file` (64 hex characters), which
 * is created with a random key and mode 0600 when it does not exist. A key file that group or
 * others can access is refused, as ssh refuses such a private key.
 */
export async function loadOrCreateMasterKey(file: string, env: NodeJS.ProcessEnv = process.env): Promise<MasterKey> {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { key: parseHexKey(fromEnv, MASTER_KEY_ENV), source: 'env' };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    // 'wx': never overwrite a key another process wrote in the meantime.
    await writeFile(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return { key, source: 'created' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const handle = await openFile(file, 'r');
  try {
    const { mode } = await handle.stat(); // of the opened file, so it cannot be swapped after the check
    if ((mode & 0o077) !== 0) {
      throw new PipelineError(
        'KEY_FILE_PERMISSIONS',
        `master key file ${file} has mode ${(mode & 0o777).toString(8)}: it must not be accessible by group or others (chmod 600)`,
      );
    }
    return { key: parseHexKey(await handle.readFile('utf8'), `master key file ${file}`), source: 'file' };
  } finally {
    await handle.close();
  }
}

/** A fresh random per-object data key. */
export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** `dataKey` encrypted under the master key with a random nonce: nonce || ciphertext || tag. */
export function wrapKey(master: Uint8Array, dataKey: Uint8Array): Buffer {
  if (dataKey.length !== KEY_BYTES) {
    throw new PipelineError('INVALID_ARGUMENT', `a data key is ${KEY_BYTES} bytes, got ${dataKey.length}`);
  }
  const wrapped = Buffer.allocUnsafe(WRAPPED_KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  wrapped.set(nonce);
  seal(master, nonce, WRAP_AAD, dataKey, wrapped.subarray(NONCE_BYTES));
  return wrapped;
}

/** The data key in `wrapped`; WRONG_MASTER_KEY when `master` is not the key that wrapped it. */
export function unwrapKey(master: Uint8Array, wrapped: Uint8Array): Buffer {
  if (wrapped.length !== WRAPPED_KEY_BYTES) {
    throw new PipelineError(
      'INVALID_WRAPPED_KEY',
      `a wrapped key is ${WRAPPED_KEY_BYTES} bytes, got ${wrapped.length}`,
    );
  }
  const key = open(master, wrapped.subarray(0, NONCE_BYTES), WRAP_AAD, wrapped.subarray(NONCE_BYTES));
  if (!key) throw new PipelineError('WRONG_MASTER_KEY', 'the data key does not unwrap: wrong master key');
  return key;
}

/** Domain separation for access-key secrets; the key id is bound in too, so rows cannot be swapped. */
const SECRET_LABEL = 'qstor access key secret v1:';

/**
 * An access key's secret encrypted under the master key: nonce || ciphertext || tag. SigV4 needs
 * the secret itself on the server, so it is stored this way, never hashed, never in clear.
 */
export function sealSecret(master: Uint8Array, accessKeyId: string, secret: string): Buffer {
  return sealUnderMaster(master, SECRET_LABEL + accessKeyId, Buffer.from(secret, 'utf8'));
}

/** The secret sealSecret sealed for `accessKeyId`; WRONG_MASTER_KEY when it does not open. */
export function openSecret(master: Uint8Array, accessKeyId: string, sealed: Uint8Array): string {
  const plain = openUnderMaster(master, SECRET_LABEL + accessKeyId, sealed);
  if (!plain)
    throw new PipelineError(
      'WRONG_MASTER_KEY',
      `the secret of access key ${accessKeyId} does not open: wrong master key`,
    );
  return plain.toString('utf8');
}

/** `plain` sealed under the master key with `label` bound in: nonce || ciphertext || tag. */
function sealUnderMaster(master: Uint8Array, label: string, plain: Uint8Array): Buffer {
  const sealed = Buffer.allocUnsafe(NONCE_BYTES + plain.length + TAG_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  sealed.set(nonce);
  seal(master, nonce, Buffer.from(label), plain, sealed.subarray(NONCE_BYTES));
  return sealed;
}

/** What sealUnderMaster sealed with `label`, or null when it does not open. */
function openUnderMaster(master: Uint8Array, label: string, sealed: Uint8Array): Buffer | null {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  return open(master, sealed.subarray(0, NONCE_BYTES), Buffer.from(label), sealed.subarray(NONCE_BYTES));
}

/**
 * A value a store records when it is created and compares at startup, to refuse a master key
 * other than the one its data was written with (before writing anything with it). A keyed
 * hash: it tells nothing about the key.
 */
export function keyCheckValue(master: Uint8Array): string {
  return createHmac('sha256', master).update(CHECK_LABEL).digest('hex').slice(0, 32);
}

/** Throws WRONG_MASTER_KEY unless `master` gives the recorded key check value. */
export function checkMasterKey(master: Uint8Array, recorded: string): void {
  const actual = Buffer.from(keyCheckValue(master), 'hex');
  const expected = Buffer.from(recorded, 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(actual, expected)) {
    throw new PipelineError('WRONG_MASTER_KEY', 'the configured master key is not the one this store was created with');
  }
}

/** Domain separation of the keys SSE-C derives from the master key and a customer's key. */
const CUSTOMER_WRAP_INFO = 'qstor sse-c data key wrap v1';
const CUSTOMER_CHECK_INFO = 'qstor sse-c key check v1';
const CUSTOMER_CHECK_SALT_BYTES = 16;

/**
 * The key that wraps the data keys of an object stored with a customer-provided key (SSE-C):
 * HKDF-SHA256 of the customer's key salted with the master key, so neither alone unwraps them
 * (the store cannot read the object without the customer, nor the customer without the store).
 */
export function customerWrapKey(master: Uint8Array, customerKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', customerKey, master, CUSTOMER_WRAP_INFO, KEY_BYTES));
}

/** HMAC key of the customer-key checks: derived from the master key, useless without it. */
function customerCheckSecret(master: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), CUSTOMER_CHECK_INFO, KEY_BYTES));
}

function customerCheck(master: Uint8Array, salt: Uint8Array, customerKey: Uint8Array): Buffer {
  return createHmac('sha256', customerCheckSecret(master)).update(salt).update(customerKey).digest();
}

/**
 * What an SSE-C object keeps to recognise its customer's key, as AWS keeps a salted HMAC:
 * salt || HMAC-SHA256(master-derived secret, salt || key), base64. Never the key, nor a plain
 * hash of it, which anyone could test guesses against.
 */
export function customerKeyCheck(master: Uint8Array, customerKey: Uint8Array): string {
  const salt = randomBytes(CUSTOMER_CHECK_SALT_BYTES);
  return Buffer.concat([salt, customerCheck(master, salt, customerKey)]).toString('base64');
}

/** Whether `customerKey` is the key `recorded` (from customerKeyCheck) was made of; constant time. */
export function matchesCustomerKey(master: Uint8Array, recorded: string, customerKey: Uint8Array): boolean {
  const bytes = Buffer.from(recorded, 'base64');
  const salt = bytes.subarray(0, CUSTOMER_CHECK_SALT_BYTES);
  const expected = bytes.subarray(CUSTOMER_CHECK_SALT_BYTES);
  const actual = customerCheck(master, salt, customerKey);
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

const CUSTOMER_ETAG_INFO = 'qstor sse-c etag v1';

/**
 * The ETag of bytes with MD5 `md5` stored under a customer key: not the MD5 itself, which would
 * let anyone allowed to list test guesses of the content (AWS's SSE-C ETags are not MD5s
 * either); an HMAC under a key derived from both keys, so the same bytes and key give the same
 * ETag. 32 hex digits, as an MD5 ETag.
 */
export function customerEtag(master: Uint8Array, customerKey: Uint8Array, md5: Uint8Array): string {
  const key = Buffer.from(hkdfSync('sha256', customerKey, master, CUSTOMER_ETAG_INFO, KEY_BYTES));
  return createHmac('sha256', key).update(md5).digest('hex').slice(0, 32);
}

/** Domain separation of SSE-KMS: the sealing of a KMS key, and the wrapping keys derived from one. */
const KMS_KEY_LABEL = 'qstor kms key v1:';
const KMS_WRAP_INFO = 'qstor sse-kms data key wrap v1:';

/** A KMS key (src/kms) sealed under the master key, its id bound in so rows cannot be swapped. */
export function sealKmsKey(master: Uint8Array, keyId: string, kmsKey: Uint8Array): Buffer {
  return sealUnderMaster(master, KMS_KEY_LABEL + keyId, kmsKey);
}

/** The KMS key sealKmsKey sealed for `keyId`; WRONG_MASTER_KEY when it does not open. */
export function openKmsKey(master: Uint8Array, keyId: string, sealed: Uint8Array): Buffer {
  const key = sealed.length === WRAPPED_KEY_BYTES ? openUnderMaster(master, KMS_KEY_LABEL + keyId, sealed) : null;
  if (!key) throw new PipelineError('WRONG_MASTER_KEY', `KMS key ${keyId} does not open: wrong master key`);
  return key;
}

/**
 * The key that wraps the data keys of an SSE-KMS object: HKDF-SHA256 of the KMS key salted with
 * the master key, the encryption context bound into the info (as AWS binds it into the data
 * key's ciphertext), so neither key alone, nor another context, unwraps them. Deleting the KMS
 * key makes its objects unreadable for good.
 */
export function kmsWrapKey(master: Uint8Array, kmsKey: Uint8Array, context = ''): Buffer {
  const bound = createHash('sha256').update(context).digest('hex');
  return Buffer.from(hkdfSync('sha256', kmsKey, master, KMS_WRAP_INFO + bound, KEY_BYTES));
}
