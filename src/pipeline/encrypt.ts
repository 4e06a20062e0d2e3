import { randomBytes } from 'node:crypto';
import { aesGcm, NONCE_BYTES, TAG_BYTES } from '../util/aes-gcm.js';
import { PipelineError } from './errors.js';

/** AES-256-GCM (`util/aes-gcm.ts`): 32-byte keys, 12-byte nonces, 16-byte tags appended. */
export { KEY_BYTES, NONCE_BYTES, TAG_BYTES } from '../util/aes-gcm.js';

/** Encrypts `plain` and writes ciphertext||tag (plain.length + TAG_BYTES bytes) at the start of `out`. */
export function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void {
  if (out.length < plain.length + TAG_BYTES) {
    throw new PipelineError('INVALID_ARGUMENT', `output of ${out.length} bytes cannot hold ${plain.length} + tag`);
  }
  aesGcm().seal(key, nonce, aad, plain, out);
}

/**
 * The plaintext of ciphertext||tag, written at the start of `into` when given (it may be
 * `sealed` itself: decrypted in place) and otherwise into new memory; null when
 * authentication fails.
 */
export function open(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
  into?: Uint8Array,
): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const length = sealed.length - TAG_BYTES;
  if (into && into.length < length) {
    throw new PipelineError('INVALID_ARGUMENT', `output of ${into.length} bytes cannot hold ${length}`);
  }
  const out = into ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafe(length);
  return aesGcm().open(key, nonce, aad, sealed, out) ? out : null;
}

/**
 * What a chunk's tag binds besides its bytes: the id of the object (or upload) it belongs to
 * and its position. The index is a fixed 4 bytes at the end, so distinct (id, index) pairs
 * never give the same AAD.
 */
export function chunkAad(aadObject: string, aadIndex: number): Buffer {
  if (!Number.isInteger(aadIndex) || aadIndex < 0 || aadIndex > 0xffffffff) {
    throw new PipelineError('INVALID_ARGUMENT', `chunk index ${aadIndex} is not a u32`);
  }
  const aad = Buffer.allocUnsafe(Buffer.byteLength(aadObject) + 4);
  aad.writeUInt32BE(aadIndex, aad.write(aadObject));
  return aad;
}

/** Encrypts a chunk with a fresh random nonce into `out` (see seal); returns the nonce. */
export function encryptChunk(
  dataKey: Uint8Array,
  aadObject: string,
  aadIndex: number,
  plain: Uint8Array,
  out: Uint8Array,
): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  seal(dataKey, nonce, chunkAad(aadObject, aadIndex), plain, out);
  return nonce;
}

/**
 * The plaintext of a stored chunk (ciphertext||tag), into `into` when given (see open);
 * CHUNK_AUTH_FAILED if it does not authenticate.
 */
export function decryptChunk(
  dataKey: Uint8Array,
  nonce: Uint8Array,
  aadObject: string,
  aadIndex: number,
  stored: Uint8Array,
  into?: Uint8Array,
): Buffer {
  const plain = open(dataKey, nonce, chunkAad(aadObject, aadIndex), stored, into);
  if (!plain) {
    throw new PipelineError(
      'CHUNK_AUTH_FAILED',
      `chunk ${aadIndex} of ${aadObject} failed authentication (wrong key, other chunk, or altered bytes)`,
    );
  }
  return plain;
}
